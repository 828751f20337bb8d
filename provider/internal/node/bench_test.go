package node_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sre-platform/platform/provider/internal/acctest"
	"github.com/sre-platform/platform/provider/internal/kube"
	"github.com/sre-platform/platform/test/testenv"
)

// BenchmarkHAApply applies a cluster of 3 servers + 3 agents behind an API
// load balancer with the real terraform CLI and the provider built from this
// tree, against the emulator and the k3s sandbox (every node boots from the
// k3s cloud-init the provider renders). It reports the provider's overhead in
// seconds: the apply's wall time minus the slowest node's own boot, where a
// node's own boot runs from the moment its create request reaches the
// emulator until its Node is Ready in the cluster. Whatever the provider adds
// around the boots (waiting in sequence, slow polling, work before the first
// create or after the last Ready) is overhead; the boots themselves are the
// emulator's timers and the sandbox's k3s start. It runs at the sandbox's
// default speed (10: `go tool task up`) and at Hetzner's real action times
// (speed 1), and also reports the hcloud requests a `terraform plan` (refresh)
// makes per resource. Targets: overhead ≤ 5 s, ≤ 1 request per resource.
func BenchmarkHAApply(b *testing.B) {
	for _, speed := range []float64{10, 1} {
		b.Run(fmt.Sprintf("speed=%g", speed), func(b *testing.B) { benchHAApply(b, speed) })
	}
}

const (
	haServers, haAgents = 3, 3
	overheadTarget      = 5 * time.Second
)

func benchHAApply(b *testing.B, speed float64) {
	tf, ok := testenv.LookPath("terraform")
	testenv.Require(b, ok, "terraform CLI", "go tool task tf:check")
	rc := devOverrides(b)
	for b.Loop() {
		env := acctest.Start(b, acctest.Options{K3s: true, Speed: speed})
		netID, lbIP := apiLoadBalancer(b, env)
		run := func(dir string, args ...string) (time.Duration, []byte) {
			b.Helper()
			cmd := exec.Command(tf, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
			start := time.Now()
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					stderr = ee.Stderr
				}
				b.Fatalf("terraform %s in %s: %v\n%s%s", strings.Join(args, " "), filepath.Base(dir), err, out, stderr)
			}
			return time.Since(start), out
		}

		ha := b.TempDir()
		writeHCL(b, ha, haHCL("ha", haServers, haAgents, netID, lbIP))
		// The cluster resource first (PKI and kubeconfig, no hcloud call), so
		// the Nodes can be watched from the first moment; its time counts in
		// the wall like everything else the provider does.
		clusterWall, _ := run(ha, "apply", "-auto-approve", "-input=false", "-no-color", "-target=platform_k3s_cluster.c")
		_, kc := run(ha, "output", "-raw", "kubeconfig")
		ctx, stop := context.WithCancel(context.Background())
		ready := watchReady(ctx, b, string(kc))
		nodesWall, _ := run(ha, "apply", "-auto-approve", "-input=false", "-no-color")
		stop()
		wall := clusterWall + nodesWall

		readyAt := ready()
		creates := env.ServerCreates()
		var slowest time.Duration
		var slowestName string
		for name, created := range creates {
			r, ok := readyAt[strings.ToLower(name)]
			if !ok {
				b.Fatalf("node %s never seen Ready during the apply (seen: %d of %d)", name, len(readyAt), len(creates))
			}
			if boot := r.Sub(created); boot > slowest {
				slowest, slowestName = boot, name
			}
		}
		if len(creates) != haServers+haAgents {
			b.Fatalf("%d servers created, want %d", len(creates), haServers+haAgents)
		}
		overhead := wall - slowest

		env.ResetRequests()
		run(ha, "plan", "-detailed-exitcode", "-input=false", "-no-color") // exit 2 (changes) fails here
		var requests int64
		for endpoint, n := range env.Requests() {
			if strings.Contains(endpoint, "/v1/") {
				requests += n
			}
		}
		const resources = 1 + haServers + haAgents // the cluster (no hcloud calls) + every node
		run(ha, "destroy", "-auto-approve", "-input=false", "-no-color")
		if err := env.CheckNoLeaksExcept("networks", "load_balancers"); err != nil {
			b.Error(err)
		}

		b.ReportMetric(wall.Seconds(), "apply_s")
		b.ReportMetric(slowest.Seconds(), "slowest_boot_s")
		b.ReportMetric(overhead.Seconds(), "overhead_s")
		b.ReportMetric(float64(requests)/resources, "plan_req/resource")
		b.Logf("speed %g: terraform apply of %d servers + %d agents %s; slowest own boot %s (%s, create request → Node Ready); provider overhead %s; plan: %d hcloud requests for %d resources",
			speed, haServers, haAgents, wall.Round(time.Millisecond), slowest.Round(time.Millisecond), slowestName,
			overhead.Round(time.Millisecond), requests, resources)
		if overhead > overheadTarget {
			b.Errorf("provider overhead %s over the slowest boot (%s of %s wall), more than %s", overhead.Round(time.Millisecond),
				slowest.Round(time.Millisecond), wall.Round(time.Millisecond), overheadTarget)
		}
		if requests > resources {
			b.Errorf("plan made %d hcloud requests for %d resources (target ≤ 1 per resource)", requests, resources)
		}
	}
}

// watchReady polls the cluster's Nodes every 100 ms through kubeconfig until
// ctx ends (the API answers only once the first server has booted) and
// returns a function giving the first moment each Node was seen Ready.
func watchReady(ctx context.Context, b *testing.B, kubeconfig string) func() map[string]time.Time {
	b.Helper()
	c, err := kube.FromKubeconfig(kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		poll := func() {
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			l, err := c.CoreV1().Nodes().List(rctx, metav1.ListOptions{})
			cancel()
			now := time.Now()
			if err != nil {
				return // the API is not up yet
			}
			for i := range l.Items {
				if _, ok := seen[l.Items[i].Name]; !ok && kube.NodeReady(&l.Items[i]) {
					seen[l.Items[i].Name] = now
				}
			}
		}
		for {
			poll()
			select {
			case <-ctx.Done():
				poll() // a Node that turned Ready since the last poll
				return
			case <-t.C:
			}
		}
	}()
	return func() map[string]time.Time { <-done; return seen }
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

output "kubeconfig" {
  value     = platform_k3s_cluster.c.kubeconfig
  sensitive = true
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
