package flux

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseManifest(t *testing.T) {
	objs, err := parseManifest(loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	want := []string{
		"Namespace/flux-system", "CustomResourceDefinition/fluxinstances.fluxcd.controlplane.io",
		"ServiceAccount/flux-operator", "ClusterRoleBinding/flux-operator-cluster-admin", "Deployment/flux-operator",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v (List expanded, empty documents skipped)", got, want)
	}
	if err := checkOperatorManifest(objs); err != nil {
		t.Fatal(err)
	}

	ns, crds, rest := applyPhases(objs)
	if len(ns) != 1 || len(crds) != 1 || len(rest) != 3 || rest[0].GetKind() != "ServiceAccount" {
		t.Fatalf("phases: %d namespaces, %d CRDs, %d others", len(ns), len(crds), len(rest))
	}
}

func TestParseManifestErrors(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"empty":        {"---\n# nothing\n", "no Kubernetes objects"},
		"no kind":      {"apiVersion: v1\nmetadata: {name: x}\n", "without kind"},
		"no name":      {"apiVersion: v1\nkind: ConfigMap\n", "without metadata.name"},
		"no version":   {"kind: ConfigMap\nmetadata: {name: x}\n", "without apiVersion"},
		"broken yaml":  {"apiVersion: v1\nkind: [\n", "document 1"},
		"second bad":   {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: X\n", "document 2"},
		"list missing": {"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n", "item 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	objs, err := parseManifest([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOperatorManifest(objs); err == nil || !strings.Contains(err.Error(), "FluxInstance CRD") {
		t.Fatalf("a manifest without the FluxInstance CRD must be refused, got %v", err)
	}
}

func TestObjectRefs(t *testing.T) {
	refs := []objectRef{
		{"v1", "Namespace", "", "flux-system"},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "fluxinstances.fluxcd.controlplane.io"},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "resourcesets.fluxcd.controlplane.io"},
		{"v1", "ServiceAccount", "flux-system", "flux-operator"},
		{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "flux-operator"},
		{"apps/v1", "Deployment", "flux-system", "flux-operator"},
	}
	for _, r := range refs {
		back, err := parseRef(r.String())
		if err != nil || back != r {
			t.Fatalf("%q parses back as %+v, %v", r.String(), back, err)
		}
	}
	if got := refs[5].String(); got != "apps/v1 Deployment flux-system/flux-operator" {
		t.Fatalf("ref string %q", got)
	}
	if _, err := parseRef("apps/v1 Deployment"); err == nil {
		t.Fatal("a two-field ref must not parse")
	}
	rest, crds, ns := deleteOrder(refs)
	kinds := func(rs []objectRef) (out []string) {
		for _, r := range rs {
			out = append(out, r.Kind+"/"+r.Name)
		}
		return out
	}
	if got := kinds(rest); !slices.Equal(got, []string{"Deployment/flux-operator", "ClusterRoleBinding/flux-operator", "ServiceAccount/flux-operator"}) {
		t.Fatalf("workloads and RBAC delete in reverse order, got %v", got)
	}
	if got := kinds(crds); len(got) != 2 || got[0] != "CustomResourceDefinition/resourcesets.fluxcd.controlplane.io" {
		t.Fatalf("CRDs %v", got)
	}
	if got := kinds(ns); !slices.Equal(got, []string{"Namespace/flux-system"}) {
		t.Fatalf("namespaces %v", got)
	}
}

func TestManifestSource(t *testing.T) {
	body := loadFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/install.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	ctx := context.Background()

	b, err := manifestSource{URL: srv.URL + "/install.yaml"}.load(ctx, srv.Client())
	if err != nil || string(b) != string(body) {
		t.Fatalf("URL load: %v", err)
	}
	if _, err := (manifestSource{URL: srv.URL + "/missing.yaml"}).load(ctx, srv.Client()); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("a 404 must fail with the status, got %v", err)
	}
	b, err = manifestSource{Path: filepath.Join("testdata", "install.yaml")}.load(ctx, nil)
	if err != nil || string(b) != string(body) {
		t.Fatalf("file load: %v", err)
	}
	if _, err := (manifestSource{Path: "testdata/nope.yaml"}).load(ctx, nil); err == nil || !strings.Contains(err.Error(), "operator_manifest_path") {
		t.Fatalf("a missing file must name the attribute, got %v", err)
	}
	if got := OperatorManifestURL("v0.59.0"); got != "https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.59.0/install.yaml" {
		t.Fatalf("default URL %s", got)
	}
	m := &model{}
	if got := m.manifestSource(); got.URL != OperatorManifestURL(DefaultOperatorVersion) {
		t.Fatalf("default source %+v", got)
	}
}
