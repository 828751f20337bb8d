package validator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func plan(name, image, version, channel string, prepare ...any) Object {
	spec := map[string]any{"upgrade": map[string]any{"image": image}}
	if version != "" {
		spec["version"] = version
	}
	if channel != "" {
		spec["channel"] = channel
	}
	if len(prepare) > 0 {
		spec["prepare"] = map[string]any{"image": image, "args": prepare}
	}
	return Object{File: "plans.yaml", Map: map[string]any{"apiVersion": "upgrade.cattle.io/v1", "kind": "Plan",
		"metadata": map[string]any{"name": name, "namespace": "system-upgrade"}, "spec": spec}}
}

func TestPlanVersion(t *testing.T) {
	for _, c := range []struct {
		image, version, channel, want string
	}{
		{"rancher/k3s-upgrade", "v1.34.4+k3s1", "", ""},
		{"docker.io/rancher/k3s-upgrade", "v1.35.0-rc1+k3s2", "", ""},
		{"rancher/k3s-upgrade", "", "https://update.k3s.io/v1-release/channels/stable", ""},
		{"rancher/k3s-upgrade", "${K3S_VERSION}", "", "holds a variable"},
		{"rancher/k3s-upgrade", "$K3S_VERSION", "", "holds a variable"},
		{"rancher/k3s-upgrade", "", "", "empty and no channel"},
		{"rancher/k3s-upgrade", "v1.34.4", "", "is not a k3s release"},
		{"rancher/k3s-upgrade", "1.34.4+k3s1", "", "is not a k3s release"},
		{"rancher/k3s-upgrade", "v1.34.4-k3s1", "", "is not a k3s release"},
		// Plans that upgrade something else are not k3s's business.
		{"registry.example.com/os-upgrade", "2026-12", "", ""},
	} {
		got := checkPlan(plan("p", c.image, c.version, c.channel))
		if c.want == "" && len(got) > 0 || c.want != "" && (len(got) != 1 || got[0].Field != "spec.version" || !strings.Contains(got[0].Msg, c.want)) {
			t.Errorf("%s version %q channel %q: findings %v, want one containing %q", c.image, c.version, c.channel, got, c.want)
		}
	}
}

func TestPlanPrepareNamesAPlan(t *testing.T) {
	server := plan("k3s-server", "rancher/k3s-upgrade", "v1.34.4+k3s1", "")
	agent := plan("k3s-agent", "rancher/k3s-upgrade", "v1.34.4+k3s1", "", "prepare", "k3s-server")
	if got := checkPlanPrepare([]Object{server, agent}); len(got) != 0 {
		t.Errorf("agent waiting on the server Plan: %v", got)
	}
	got := checkPlanPrepare([]Object{agent})
	if len(got) != 1 || got[0].Field != "spec.prepare.args[1]" || !strings.Contains(got[0].Msg, "waits for Plan system-upgrade/k3s-server, which this cluster does not apply") {
		t.Errorf("agent waiting on a missing Plan: %v", got)
	}
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fluxKustomization(name, path, extra string) string {
	return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ` + name + `
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ` + path + `
  prune: true
` + extra
}

// Two clusters share the Plans: "a" applies the Plan CRD from its own tree
// and the Secret Terraform writes, "b" neither. The Plans of "a" are checked
// against the tree's CRD with K3S_VERSION substituted from Terraform's
// Secret; "b" is told that nothing applies the CRD and what it lacks.
func TestTreeCRDAndTerraformVariables(t *testing.T) {
	root := t.TempDir()
	crd, err := os.ReadFile(filepath.Join("..", "testdata", "broken", "plan-bad-version", "flux", "infra", "crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	upgrade := "\n  dependsOn:\n    - name: crds\n  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: cluster-variables\n"
	write(t, root, map[string]string{
		"flux/crds/kustomization.yaml":       "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [crd.yaml]\n",
		"flux/crds/crd.yaml":                 string(crd),
		"flux/plans/kustomization.yaml":      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [plan.yaml]\n",
		"flux/plans/plan.yaml":               "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata:\n  name: k3s-server\n  namespace: system-upgrade\nspec:\n  concurrency: 1\n  upgrade:\n    image: rancher/k3s-upgrade\n  version: ${K3S_VERSION}\n",
		"flux/clusters/a/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [ks.yaml]\n",
		"flux/clusters/a/ks.yaml":            fluxKustomization("crds", "./flux/crds", "") + "---\n" + fluxKustomization("k3s-upgrade", "./flux/plans", upgrade),
		// Terraform's Secret, in clear in the reference file (v1.35.2+k3s1).
		"flux/clusters/a/flux-system/flux-instance.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-variables\n  namespace: flux-system\ntype: Opaque\ndata:\n  K3S_VERSION: djEuMzUuMitrM3Mx\n",
		"flux/clusters/b/kustomization.yaml":             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [ks.yaml]\n",
		"flux/clusters/b/ks.yaml":                        fluxKustomization("k3s-upgrade", "./flux/plans", "  postBuild:\n    substitute:\n      K3S_VERSION: v1.34.4+k3s1\n"),
	})
	rep := run(t, root)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	// Only "b" lacks the CRD; "a"'s dependsOn and substitution resolve.
	want := "flux/plans/plan.yaml: Plan system-upgrade/k3s-server: apiVersion: no path of cluster b applies the CustomResourceDefinition of upgrade.cattle.io/Plan (flux/crds/crd.yaml)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("findings:\n  %s\nwant only:\n  %s", strings.Join(got, "\n  "), want)
	}
	versions := map[string]string{}
	for _, c := range rep.Clusters {
		for _, o := range c.Rendered {
			if o.Kind() == "Plan" {
				versions[c.Name] = str(o.Map, "spec", "version")
			}
		}
	}
	if versions["a"] != "v1.35.2+k3s1" || versions["b"] != "v1.34.4+k3s1" {
		t.Errorf("Plan versions %v, want a from Terraform's Secret (v1.35.2+k3s1), b from its substitute (v1.34.4+k3s1)", versions)
	}

	// The Secret is exempt from the SOPS rule only where Terraform applies it:
	// the same Secret in a synced path is a plaintext Secret in git.
	write(t, root, map[string]string{
		"flux/crds/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [crd.yaml, secret.yaml]\n",
		"flux/crds/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: copied\n  namespace: flux-system\ndata:\n  K3S_VERSION: djEuMzUuMitrM3Mx\n",
	})
	rep = run(t, root)
	found := false
	for _, f := range rep.Findings {
		found = found || strings.HasPrefix(f.String(), "flux/crds/secret.yaml: Secret flux-system/copied: plaintext Secret")
	}
	if !found {
		t.Errorf("a plaintext Secret in a synced path passed: %v", rep.Findings)
	}
}
