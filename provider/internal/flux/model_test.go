package flux

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/sre-platform/platform/provider/internal/tfval"
)

const sopsPatch = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-age
`

// baseModel is what a plan with defaults and a Git sync looks like.
func baseModel() *model {
	return &model{
		Distribution: &distributionModel{Version: types.StringValue("2.x"), Registry: types.StringValue(DefaultRegistry), ImagePullSecret: types.StringNull()},
		Components:   stringList(DefaultComponents),
		Cluster: &clusterModel{Type: types.StringValue("kubernetes"), Size: types.StringNull(), Multitenant: types.BoolValue(false),
			NetworkPolicy: types.BoolValue(true), Domain: types.StringValue("cluster.local")},
		Sync: &syncModel{Kind: types.StringValue("GitRepository"), URL: types.StringValue("https://git.example.com/platform.git"),
			Ref: types.StringValue("refs/heads/main"), Path: types.StringValue("flux/clusters/develop"), PullSecret: types.StringNull()},
		KustomizePatches: []patchModel{{
			Target: &targetModel{Kind: types.StringValue("Kustomization"), Name: types.StringValue("flux-system"),
				Group: types.StringNull(), Version: types.StringNull(), Namespace: types.StringNull(),
				LabelSelector: types.StringNull(), AnnotationSelector: types.StringNull()},
			Patch: types.StringValue(sopsPatch),
		}},
		SopsAgeKey: types.StringNull(),
	}
}

func TestRenderSpec(t *testing.T) {
	m := baseModel()
	m.GitCredentials = &gitCredentialsModel{Token: types.StringValue("t0ken"), Username: types.StringNull(), Password: types.StringNull(), SecretName: types.StringNull()}
	m.Storage = &storageModel{Class: types.StringValue("standard"), Size: types.StringValue("10Gi")}
	got := m.fluxInstance()

	want := `apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  labels:
    app.kubernetes.io/managed-by: terraform-provider-platform
  name: flux
  namespace: flux-system
spec:
  cluster:
    domain: cluster.local
    multitenant: false
    networkPolicy: true
    type: kubernetes
  components:
  - source-controller
  - kustomize-controller
  - helm-controller
  - notification-controller
  - image-reflector-controller
  - image-automation-controller
  distribution:
    registry: ghcr.io/fluxcd
    version: 2.x
  kustomize:
    patches:
    - patch: |
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: flux-system
        spec:
          decryption:
            provider: sops
            secretRef:
              name: sops-age
      target:
        kind: Kustomization
        name: flux-system
  storage:
    class: standard
    size: 10Gi
  sync:
    kind: GitRepository
    path: flux/clusters/develop
    pullSecret: flux-system
    ref: refs/heads/main
    url: https://git.example.com/platform.git
`
	b, err := sigyaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("rendered FluxInstance:\n%s\nwant:\n%s", b, want)
	}

	// An explicit pull secret wins; no credentials and no pull secret: none.
	m.Sync.PullSecret = types.StringValue("git-auth")
	if ps := lookup(m.renderSpec(), "sync", "pullSecret"); ps != "git-auth" {
		t.Fatalf("pullSecret %v", ps)
	}
	m.Sync.PullSecret, m.GitCredentials = types.StringNull(), nil
	if ps := lookup(m.renderSpec(), "sync", "pullSecret"); ps != nil {
		t.Fatalf("pullSecret %v without credentials", ps)
	}
	// Nothing set: the distribution defaults still render (the CRD requires it).
	empty := (&model{}).renderSpec()
	if lookup(empty, "distribution", "version") != DefaultDistributionVersion || lookup(empty, "sync") != nil {
		t.Fatalf("empty model renders %v", empty)
	}
}

// live returns the spec as the API server would hand it back: rendered,
// through JSON, plus the CRD's defaults for fields the model leaves out.
func live(t *testing.T, m *model) map[string]any {
	t.Helper()
	b, _ := json.Marshal(m.renderSpec())
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if s, ok := spec["sync"].(map[string]any); ok {
		s["interval"] = "1m"
	}
	spec["wait"] = true
	spec["migrateResources"] = true
	return spec
}

func TestReflectLiveNoDrift(t *testing.T) {
	m := baseModel()
	before := *m
	m.reflectLive(live(t, m))
	if !m.Sync.Ref.Equal(before.Sync.Ref) || !m.Components.Equal(before.Components) || len(m.KustomizePatches) != 1 ||
		!m.Sync.PullSecret.IsNull() || !m.Cluster.Size.IsNull() || !m.Distribution.ImagePullSecret.IsNull() {
		t.Fatalf("a live spec equal to the rendered one changed the model: %+v", m.Sync)
	}
}

func TestReflectLiveDrift(t *testing.T) {
	m := baseModel()
	m.Storage = &storageModel{Class: types.StringValue("standard"), Size: types.StringValue("10Gi")}
	spec := live(t, m)
	spec["sync"].(map[string]any)["ref"] = "refs/heads/hotfix"
	spec["components"] = []any{"source-controller", "kustomize-controller"}
	spec["cluster"].(map[string]any)["networkPolicy"] = false
	spec["distribution"].(map[string]any)["version"] = "2.8.x"
	delete(spec, "storage")
	spec["kustomize"].(map[string]any)["patches"].([]any)[0].(map[string]any)["patch"] = "- op: remove\n  path: /spec/decryption\n"
	// Fields the model does not set are not ours: no drift.
	spec["cluster"].(map[string]any)["size"] = "large"
	spec["distribution"].(map[string]any)["imagePullSecret"] = "other"

	m.reflectLive(spec)
	if m.Sync.Ref.ValueString() != "refs/heads/hotfix" {
		t.Errorf("sync.ref %s", m.Sync.Ref)
	}
	if got := m.components(); len(got) != 2 {
		t.Errorf("components %v", got)
	}
	if m.Cluster.NetworkPolicy.ValueBool() {
		t.Error("cluster.network_policy drift not reflected")
	}
	if m.Distribution.Version.ValueString() != "2.8.x" {
		t.Errorf("distribution.version %s", m.Distribution.Version)
	}
	if m.Storage != nil {
		t.Error("storage removed in the cluster must read as null")
	}
	if p := m.KustomizePatches[0]; !strings.Contains(p.Patch.ValueString(), "op: remove") || p.Target.Kind.ValueString() != "Kustomization" || !p.Target.Group.IsNull() {
		t.Errorf("patch drift %+v", p)
	}
	if !m.Cluster.Size.IsNull() || !m.Distribution.ImagePullSecret.IsNull() {
		t.Error("fields another manager set must not show as drift")
	}

	// A sync removed in the cluster reads as null; a pull secret changed
	// reads back although the model took it from the credentials.
	m = baseModel()
	m.GitCredentials = &gitCredentialsModel{Token: types.StringValue("x"), SecretName: types.StringNull()}
	spec = live(t, m)
	spec["sync"].(map[string]any)["pullSecret"] = "elsewhere"
	m.reflectLive(spec)
	if m.Sync.PullSecret.ValueString() != "elsewhere" {
		t.Errorf("pull secret drift %s", m.Sync.PullSecret)
	}
	delete(spec, "sync")
	m.reflectLive(spec)
	if m.Sync != nil {
		t.Error("sync removed in the cluster must read as null")
	}
}

func secretValue(t *testing.T, u *unstructured.Unstructured, key string) string {
	t.Helper()
	s, _, _ := unstructured.NestedString(u.Object, "data", key)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecrets(t *testing.T) {
	m := baseModel()
	if len(m.secrets()) != 0 {
		t.Fatal("no Secrets without credentials")
	}
	m.SopsAgeKey = types.StringValue("AGE-SECRET-KEY-1QQQ")
	m.GitCredentials = &gitCredentialsModel{Token: types.StringValue("ghp_x"), Username: types.StringNull(), Password: types.StringNull(), SecretName: types.StringNull()}
	m.GHCRCredentials = &ghcrModel{Username: types.StringValue("bot"), Password: types.StringValue("pat"), SecretName: types.StringNull()}
	s := m.secrets()
	if got := m.secretNames(); strings.Join(got, ",") != "flux-system,ghcr-auth,sops-age" {
		t.Fatalf("secret names %v", got)
	}
	if v := secretValue(t, s["sops-age"], "age.agekey"); v != "AGE-SECRET-KEY-1QQQ" {
		t.Fatalf("sops key %q", v)
	}
	git := s["flux-system"]
	if secretValue(t, git, "username") != "git" || secretValue(t, git, "password") != "ghp_x" {
		t.Fatal("a token goes in as user git, password token")
	}
	ghcr := s["ghcr-auth"]
	if typ, _, _ := unstructured.NestedString(ghcr.Object, "type"); typ != "kubernetes.io/dockerconfigjson" {
		t.Fatalf("type %s", typ)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string }
	}
	if err := json.Unmarshal([]byte(secretValue(t, ghcr, ".dockerconfigjson")), &cfg); err != nil {
		t.Fatal(err)
	}
	a := cfg.Auths["ghcr.io"]
	if a.Username != "bot" || a.Password != "pat" || a.Auth != base64.StdEncoding.EncodeToString([]byte("bot:pat")) {
		t.Fatalf("docker config %+v", cfg)
	}
	if ns, _, _ := unstructured.NestedString(ghcr.Object, "metadata", "namespace"); ns != Namespace {
		t.Fatalf("namespace %s", ns)
	}

	m.GitCredentials = &gitCredentialsModel{Username: types.StringValue("alice"), Password: types.StringValue("pw"), Token: types.StringNull(), SecretName: types.StringValue("git-auth")}
	g := m.secrets()["git-auth"]
	if g == nil || secretValue(t, g, "username") != "alice" || secretValue(t, g, "password") != "pw" {
		t.Fatal("username/password credentials")
	}
}

func TestInstanceReady(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": int64(2)}}}
	if ok, why := instanceReady(u); ok || !strings.Contains(why, "no Ready condition") {
		t.Fatalf("no status: %v %s", ok, why)
	}
	set := func(status string, gen int64) {
		u.Object["status"] = map[string]any{"conditions": []any{map[string]any{
			"type": "Ready", "status": status, "reason": "Progressing", "message": "installing", "observedGeneration": gen,
		}}}
	}
	set("True", 1)
	if ok, why := instanceReady(u); ok || !strings.Contains(why, "generation 2") {
		t.Fatalf("stale generation: %v %s", ok, why)
	}
	set("False", 2)
	if ok, why := instanceReady(u); ok || !strings.Contains(why, "installing") {
		t.Fatalf("not ready: %v %s", ok, why)
	}
	set("True", 2)
	if ok, _ := instanceReady(u); !ok {
		t.Fatal("ready")
	}
}

func TestValidators(t *testing.T) {
	ok := map[*tfval.StringCheck][]string{
		&validDistributionVersion: {"2.x", "2.9.x", "2.9.6", "v2.9.6", ">=2.8.0 <2.10.0", "~2.9"},
		&validOperatorVersion:     {"v0.59.0", "v1.0.0-rc.1"},
		&validRegistry:            {"ghcr.io/fluxcd", "registry.example.com:5000/mirror/fluxcd", "localhost:5000"},
		&validQuantity:            {"10Gi", "500Mi", "1"},
		&validPatch:               {sopsPatch, "- op: add\n  path: /spec/x\n  value: 1\n"},
		&validAgeKey:              {"# created: 2026\n# public key: age1x\nAGE-SECRET-KEY-1" + strings.Repeat("Q", 58) + "\n"},
		&validTimeout:             {"10m", "90s", "1h30m"},
		&validDomain:              {"cluster.local", "k8s.example.com"},
	}
	bad := map[*tfval.StringCheck][]string{
		&validDistributionVersion: {"latest", "two", "2.x; rm"},
		&validOperatorVersion:     {"0.59.0", "v0.59", "latest"},
		&validRegistry:            {"https://ghcr.io/fluxcd", "GHCR.io", ""},
		&validQuantity:            {"ten", "-1Gi", "0"},
		&validPatch:               {"", "just a string", "a: [b"},
		&validAgeKey:              {"", "# only a comment", "AGE-SECRET-KEY-1short", "age1publickey"},
		&validTimeout:             {"10", "0s", "48h", "soon"},
		&validDomain:              {"Cluster.Local", "-x.local", "a..b"},
	}
	for v, vals := range ok {
		for _, s := range vals {
			if err := v.Check(s); err != nil {
				t.Errorf("%s: %q refused: %v", v.Summary, s, err)
			}
		}
	}
	for v, vals := range bad {
		for _, s := range vals {
			if err := v.Check(s); err == nil {
				t.Errorf("%s: %q accepted", v.Summary, s)
			}
		}
	}
	for kind, cases := range map[string][2]string{
		"GitRepository": {"ssh://git@github.com/org/repo", "oci://ghcr.io/org/repo"},
		"OCIRepository": {"oci://ghcr.io/org/manifests", "https://ghcr.io/org"},
		"Bucket":        {"s3.amazonaws.com", "https://s3.amazonaws.com"},
	} {
		if err := syncURLCheck(kind, cases[0]); err != nil {
			t.Errorf("%s %s: %v", kind, cases[0], err)
		}
		if err := syncURLCheck(kind, cases[1]); err == nil {
			t.Errorf("%s %s accepted", kind, cases[1])
		}
	}
}
