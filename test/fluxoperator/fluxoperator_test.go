package fluxoperator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	sigyaml "sigs.k8s.io/yaml"
)

// fakeModule writes a config/ tree shaped like the operator's.
func fakeModule(t *testing.T, extra string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"config/default/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: flux-system\n" + extra + "resources:\n- namespace.yaml\n- ../crd\n- ../manager\n",
		"config/default/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n",
		"config/crd/kustomization.yaml":     "resources:\n- bases/a.yaml\n",
		"config/crd/bases/a.yaml":           "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: as.example.io\n",
		"config/manager/kustomization.yaml": "resources:\n- account.yaml\n- deployment.yaml\nimages:\n- name: flux-operator\n  newName: ghcr.io/controlplaneio-fluxcd/flux-operator\n  newTag: v1.2.3\n",
		"config/manager/account.yaml":       "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: flux-operator\n\n---\n",
		"config/manager/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: flux-operator\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n        image: flux-operator:latest\n",
	}
	for p, s := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestBuild(t *testing.T) {
	b, err := Build(fakeModule(t, ""), "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, doc := range splitDocuments(string(b)) {
		var obj map[string]any
		if err := sigyaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if len(obj) == 0 {
			continue
		}
		kind := obj["kind"].(string)
		kinds = append(kinds, kind)
		ns, _ := obj["metadata"].(map[string]any)["namespace"].(string)
		if want := map[bool]string{true: "", false: "flux-system"}[clusterScoped[kind]]; ns != want {
			t.Errorf("%s: namespace %q, want %q", kind, ns, want)
		}
	}
	if got := strings.Join(kinds, ","); got != "Namespace,CustomResourceDefinition,ServiceAccount,Deployment" {
		t.Errorf("order: %s", got)
	}
	if !strings.Contains(string(b), "image: ghcr.io/controlplaneio-fluxcd/flux-operator:v1.2.3\n") {
		t.Errorf("image not rewritten:\n%s", b)
	}
}

func TestBuildRejects(t *testing.T) {
	if _, err := Build(fakeModule(t, ""), "v9.9.9"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("version mismatch: %v", err)
	}
	if _, err := Build(fakeModule(t, "patches:\n- path: x.yaml\n"), "v1.2.3"); err == nil || !strings.Contains(err.Error(), `"patches"`) {
		t.Errorf("unsupported field: %v", err)
	}
}

func TestEnsureCachedAndValidated(t *testing.T) {
	cache := t.TempDir()
	p := ManifestPath(cache, "v1.2.3")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	// A cached file is returned as it is, without looking for the module.
	if err := os.WriteFile(p, []byte("cached"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Ensure(cache, "v1.2.3")
	if err != nil || got != p {
		t.Fatalf("Ensure = %q, %v", got, err)
	}
	for _, v := range []string{"latest", "1.2.3", "v1.2", "v1.2.3/../../x"} {
		if _, err := Ensure(cache, v); err == nil {
			t.Errorf("version %q accepted", v)
		}
	}
}
