package node_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sre-platform/platform/provider/internal/acctest"
	"github.com/sre-platform/platform/provider/internal/kube"
)

const k3sVersion = "v1.31.4+k3s1"

func hc(env *acctest.Env) *hcloud.Client {
	return hcloud.NewClient(hcloud.WithEndpoint(env.Endpoint), hcloud.WithToken(acctest.Token),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(50 * time.Millisecond)}))
}

func attr(s *terraform.State, res, key string) string {
	r := s.RootModule().Resources[res]
	if r == nil {
		return ""
	}
	return r.Primary.Attributes[key]
}

// nodesOf lists the cluster's Nodes through a kubeconfig taken from state.
func nodesOf(s *terraform.State, res string) ([]corev1.Node, error) {
	c, err := kube.FromKubeconfig(attr(s, res, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	l, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func checkReadyNodes(res string, want map[string]map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		nodes, err := nodesOf(s, res)
		if err != nil {
			return err
		}
		byName := map[string]corev1.Node{}
		for _, n := range nodes {
			byName[n.Name] = n
		}
		for name, labels := range want {
			n, ok := byName[name]
			if !ok {
				return fmt.Errorf("node %s missing (have %d nodes)", name, len(nodes))
			}
			if !kube.NodeReady(&n) {
				return fmt.Errorf("node %s not Ready", name)
			}
			for k, v := range labels {
				if n.Labels[k] != v {
					return fmt.Errorf("node %s label %s=%q, want %q", name, k, n.Labels[k], v)
				}
			}
		}
		return nil
	}
}

const clusterHCL = `
resource "platform_k3s_cluster" "c" {
  name        = %q
  k3s_version = %q
}
`

func serverHCL(name, serverType, labels string) string {
	return fmt.Sprintf(`
resource "platform_k3s_server" "s1" {
  name           = %q
  server_type    = %q
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  labels         = %s
  node_labels    = { "platform.sre/pool" = "control-plane" }
  timeouts       = { create = "3m" }
}
`, name, serverType, labels)
}

func TestAccServerLifecycle(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: true, Speed: 20})
	cfg := func(serverType, labels string) string {
		return fmt.Sprintf(clusterHCL, "one", k3sVersion) + serverHCL("one-cp-1", serverType, labels)
	}
	var serverID string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy: func(*terraform.State) error {
			return env.CheckNoLeaks()
		},
		Steps: []resource.TestStep{
			{
				Config: cfg("cx22", `{ team = "platform" }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "status", "running"),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "node_name", "one-cp-1"),
					resource.TestMatchResourceAttr("platform_k3s_server.s1", "ipv4_address", regexp.MustCompile(`^127\.`)),
					resource.TestMatchResourceAttr("platform_k3s_server.s1", "config_hash", regexp.MustCompile(`^[0-9a-f]{32}$`)),
					checkReadyNodes("platform_k3s_server.s1", map[string]map[string]string{
						"one-cp-1": {"platform.sre/pool": "control-plane", "node-role.kubernetes.io/control-plane": "true"},
					}),
					func(s *terraform.State) error {
						serverID = attr(s, "platform_k3s_server.s1", "id")
						return nil
					},
				),
			},
			{
				// Labels change in place: same server.
				Config: cfg("cx22", `{ team = "platform", tier = "gold" }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "labels.tier", "gold"),
					func(s *terraform.State) error {
						if id := attr(s, "platform_k3s_server.s1", "id"); id != serverID {
							return fmt.Errorf("labels update replaced the server (%s → %s)", serverID, id)
						}
						srv, _, err := hc(env).Server.GetByID(context.Background(), mustID(serverID))
						if err != nil || srv == nil {
							return fmt.Errorf("server gone: %v", err)
						}
						if srv.Labels["tier"] != "gold" || srv.Labels["platform.sre/role"] != "server" {
							return fmt.Errorf("hetzner labels %v", srv.Labels)
						}
						return nil
					},
				),
			},
			{
				// Server type changes in place (power off, change_type, power on) and the node is Ready again.
				Config: cfg("cx32", `{ team = "platform", tier = "gold" }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "server_type", "cx32"),
					resource.TestCheckResourceAttr("platform_k3s_server.s1", "status", "running"),
					func(s *terraform.State) error {
						if id := attr(s, "platform_k3s_server.s1", "id"); id != serverID {
							return fmt.Errorf("type change replaced the server")
						}
						return nil
					},
					checkReadyNodes("platform_k3s_server.s1", map[string]map[string]string{"one-cp-1": nil}),
				),
			},
			{
				// Import by server ID: the configuration matches, so nothing is replaced.
				ResourceName:            "platform_k3s_server.s1",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"cluster_bundle", "k3s_version", "installed_k3s_version", "running_k3s_version", "node_labels", "cluster_init", "timeouts", "kubeconfig", "admin_client_certificate", "admin_client_key", "image", "private_ip"},
			},
			{
				// Label drift made in the console shows in the plan.
				PreConfig: func() {
					srv, _, _ := hc(env).Server.GetByID(context.Background(), mustID(serverID))
					labels := srv.Labels
					labels["tier"] = "silver"
					if _, _, err := hc(env).Server.Update(context.Background(), srv, hcloud.ServerUpdateOpts{Labels: labels}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg("cx32", `{ team = "platform", tier = "gold" }`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func mustID(s string) int64 {
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

func TestAccServerDeletedOutsideIsRecreated(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: false, Speed: 50})
	cfg := fmt.Sprintf(clusterHCL, "drift", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name           = "drift-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  wait_for_ready = false
  drain          = false
}
`
	var first string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{
			{Config: cfg, Check: func(s *terraform.State) error { first = attr(s, "platform_k3s_server.s1", "id"); return nil }},
			{
				PreConfig: func() {
					if _, _, err := hc(env).Server.DeleteWithResult(context.Background(), &hcloud.Server{ID: mustID(first)}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				Check: func(s *terraform.State) error {
					if id := attr(s, "platform_k3s_server.s1", "id"); id == first || id == "" {
						return fmt.Errorf("server not recreated (id %q)", id)
					}
					return nil
				},
			},
		},
	})
}

func TestAccHAClusterWithAgents(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: true, Speed: 20})
	cfg := fmt.Sprintf(clusterHCL, "ha", k3sVersion) + `
resource "platform_k3s_server" "first" {
  name           = "ha-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  timeouts       = { create = "3m" }
}

resource "platform_k3s_server" "more" {
  count          = 2
  name           = "ha-cp-${count.index + 2}"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  server_url     = "https://${platform_k3s_server.first.ipv4_address}:6443"
  timeouts       = { create = "3m" }
}

resource "platform_k3s_agent" "workers" {
  count       = 2
  name        = "ha-worker-${count.index + 1}"
  server_type = "cx32"
  location    = "fsn1"
  k3s_version = platform_k3s_cluster.c.k3s_version
  token       = platform_k3s_cluster.c.agent_token
  server_url  = "https://${platform_k3s_server.first.ipv4_address}:6443"
  kubeconfig  = platform_k3s_server.first.kubeconfig
  node_labels = { pool = "workers" }
  node_taints = ["dedicated=batch:NoSchedule"]
  timeouts    = { create = "3m" }
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: resource.ComposeAggregateTestCheckFunc(
				checkReadyNodes("platform_k3s_server.first", map[string]map[string]string{
					"ha-cp-1":     {"node-role.kubernetes.io/control-plane": "true"},
					"ha-cp-2":     {"node-role.kubernetes.io/control-plane": "true"},
					"ha-cp-3":     {"node-role.kubernetes.io/control-plane": "true"},
					"ha-worker-1": {"pool": "workers"},
					"ha-worker-2": {"pool": "workers"},
				}),
				func(s *terraform.State) error {
					nodes, err := nodesOf(s, "platform_k3s_server.first")
					if err != nil {
						return err
					}
					for _, n := range nodes {
						if strings.HasPrefix(n.Name, "ha-worker") {
							if len(n.Spec.Taints) == 0 || n.Spec.Taints[0].Key != "dedicated" {
								return fmt.Errorf("node %s taints %v", n.Name, n.Spec.Taints)
							}
						}
					}
					return nil
				},
				// What the metadata service would serve each node: agents hold
				// the agent token only (no server token, no CA key), servers
				// both tokens; every node installs the metadata guard first.
				func(s *terraform.State) error {
					serverTok, agentTok := attr(s, "platform_k3s_cluster.c", "token"), attr(s, "platform_k3s_cluster.c", "agent_token")
					if !strings.Contains(agentTok, "::node:") || agentTok == serverTok {
						return fmt.Errorf("agent_token %q is not a separate node token", agentTok)
					}
					serverSecret := serverTok[strings.LastIndex(serverTok, ":")+1:]
					for _, name := range []string{"ha-worker-1", "ha-worker-2"} {
						ud := env.UserData(name)
						switch {
						case !strings.Contains(ud, "token: "+agentTok):
							return fmt.Errorf("%s: user data lacks the agent token", name)
						case strings.Contains(ud, serverSecret), strings.Contains(ud, "::server:"):
							return fmt.Errorf("%s: user data carries the server token", name)
						case strings.Contains(ud, "PRIVATE KEY"), strings.Contains(ud, "agent-token"):
							return fmt.Errorf("%s: user data carries server material", name)
						}
					}
					for _, name := range []string{"ha-cp-1", "ha-cp-2", "ha-cp-3"} {
						ud := env.UserData(name)
						if !strings.Contains(ud, "token: "+serverTok) || !strings.Contains(ud, "agent-token: "+agentTok) {
							return fmt.Errorf("%s: user data lacks the server or the agent token", name)
						}
					}
					for _, name := range []string{"ha-cp-1", "ha-worker-1"} {
						ud := env.UserData(name)
						if g, i := strings.Index(ud, "- /usr/local/sbin/k3s-metadata-guard"), strings.Index(ud, "- /usr/local/bin/k3s-install.sh"); g < 0 || i < g {
							return fmt.Errorf("%s: the metadata guard does not run before the k3s install", name)
						}
					}
					return nil
				},
				resource.TestCheckResourceAttr("platform_k3s_agent.workers.0", "metadata_guard", "true"),
				resource.TestCheckResourceAttr("platform_k3s_server.first", "metadata_guard", "true"),
			),
		}},
	})
}

func TestAccConvergesThroughRateLimitsAndServerErrors(t *testing.T) {
	env := acctest.Start(t, acctest.Options{Speed: 50})
	env.Fault("POST /v1/servers", 503, "unavailable", 2)
	env.Fault("GET /v1/actions/{id}", 500, "server_error", 3)
	env.Fault("*", 429, "rate_limit_exceeded", 2)
	cfg := fmt.Sprintf(clusterHCL, "faulty", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name           = "faulty-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  wait_for_ready = false
  drain          = false
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(s *terraform.State) error {
				servers, err := hc(env).Server.All(context.Background())
				if err != nil {
					return err
				}
				if len(servers) != 1 {
					return fmt.Errorf("%d servers exist, want exactly 1 (no leak from retried creates)", len(servers))
				}
				return nil
			},
		}},
	})
}

func TestAccBootNeverReadyIsTaintedAndDestroyable(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: true, Speed: 50})
	// An agent pointing at a cluster that does not exist never gets Ready.
	cfg := fmt.Sprintf(clusterHCL, "lonely", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name           = "lonely-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  timeouts       = { create = "3m" }
}

resource "platform_k3s_agent" "orphan" {
  name        = "lonely-worker-1"
  server_type = "cx22"
  location    = "fsn1"
  k3s_version = platform_k3s_cluster.c.k3s_version
  token       = "K10deadbeef::node:wrongsecret"
  server_url  = "https://${platform_k3s_server.s1.ipv4_address}:6443"
  kubeconfig  = platform_k3s_server.s1.kubeconfig
  drain       = false
  timeouts    = { create = "20s" }
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{
			{Config: cfg, ExpectError: regexp.MustCompile(`did not become Ready`)},
			{
				// The failed agent is in state as tainted: the plan replaces it.
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A failure after the server exists (here: its private IP is taken by a load
// balancer) leaves the server in state as tainted with no unknown values, and
// destroy removes it.
func TestAccNetworkAttachFailureIsTaintedAndDestroyable(t *testing.T) {
	env := acctest.Start(t, acctest.Options{Speed: 50})
	ctx := context.Background()
	c := hc(env)
	_, rng, _ := net.ParseCIDR("10.0.0.0/16")
	_, sub, _ := net.ParseCIDR("10.0.1.0/24")
	nw, _, err := c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "taken", IPRange: rng,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: sub}}})
	if err != nil {
		t.Fatal(err)
	}
	lb, _, err := c.LoadBalancer.Create(ctx, hcloud.LoadBalancerCreateOpts{Name: "holds-an-ip", Network: nw,
		LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb11"}, Location: &hcloud.Location{Name: "fsn1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, lb.Action); err != nil {
		t.Fatal(err)
	}
	// The address the load balancer was given (Hetzner picks it).
	held, _, err := c.LoadBalancer.GetByID(ctx, lb.LoadBalancer.ID)
	if err != nil || held == nil || len(held.PrivateNet) == 0 {
		t.Fatalf("load balancer without a private address: %v", err)
	}
	cfg := fmt.Sprintf(clusterHCL, "taken", k3sVersion) + fmt.Sprintf(`
resource "platform_k3s_server" "s1" {
  name           = "taken-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  network_id     = %d
  private_ip     = %q
  wait_for_ready = false
}
`, nw.ID, held.PrivateNet[0].IP.String())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaksExcept("networks", "load_balancers") },
		Steps: []resource.TestStep{
			{Config: cfg, ExpectError: regexp.MustCompile(`(?s)Attaching the server to its network failed.*ip_not_available`)},
			{Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}

// ssh_keys takes names as well as IDs; an unknown name fails before any
// server exists.
func TestAccSSHKeysByNameOrID(t *testing.T) {
	env := acctest.Start(t, acctest.Options{Speed: 50})
	key, _, err := hc(env).SSHKey.Create(context.Background(), hcloud.SSHKeyCreateOpts{Name: "ops",
		PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0PwzW0Wl1cVq6U4x2Ff7Q4dEo2GCfHxVYkq9Sgqk3 ops@example"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(keys string) string {
		return fmt.Sprintf(clusterHCL, "keys", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name           = "keys-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  ssh_keys       = ` + keys + `
  wait_for_ready = false
  drain          = false
}
`
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaksExcept("ssh_keys") },
		Steps: []resource.TestStep{
			{Config: cfg(`["nope"]`), ExpectError: regexp.MustCompile(`No SSH key named "nope"`)},
			{Config: cfg(`["ops"]`), Check: func(*terraform.State) error {
				if l := env.Leftovers(); !slices.Contains(l, "1 servers") {
					return fmt.Errorf("after an unknown key and a known one: %v", l)
				}
				return nil
			}},
			{Config: cfg(fmt.Sprintf(`["%d"]`, key.ID)), PlanOnly: true, ExpectNonEmptyPlan: true}, // by ID: same key, but a different list replaces
		},
	})
}

func TestAccNodeValidation(t *testing.T) {
	base := fmt.Sprintf(clusterHCL, "val", k3sVersion)
	srv := func(extra string) string {
		return base + `
resource "platform_k3s_server" "s" {
  name           = "val-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = "` + k3sVersion + `"
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  ` + extra + `
}
`
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{Config: srv(`cluster_init = true
  server_url = "https://10.0.0.2:6443"`), PlanOnly: true, ExpectError: regexp.MustCompile(`Conflicting server settings`)},
			{Config: srv(``), PlanOnly: true, ExpectError: regexp.MustCompile(`Missing server_url`)},
			{Config: srv(`cluster_init = true
  node_taints = ["oops"]`), PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid taint`)},
			{Config: srv(`cluster_init = true
  private_ip = "10.0.1.5"`), PlanOnly: true, ExpectError: regexp.MustCompile(`private_ip needs network_id`)},
			{Config: srv(`cluster_init = true
  labels = { "platform.sre/role" = "x" }`), PlanOnly: true, ExpectError: regexp.MustCompile(`Reserved label`)},
			{Config: srv(`cluster_init = true
  drain_timeout = "forever"`), PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid duration`)},
			{Config: srv(`cluster_init = true
  disable = ["kube-proxy"]`), PlanOnly: true, ExpectError: regexp.MustCompile(`disable`)},
			{Config: base + `
resource "platform_k3s_agent" "a" {
  name        = "val-w-1"
  server_type = "cx22"
  location    = "fsn1"
  k3s_version = "v1.31"
  token       = platform_k3s_cluster.c.token
  server_url  = "http://10.0.0.2"
  kubeconfig  = "x"
}
`, PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)vX.Y.Z\+k3sN.*Invalid server URL|Invalid server URL.*vX.Y.Z\+k3sN`)},
		},
	})
}

// external_cloud_provider reaches the nodes' k3s config: kubelets defer to
// an external cloud controller, servers turn k3s' own and ServiceLB off.
func TestAccExternalCloudProvider(t *testing.T) {
	env := acctest.Start(t, acctest.Options{Speed: 50})
	cfg := fmt.Sprintf(clusterHCL, "ccm", k3sVersion) + `
resource "platform_k3s_server" "s1" {
  name                    = "ccm-cp-1"
  server_type             = "cx22"
  location                = "fsn1"
  k3s_version             = platform_k3s_cluster.c.k3s_version
  cluster_bundle          = platform_k3s_cluster.c.server_bundle
  cluster_init            = true
  disable                 = ["traefik"]
  external_cloud_provider = true
  wait_for_ready          = false
  drain                   = false
}

resource "platform_k3s_agent" "a1" {
  name                    = "ccm-w-1"
  server_type             = "cx22"
  location                = "fsn1"
  k3s_version             = platform_k3s_cluster.c.k3s_version
  token                   = platform_k3s_cluster.c.agent_token
  server_url              = "https://${platform_k3s_server.s1.ipv4_address}:6443"
  kubeconfig              = platform_k3s_server.s1.kubeconfig
  external_cloud_provider = true
  wait_for_ready          = false
  drain                   = false
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             func(*terraform.State) error { return env.CheckNoLeaks() },
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				server, agent := env.UserData("ccm-cp-1"), env.UserData("ccm-w-1")
				for _, want := range []string{"disable-cloud-controller: true", "- traefik\n        - servicelb\n", "kubelet-arg:\n        - cloud-provider=external\n"} {
					if !strings.Contains(server, want) {
						return fmt.Errorf("server user data lacks %q", want)
					}
				}
				if !strings.Contains(agent, "kubelet-arg:\n        - cloud-provider=external\n") || strings.Contains(agent, "disable-cloud-controller") {
					return fmt.Errorf("agent user data: want kubelet-arg cloud-provider=external and no server keys")
				}
				return nil
			},
		}},
	})
}
