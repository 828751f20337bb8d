package validator

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// hetznerRoots maps each Hetzner cluster entry to the Terraform root and
// tfvars that bootstrap it (the shared topology is production's root with
// flux_cluster_path = flux/clusters/shared, environments/README.md).
var hetznerRoots = map[string][2]string{
	"develop":    {"environments/develop", "develop.tfvars"},
	"staging":    {"environments/staging", "staging.tfvars"},
	"production": {"environments/production", "production.tfvars"},
	"shared":     {"environments/production", "production.tfvars"},
}

var reTfvarsK3s = regexp.MustCompile(`(?m)^\s*k3s_version\s*=\s*"([^"]+)"`)

// k3sVersionOf reads the k3s_version a Hetzner cluster's Terraform root
// gives: its tfvars, else the root's own default, else (a root default of
// null) the default of modules/hetzner-environment, which the root calls.
func k3sVersionOf(t *testing.T, root, cluster string) string {
	t.Helper()
	src := hetznerRoots[cluster]
	b, err := os.ReadFile(filepath.Join(root, src[0], src[1]))
	if err != nil {
		t.Fatal(err)
	}
	if m := reTfvarsK3s.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	for _, vars := range []string{filepath.Join(src[0], "variables.tf"), "modules/hetzner-environment/variables.tf"} {
		b, err := os.ReadFile(filepath.Join(root, vars))
		if err != nil {
			t.Fatal(err)
		}
		block := regexp.MustCompile(`(?s)variable "k3s_version" \{(.*?)\n\}`).FindSubmatch(b)
		if block == nil {
			t.Fatalf("%s declares no k3s_version", vars)
		}
		if m := regexp.MustCompile(`default\s*=\s*"([^"]+)"`).FindSubmatch(block[1]); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("%s: no k3s_version in the tfvars nor a default", cluster)
	return ""
}

func plansOf(c ClusterReport) map[string]Object {
	out := map[string]Object{}
	for _, o := range c.Rendered {
		if o.Kind() == "Plan" && groupOf(o.APIVersion()) == "upgrade.cattle.io" {
			out[o.Namespace()+"/"+o.Name()] = o
		}
	}
	return out
}

// selects reports whether a Plan's nodeSelector holds exactly one
// expression on the control-plane label with this operator (and values).
func selects(o Object, operator string, values ...any) bool {
	exprs, _ := get(o.Map, "spec", "nodeSelector", "matchExpressions").([]any)
	if len(exprs) != 1 {
		return false
	}
	e, _ := exprs[0].(map[string]any)
	got, _ := e["values"].([]any)
	return e["key"] == "node-role.kubernetes.io/control-plane" && e["operator"] == operator && reflect.DeepEqual(got, values)
}

// Every Hetzner cluster upgrades k3s in place from one place: it applies the
// system-upgrade-controller with the Plan CRD, and, after it, the server and
// agent Plans carrying the k3s_version of the cluster's Terraform root
// (substituted from the Secret Terraform writes). Servers go first, one at a
// time, cordoned; agents one at a time, drained, each only once the server
// Plan is done. The other clusters (kind, sandbox) have no Plans.
func TestK3sUpgradePlans(t *testing.T) {
	rep := realTree(t)
	root := repoRoot(t)
	seen := map[string]bool{}
	for _, c := range rep.Clusters {
		plans := plansOf(c)
		if _, hetzner := hetznerRoots[c.Name]; !hetzner {
			if len(plans) > 0 {
				t.Errorf("cluster %s (not on Hetzner) applies upgrade Plans", c.Name)
			}
			continue
		}
		seen[c.Name] = true
		want := k3sVersionOf(t, root, c.Name)
		server, agent := plans["system-upgrade/k3s-server"], plans["system-upgrade/k3s-agent"]
		if server.Map == nil || agent.Map == nil || len(plans) != 2 {
			t.Errorf("cluster %s: Plans %v, want system-upgrade/k3s-server and system-upgrade/k3s-agent", c.Name, plans)
			continue
		}
		for _, p := range []Object{server, agent} {
			if v := str(p.Map, "spec", "version"); v != want {
				t.Errorf("cluster %s: %s version %q, want the root's k3s_version %q", c.Name, p.ID(), v, want)
			}
			if get(p.Map, "spec", "concurrency") != int64(1) {
				t.Errorf("cluster %s: %s concurrency %v, want 1", c.Name, p.ID(), get(p.Map, "spec", "concurrency"))
			}
			if str(p.Map, "spec", "serviceAccountName") != "system-upgrade" || !upgradesK3s(p) {
				t.Errorf("cluster %s: %s does not run rancher/k3s-upgrade as system-upgrade", c.Name, p.ID())
			}
		}
		if get(server.Map, "spec", "cordon") != true || get(server.Map, "spec", "drain") != nil || !selects(server, "In", "true") {
			t.Errorf("cluster %s: the server Plan must cordon without draining and select the control plane: %v", c.Name, server.Map["spec"])
		}
		if !selects(agent, "DoesNotExist") || get(agent.Map, "spec", "drain", "ignoreDaemonSets") != true || get(agent.Map, "spec", "drain", "deleteEmptydirData") != true {
			t.Errorf("cluster %s: the agent Plan must drain (ignoring DaemonSets, deleting emptyDir data) every node outside the control plane: %v", c.Name, agent.Map["spec"])
		}
		if args, _ := get(agent.Map, "spec", "prepare", "args").([]any); !reflect.DeepEqual(args, []any{"prepare", "k3s-server"}) {
			t.Errorf("cluster %s: the agent Plan's prepare args %v, want [prepare k3s-server] (agents wait for every server)", c.Name, args)
		}

		// The controller and the CRD come with infra-controllers, which the
		// Plans' Kustomization waits for; the version from Terraform's Secret.
		var controller, crd bool
		var ks Object
		for _, o := range c.Rendered {
			controller = controller || o.Kind() == "Deployment" && o.Namespace() == "system-upgrade" && o.Name() == "system-upgrade-controller"
			crd = crd || isCRD(o) && o.Name() == "plans.upgrade.cattle.io"
			if o.Kind() == "Kustomization" && groupOf(o.APIVersion()) == "kustomize.toolkit.fluxcd.io" && o.Name() == "k3s-upgrade" {
				ks = o
			}
		}
		if !controller || !crd {
			t.Errorf("cluster %s: system-upgrade-controller %v, Plan CRD %v: want both", c.Name, controller, crd)
		}
		deps, _ := get(ks.Map, "spec", "dependsOn").([]any)
		from, _ := get(ks.Map, "spec", "postBuild", "substituteFrom").([]any)
		if len(deps) != 1 || str(deps[0].(map[string]any), "name") != "infra-controllers" || len(from) != 1 ||
			str(from[0].(map[string]any), "name") != "cluster-variables" || str(from[0].(map[string]any), "kind") != "Secret" {
			t.Errorf("cluster %s: Kustomization k3s-upgrade must depend on infra-controllers and substitute from Secret cluster-variables: %v", c.Name, ks.Map["spec"])
		}
	}
	for name := range hetznerRoots {
		if !seen[name] {
			t.Errorf("Hetzner cluster %s: no flux/clusters/%s entry", name, name)
		}
	}
}

// The Plans' version follows the Secret, not a coincidence of the tree: a
// cluster whose Secret says another release gets Plans with that one, and a
// cluster whose Kustomization lost its substituteFrom fails the validator.
func TestK3sUpgradeVersionComesFromTheSecret(t *testing.T) {
	src := repoRoot(t)
	root := t.TempDir()
	copyTree(t, filepath.Join(src, "flux"), filepath.Join(root, "flux"))
	copyTree(t, filepath.Join(src, "docs"), filepath.Join(root, "docs"))
	fi := filepath.Join(root, "flux", "clusters", "staging", "flux-system", "flux-instance.yaml")
	b, err := os.ReadFile(fi)
	if err != nil {
		t.Fatal(err)
	}
	old := "K3S_VERSION: djEuMzQuNCtrM3Mx" // v1.34.4+k3s1
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s carries no K3S_VERSION v1.34.4+k3s1", fi)
	}
	// v1.35.2+k3s1
	if err := os.WriteFile(fi, []byte(strings.Replace(string(b), old, "K3S_VERSION: djEuMzUuMitrM3Mx", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	infra := filepath.Join(root, "flux", "clusters", "production", "infrastructure.yaml")
	b, err = os.ReadFile(infra)
	if err != nil {
		t.Fatal(err)
	}
	cut := "  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: cluster-variables\n"
	if !strings.Contains(string(b), cut) {
		t.Fatalf("%s: the k3s-upgrade Kustomization's substituteFrom not found", infra)
	}
	if err := os.WriteFile(infra, []byte(strings.Replace(string(b), cut, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	rep, err := Run(Options{Root: root, CacheDir: filepath.Join(src, ".cache", "validate")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Clusters {
		if c.Name != "staging" {
			continue
		}
		for _, p := range plansOf(c) {
			if v := str(p.Map, "spec", "version"); v != "v1.35.2+k3s1" {
				t.Errorf("staging %s: version %q, want v1.35.2+k3s1 from its Secret", p.ID(), v)
			}
		}
	}
	var unsubstituted int
	for _, f := range rep.Findings {
		if f.File == "flux/infrastructure/upgrade/plans.yaml" && f.Field == "spec.version" && strings.Contains(f.Msg, `"${K3S_VERSION}" holds a variable`) {
			unsubstituted++
			continue
		}
		t.Errorf("unexpected finding: %s", f)
	}
	if unsubstituted != 2 {
		t.Errorf("%d findings for the unsubstituted Plans of production, want 2 (server and agent)", unsubstituted)
	}
}
