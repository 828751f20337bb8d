package node_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
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

// An agent created the way the cluster autoscaler's Hetzner provider creates
// one — a server named <pool>-<suffix>, labelled hcloud/node-group, in the
// cluster's network, booted from the node group's cloudInit — joins the
// cluster when that cloud-init is platform_k3s_agent_cloudinit's: the Node
// registers under the server's name with the pool's labels and taints,
// takes its private address, and becomes Ready.
func TestAccAgentCloudInitJoinsLikeAnAutoscaledNode(t *testing.T) {
	env := acctest.Start(t, acctest.Options{K3s: true, Speed: 20})
	ctx := context.Background()
	c := hc(env)
	_, rng, _ := net.ParseCIDR("10.0.0.0/16")
	_, sub, _ := net.ParseCIDR("10.0.1.0/24")
	nw, _, err := c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "scale", IPRange: rng,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: sub}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(clusterHCL, "scale", k3sVersion) + fmt.Sprintf(`
resource "platform_k3s_server" "s1" {
  name           = "scale-cp-1"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = true
  network_id     = %d
  private_ip     = "10.0.1.2"
  timeouts       = { create = "3m" }
}

data "platform_k3s_agent_cloudinit" "burst" {
  k3s_version = platform_k3s_cluster.c.k3s_version
  token       = platform_k3s_cluster.c.agent_token
  server_url  = "https://${platform_k3s_server.s1.private_ip}:6443"
  node_labels = { "platform.sre/pool" = "burst" }
  node_taints = ["burst=true:NoSchedule"]
}
`, nw.ID)
	const scaled = "burst-5f3a9c1e"
	var scaledID int64
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		// The network is the test's own (created through the API above).
		CheckDestroy: func(*terraform.State) error { return env.CheckNoLeaksExcept("networks") },
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestMatchResourceAttr("data.platform_k3s_agent_cloudinit.burst", "sha256", regexp.MustCompile(`^[0-9a-f]{64}$`)),
					func(s *terraform.State) error {
						ud := attr(s, "data.platform_k3s_agent_cloudinit.burst", "user_data")
						if ud == "" {
							return fmt.Errorf("no user_data")
						}
						res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{
							Name: scaled, ServerType: &hcloud.ServerType{Name: "cx32"}, Image: &hcloud.Image{Name: "ubuntu-24.04"},
							Location: &hcloud.Location{Name: "fsn1"}, UserData: ud,
							Labels:   map[string]string{"hcloud/node-group": "burst"},
							Networks: []*hcloud.Network{nw},
						})
						if err != nil {
							return fmt.Errorf("creating the scaled server: %w", err)
						}
						scaledID = res.Server.ID
						// Never leave it behind when a later check fails.
						t.Cleanup(func() { _, _, _ = c.Server.DeleteWithResult(context.Background(), &hcloud.Server{ID: res.Server.ID}) })
						if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
							return err
						}
						kc, err := kube.FromKubeconfig(attr(s, "platform_k3s_server.s1", "kubeconfig"))
						if err != nil {
							return err
						}
						var n *corev1.Node
						deadline := time.Now().Add(2 * time.Minute)
						for {
							got, err := kc.CoreV1().Nodes().Get(ctx, scaled, metav1.GetOptions{})
							if err == nil && kube.NodeReady(got) {
								n = got
								break
							}
							if time.Now().After(deadline) {
								return fmt.Errorf("node %s did not join Ready within 2m (last error %v)", scaled, err)
							}
							time.Sleep(200 * time.Millisecond)
						}
						if n.Labels["platform.sre/pool"] != "burst" {
							return fmt.Errorf("node %s labels %v", scaled, n.Labels)
						}
						// The pool's taint (beside any the node lifecycle sets).
						if !slices.ContainsFunc(n.Spec.Taints, func(tn corev1.Taint) bool {
							return tn.Key == "burst" && tn.Value == "true" && tn.Effect == corev1.TaintEffectNoSchedule
						}) {
							return fmt.Errorf("node %s taints %v lack burst=true:NoSchedule", scaled, n.Spec.Taints)
						}
						var internal string
						for _, a := range n.Status.Addresses {
							if a.Type == corev1.NodeInternalIP {
								internal = a.Address
							}
						}
						if !strings.HasPrefix(internal, "10.0.1.") {
							return fmt.Errorf("node %s internal IP %q, want one in the cluster's subnet", scaled, internal)
						}
						// What the metadata service serves the scaled node: the
						// agent token only, no server material, the guard first.
						booted := env.UserData(scaled)
						if booted != ud || strings.Contains(booted, "PRIVATE KEY") || strings.Contains(booted, "::server:") ||
							strings.Contains(booted, "node-name:") {
							return fmt.Errorf("scaled server booted with unexpected user data")
						}
						return nil
					},
				),
			},
			{
				// The scale-down: the autoscaler deletes the server; the
				// cluster and its data source are unchanged.
				Config: cfg,
				PreConfig: func() {
					if scaledID == 0 {
						t.Fatal("the scaled server was not created")
					}
					res, _, err := c.Server.DeleteWithResult(ctx, &hcloud.Server{ID: scaledID})
					if err == nil {
						err = c.Action.WaitFor(ctx, res.Action)
					}
					if err != nil {
						t.Fatal(err)
					}
				},
				PlanOnly: true,
			},
		},
	})
}

// Bad inputs fail at plan with the attribute named.
func TestAccAgentCloudInitValidation(t *testing.T) {
	acctest.Start(t, acctest.Options{})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{Config: `
data "platform_k3s_agent_cloudinit" "x" {
  k3s_version = "1.31"
  token       = "K10abc::node:secret"
  server_url  = "http://10.0.1.2"
  node_taints = ["oops"]
}`, PlanOnly: true, ExpectError: regexp.MustCompile(`vX.Y.Z\+k3sN`)},
			{Config: `
data "platform_k3s_agent_cloudinit" "x" {
  k3s_version = "v1.31.4+k3s1"
  token       = "K10abc::node:secret"
  server_url  = "http://10.0.1.2"
}`, PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid server URL`)},
			{Config: `
data "platform_k3s_agent_cloudinit" "x" {
  k3s_version = "v1.31.4+k3s1"
  token       = "K10abc::node:secret"
  server_url  = "https://10.0.1.2:6443"
  node_taints = ["oops"]
}`, PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid taint`)},
		},
	})
}
