package node_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/sre-platform/platform/internal/testenv"
	"github.com/sre-platform/platform/provider/internal/acctest"
)

// benchSpeed divides the emulator's action times: a server create plus its
// start (the simulated boot) takes 13 s / benchSpeed.
const benchSpeed = 0.25

// BenchmarkHAApply applies a cluster of 3 servers + 3 agents behind an API
// load balancer with the real terraform CLI and the provider built from this
// tree, against the emulator and the k3s sandbox. Creates run in parallel, so
// the apply should take about one boot, not six: it reports the apply wall
// against the simulated boot time T of one server (create with the network
// until running, measured through the API), and the hcloud requests a
// `terraform plan` (refresh) of the cluster makes per resource. Targets: HA
// apply ≤ 1.3 × T, ≤ 1 request per resource.
func BenchmarkHAApply(b *testing.B) {
	tf, ok := testenv.LookPath("terraform")
	testenv.Require(b, ok, "terraform CLI", "go tool task tf:check")
	rc := devOverrides(b)
	for b.Loop() {
		env := acctest.Start(b, acctest.Options{K3s: true, Speed: benchSpeed})
		netID, lbIP := apiLoadBalancer(b, env)
		run := func(dir string, args ...string) time.Duration {
			b.Helper()
			cmd := exec.Command(tf, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), filepath.Base(dir), err, out)
			}
			return time.Since(start)
		}

		boot := simulatedBoot(b, env, netID)

		ha := b.TempDir()
		writeHCL(b, ha, haHCL("ha", 3, 3, netID, lbIP))
		haWall := run(ha, "apply", "-auto-approve", "-input=false", "-no-color")

		env.ResetRequests()
		run(ha, "plan", "-detailed-exitcode", "-input=false", "-no-color") // exit 2 (changes) fails here
		var requests int64
		for endpoint, n := range env.Requests() {
			if strings.Contains(endpoint, "/v1/") {
				requests += n
			}
		}
		const resources = 7 // cluster (no hcloud calls) + 3 servers + 3 agents
		run(ha, "destroy", "-auto-approve", "-input=false", "-no-color")
		if err := env.CheckNoLeaksExcept("networks", "load_balancers"); err != nil {
			b.Error(err)
		}

		b.ReportMetric(boot.Seconds(), "boot_s")
		b.ReportMetric(haWall.Seconds(), "ha_apply_s")
		b.ReportMetric(haWall.Seconds()/boot.Seconds(), "ha/boot")
		b.ReportMetric(float64(requests)/resources, "plan_req/resource")
		b.Logf("simulated boot of one server %s; terraform apply of 3 servers + 3 agents %s (%.2f× boot); plan: %d hcloud requests for %d resources",
			boot.Round(time.Millisecond), haWall.Round(time.Millisecond), haWall.Seconds()/boot.Seconds(), requests, resources)
		if haWall > boot*13/10 {
			b.Errorf("3+3 apply took %s, more than 1.3 × the %s boot: creates are not running in parallel", haWall, boot)
		}
		if requests > resources {
			b.Errorf("plan made %d hcloud requests for %d resources (target ≤ 1 per resource)", requests, resources)
		}
	}
}

// simulatedBoot creates one server in the network through the API and
// times it until running (create and start actions done), then deletes it.
func simulatedBoot(b *testing.B, env *acctest.Env, networkID int64) time.Duration {
	b.Helper()
	ctx := context.Background()
	c := hc(env)
	start := time.Now()
	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "boot-probe", ServerType: &hcloud.ServerType{Name: "cx22"},
		Image: &hcloud.Image{Name: "ubuntu-24.04"}, Location: &hcloud.Location{Name: "fsn1"},
		Networks: []*hcloud.Network{{ID: networkID}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
		b.Fatal(err)
	}
	boot := time.Since(start)
	del, _, err := c.Server.DeleteWithResult(ctx, res.Server)
	if err == nil {
		err = c.Action.WaitFor(ctx, del.Action)
	}
	if err != nil {
		b.Fatal(err)
	}
	return boot
}

// devOverrides builds the provider from this tree and writes a CLI config
// whose dev_overrides use it (no terraform init needed).
func devOverrides(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-platform"),
		"github.com/sre-platform/platform/provider").CombinedOutput()
	if err != nil {
		b.Fatalf("building the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "terraformrc")
	cfg := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"sre-platform/platform\" = %q\n  }\n  direct {}\n}\n", dir)
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return rc
}

// apiLoadBalancer creates what the hcloud-k3s-cluster module makes with the
// official provider around the nodes: a network with a subnet and a load
// balancer on TCP 6443 targeting the control-plane label over private IPs.
func apiLoadBalancer(b *testing.B, env *acctest.Env) (networkID int64, lbIP string) {
	b.Helper()
	ctx := context.Background()
	c := hc(env)
	_, subnet, _ := net.ParseCIDR("10.0.1.0/24")
	_, rng, _ := net.ParseCIDR("10.0.0.0/16")
	nw, _, err := c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "bench", IPRange: rng,
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: subnet}}})
	if err != nil {
		b.Fatal(err)
	}
	res, _, err := c.LoadBalancer.Create(ctx, hcloud.LoadBalancerCreateOpts{Name: "bench-api",
		LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb11"}, Location: &hcloud.Location{Name: "fsn1"}, Network: nw,
		Services: []hcloud.LoadBalancerCreateOptsService{{Protocol: hcloud.LoadBalancerServiceProtocolTCP,
			ListenPort: hcloud.Ptr(6443), DestinationPort: hcloud.Ptr(6443)}},
		Targets: []hcloud.LoadBalancerCreateOptsTarget{{Type: hcloud.LoadBalancerTargetTypeLabelSelector,
			LabelSelector: hcloud.LoadBalancerCreateOptsTargetLabelSelector{Selector: "role=control-plane"}, UsePrivateIP: hcloud.Ptr(true)}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, res.Action); err != nil {
		b.Fatal(err)
	}
	return nw.ID, res.LoadBalancer.PublicNet.IPv4.IP.String()
}

// haHCL is a cluster whose every node can be created at once: joining
// servers, agents and the exported kubeconfig name the load balancer, whose
// address is known before any server exists; servers join the network with
// the address Hetzner picks (one create action each, no attach/power-on).
func haHCL(name string, servers, agents int, networkID int64, lbIP string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    platform = { source = "sre-platform/platform" }
  }
}

provider "platform" {
  poll_interval = "500ms"
}

locals {
  name = %[1]q
  lb   = %[5]q
}

resource "platform_k3s_cluster" "c" {
  name         = local.name
  k3s_version  = %[6]q
  api_endpoint = local.lb
}

resource "platform_k3s_server" "cp" {
  count          = %[2]d
  name           = "${local.name}-cp-${count.index + 1}"
  server_type    = "cx22"
  location       = "fsn1"
  k3s_version    = platform_k3s_cluster.c.k3s_version
  cluster_bundle = platform_k3s_cluster.c.server_bundle
  cluster_init   = count.index == 0 ? true : null
  server_url     = count.index == 0 ? null : "https://${local.lb}:6443"
  network_id     = %[4]d
  tls_san        = [local.lb]
  labels         = { role = "control-plane" }
  timeouts       = { create = "5m" }
}

resource "platform_k3s_agent" "pool" {
  count       = %[3]d
  name        = "${local.name}-pool-${count.index + 1}"
  server_type = "cx32"
  location    = "fsn1"
  k3s_version = platform_k3s_cluster.c.k3s_version
  token       = platform_k3s_cluster.c.token
  server_url  = "https://${local.lb}:6443"
  kubeconfig  = platform_k3s_cluster.c.kubeconfig
  network_id  = %[4]d
  labels      = { role = "agent" }
  timeouts    = { create = "5m" }
}
`, name, servers, agents, networkID, lbIP, k3sVersion)
}

func writeHCL(b *testing.B, dir, hcl string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(hcl), 0o600); err != nil {
		b.Fatal(err)
	}
}
