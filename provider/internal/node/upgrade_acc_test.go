package node_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/sre-platform/platform/provider/internal/acctest"
	"github.com/sre-platform/platform/test/sandbox"
)

// TestAccInPlaceUpgradeKeepsNodes changes k3s_version of a running cluster
// (a server and an agent in the k3s sandbox) under upgrade_strategy =
// "in-place": the plan updates both in place, nothing is replaced, their
// cloud-init keeps the release they booted, and running_k3s_version reports
// what each kubelet runs (the sandbox's, which no upgrade controller moves).
// Switching the agent to "replace" then replaces it with a server that boots
// the new release.
func TestAccInPlaceUpgradeKeepsNodes(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: true, Speed: 20})
	running := sandbox.KubeVersion + "+k3s1"
	const next = "v1.35.0+k3s1"
	cfg := func(version, agentStrategy string) string {
		return fmt.Sprintf(clusterHCL, "up", version) + fmt.Sprintf(`
resource "platform_k3s_server" "s1" {
  name             = "up-cp-1"
  server_type      = "cx22"
  location         = "fsn1"
  k3s_version      = platform_k3s_cluster.c.k3s_version
  upgrade_strategy = "in-place"
  cluster_bundle   = platform_k3s_cluster.c.server_bundle
  cluster_init     = true
  timeouts         = { create = "3m" }
}

resource "platform_k3s_agent" "a1" {
  name             = "up-agent-1"
  server_type      = "cx22"
  location         = "fsn1"
  k3s_version      = platform_k3s_cluster.c.k3s_version
  upgrade_strategy = %q
  token            = platform_k3s_cluster.c.agent_token
  server_url       = "https://${platform_k3s_server.s1.ipv4_address}:6443"
  kubeconfig       = platform_k3s_server.s1.kubeconfig
  timeouts         = { create = "3m" }
}
`, agentStrategy)
	}
	ids := map[string]string{}
	keep := func(s *terraform.State) error {
		for _, r := range []string{"platform_k3s_server.s1", "platform_k3s_agent.a1"} {
			ids[r] = attr(s, r, "id")
		}
		return nil
	}
	same := func(res string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			if id := attr(s, res, "id"); id != ids[res] {
				return fmt.Errorf("%s was replaced (%s → %s)", res, ids[res], id)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{
			{
				Config: cfg(running, "in-place"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "upgrade_strategy", "in-place"),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "installed_k3s_version", running),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "running_k3s_version", running),
					resource.TestCheckResourceAttr("platform_k3s_agent.a1", "running_k3s_version", running),
					keep,
				),
			},
			{
				// The new release: both nodes stay, their cloud-init keeps
				// the release they booted, the kubelets still run it.
				Config: cfg(next, "in-place"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("platform_k3s_server.s1", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("platform_k3s_agent.a1", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					same("platform_k3s_server.s1"), same("platform_k3s_agent.a1"),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "k3s_version", next),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "installed_k3s_version", running),
					resource.TestCheckResourceAttr("platform_k3s_agent.a1", "installed_k3s_version", running),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "running_k3s_version", running),
					func(s *terraform.State) error {
						if ud := env.UserData("up-cp-1"); !containsVersion(ud, running) {
							return fmt.Errorf("up-cp-1 booted a cloud-init without %s", running)
						}
						return nil
					},
				),
			},
			{
				// Same configuration again: refresh reads the kubelets, and
				// the plan is empty (the difference is only warned about).
				Config:   cfg(next, "in-place"),
				PlanOnly: true,
			},
			{
				// The agent switches to replace: its cloud-init must now
				// install k3s_version, so a new server replaces it.
				Config: cfg(next, "replace"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("platform_k3s_server.s1", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("platform_k3s_agent.a1", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					same("platform_k3s_server.s1"),
					resource.TestCheckResourceAttr("platform_k3s_agent.a1", "installed_k3s_version", next),
					func(s *terraform.State) error {
						if ud := env.UserData("up-agent-1"); !containsVersion(ud, next) {
							return fmt.Errorf("the new up-agent-1 booted a cloud-init without %s", next)
						}
						return nil
					},
				),
			},
		},
	})
}

// containsVersion reports whether a cloud-init installs k3s release v
// (the install script's VERSION).
func containsVersion(userData, v string) bool {
	return strings.Contains(userData, "VERSION='"+v+"'")
}
