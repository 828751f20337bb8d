package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSandboxHetznerRoots applies the staging and production roots with
// their own tfvars (HA control plane behind the API load balancer, agent
// pools, production's pool in a second location) against a sandbox service,
// with the state backend swapped for a local one and Flux applied without
// waiting: the configuration that runs on Hetzner, proven end to end before
// anyone pays for it.
func TestSandboxHetznerRoots(t *testing.T) {
	svc, manifest := sandboxSuite(t, "environments/staging and production")

	for _, tc := range []struct {
		env     string
		servers int
		agents  map[string]string // node name suffix → value of platform.sre/location ("" when unset)
	}{
		{"staging", 3, map[string]string{"general-1": "", "general-2": ""}},
		{"production", 3, map[string]string{"fsn1-1": "fsn1", "fsn1-2": "fsn1", "nbg1-1": "nbg1"}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			name := uniqueName(tc.env[:4])
			opts := rootOptions(t, tc.env, map[string]any{
				"hcloud_endpoint":             svc.api,
				"cluster_name":                name,
				"flux_wait":                   false,
				"flux_operator_manifest_path": manifest,
			}, map[string]string{"hcloud_token": svc.token})
			if tc.env == "production" {
				// production.tfvars uploads etcd snapshots, which needs the
				// bucket's keys (the sandbox uploads nothing); staging keeps
				// them on the servers and must not get keys.
				opts.EnvVars["TF_VAR_etcd_s3_credentials"] = `{access_key="e2e-access",secret_key="e2e-secret"}`
			}
			opts.TerraformDir = isolatedRoot(t, tc.env)
			opts.VarFiles = []string{tc.env + ".tfvars"}
			opts.SetVarsAfterVarFiles = true // the test's cluster name wins over the tfvars
			ctx := context.Background()
			defer func() {
				terraform.DestroyContext(t, context.Background(), opts)
				if left := svc.leftovers(t); len(left) > 0 {
					t.Errorf("left in the emulator after destroy: %s", strings.Join(left, ", "))
				}
			}()

			start := time.Now()
			terraform.InitAndApplyAndIdempotentContext(t, t.Context(), opts)
			t.Logf("%s: apply + idempotent plan %s", tc.env, time.Since(start).Round(time.Millisecond))

			lbIP := terraform.OutputContext(t, t.Context(), opts, "load_balancer_ipv4")
			if ep := terraform.OutputContext(t, t.Context(), opts, "api_endpoint"); lbIP == "" || ep != "https://"+lbIP+":6443" {
				t.Errorf("api_endpoint %q, want the load balancer https://%s:6443", ep, lbIP)
			}
			kc, dc, cfg := clients(t, sensitiveOutput(t, opts, "kubeconfig"))
			checkCloudSecret(t, ctx, kc, svc.token, terraform.OutputContext(t, t.Context(), opts, "network_id"))
			if !strings.Contains(cfg.Host, lbIP) {
				t.Errorf("kubeconfig server %s, want the load balancer %s", cfg.Host, lbIP)
			}
			var want []string
			for i := 1; i <= tc.servers; i++ {
				want = append(want, fmt.Sprintf("%s-cp-%d", name, i))
			}
			for suffix := range tc.agents {
				want = append(want, name+"-"+suffix)
			}
			if got := terraform.OutputListContext(t, t.Context(), opts, "node_names"); !sameSet(got, want) {
				t.Errorf("node_names %v, want %v", got, want)
			}
			eventually(t, 2*time.Minute, fmt.Sprintf("%d nodes Ready through the load balancer", len(want)), func() error {
				nodes, err := readyNodes(ctx, kc, want)
				if err != nil {
					return err
				}
				for suffix, loc := range tc.agents {
					if got := nodes[name+"-"+suffix].Labels["platform.sre/location"]; got != loc {
						return fmt.Errorf("node %s-%s location label %q, want %q", name, suffix, got, loc)
					}
				}
				return nil
			})
			if _, err := fluxInstance(ctx, dc); err != nil {
				t.Errorf("FluxInstance: %v", err)
			}
			if _, err := kc.AppsV1().Deployments("flux-system").Get(ctx, "flux-operator", metav1.GetOptions{}); err != nil {
				t.Errorf("flux-operator Deployment: %v", err)
			}
			checkMovedState(t, opts)
		})
	}
}

// checkMovedState proves the roots' moved blocks: state written at the
// addresses the roots used before modules/hetzner-environment
// (module.cluster…, module.flux…) plans without a change to any resource,
// only moves to module.environment.module.…, and applying that plan leaves
// nothing to do.
func checkMovedState(t *testing.T, opts *terraform.Options) {
	t.Helper()
	ctx := t.Context()
	for _, m := range []string{"cluster", "flux"} {
		terraform.RunTerraformCommandContext(t, ctx, opts, "state", "mv", "module.environment.module."+m, "module."+m)
	}
	planned := *opts
	planned.PlanFilePath = filepath.Join(t.TempDir(), "moved.tfplan")
	plan := terraform.InitAndPlanAndShowWithStructContext(t, ctx, &planned)
	moved := 0
	for addr, rc := range plan.ResourceChangesMap {
		if rc.Change == nil || !rc.Change.Actions.NoOp() {
			t.Errorf("%s: %v after the move, want no-op", addr, rc.Change)
			continue
		}
		if rc.PreviousAddress != "" {
			if !strings.HasPrefix(addr, "module.environment.module.") || strings.TrimPrefix(rc.PreviousAddress, "module.") != strings.TrimPrefix(addr, "module.environment.module.") {
				t.Errorf("%s moved from %s, want from the same address without module.environment", addr, rc.PreviousAddress)
			}
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the plan moved no resource: the state mv or the moved blocks did not take effect")
	}
	terraform.RunTerraformCommandContext(t, ctx, &planned, "apply", "-input=false", planned.PlanFilePath)
	if code := terraform.PlanExitCodeContext(t, ctx, opts); code != 0 {
		t.Errorf("plan after applying the moves: exit code %d, want 0 (no changes)", code)
	}
	t.Logf("moved blocks: %d resources planned as moves only, then no changes", moved)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
