package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/terraform"

	"github.com/sre-platform/platform/test/sandbox"
)

// BenchmarkSandboxPlatform measures the steps `go tool task up` takes on
// real nodes, with binaries and images built, each run from nothing running:
//
//   - up-to-app-s: sandbox started, its age key and encrypted Secret made,
//     this checkout published to its Git server, terraform init + apply of environments/sandbox (FluxInstance
//     Ready), Flux delivering the published commit, and the backend's
//     /api/info answering through the load balancer. Target ≤ 90 s.
//   - edit-to-served-s: `up` again after an edit: a changed UI_MESSAGE in a
//     checkout of the published tree is published, terraform apply runs
//     (no changes), a reconcile is requested and Flux delivers it, until
//     /api/info answers the new message through the load balancer.
//     Target ≤ 15 s.
//   - rss-MiB, pss-MiB: the peak of 10 samples, 1 s apart, of everything
//     the running platform takes on the host (sandbox.HostMemory: the
//     sandbox with its kube-apiserver and etcd, and every process of its
//     two real nodes: containerd, shims, kubelet, kube-proxy, the Flux
//     controllers, CoreDNS, backend and frontend). RSS counts shared pages
//     once per process, PSS divides them.
//
// Runs with PLATFORM_E2E_PLATFORM=1 as root (`go tool task bench`).
func BenchmarkSandboxPlatform(b *testing.B) {
	bins, manifest, registry := platformPrerequisites(b)
	var up, edit time.Duration
	var mem sandbox.NodeMemory
	for b.Loop() {
		up, edit, mem = platformRun(b, bins, registry, manifest)
	}
	b.ReportMetric(up.Seconds(), "up-to-app-s")
	b.ReportMetric(edit.Seconds(), "edit-to-served-s")
	b.ReportMetric(float64(mem.RSS)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(mem.PSS)/(1<<20), "pss-MiB")
	b.Logf("up to app answering %s, edit to served %s; platform memory %d processes, RSS %d MiB, PSS %d MiB, anonymous %d MiB",
		up.Round(100*time.Millisecond), edit.Round(100*time.Millisecond), mem.Processes, mem.RSS>>20, mem.PSS>>20, mem.Anon>>20)
	// One line (a benchmark's log is cut after a few lines): RSS/PSS MiB
	// per process name, largest first.
	names := slices.SortedFunc(maps.Keys(mem.ByCommand), func(a, b string) int {
		return cmp.Compare(mem.ByCommand[b].RSS, mem.ByCommand[a].RSS)
	})
	var parts []string
	for _, name := range names {
		c := mem.ByCommand[name]
		parts = append(parts, fmt.Sprintf("%s x%d %d/%d", name, c.Count, c.RSS>>20, c.PSS>>20))
	}
	b.Logf("by process (RSS/PSS MiB): %s", strings.Join(parts, ", "))
	if up > 90*time.Second {
		b.Errorf("up to app answering took %s, target ≤ 90s", up.Round(time.Second))
	}
	if edit > 15*time.Second {
		b.Errorf("edit to served took %s, target ≤ 15s", edit.Round(100*time.Millisecond))
	}
}

func platformRun(b *testing.B, bins, registry, manifest string) (up, edit time.Duration, peak sandbox.NodeMemory) {
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	// One log line for all phases (a benchmark's log is cut after a few lines).
	var phases []string
	defer func() { b.Logf("phases: %s", strings.Join(phases, ", ")) }()
	phase := func(what string) { phases = append(phases, fmt.Sprintf("%.1fs %s", time.Since(start).Seconds(), what)) }
	p := startPlatform(b, ctx, bins, manifest, registry, "bench")
	svc, repo, pub, sops, opts := p.svc, p.repo, p.pub, p.sops, p.opts
	phase("sandbox started, checkout published")
	opts.Logger = logger.Discard
	defer terraform.DestroyContext(b, context.Background(), opts)
	terraform.InitAndApplyContext(b, ctx, opts)
	phase("applied (FluxInstance Ready)")
	kc, dyn, _ := clients(b, sensitiveOutput(b, opts, "kubeconfig"))
	appURL := terraform.OutputContext(b, ctx, opts, "app_url")
	served := func(commit, message string) {
		b.Helper()
		if _, err := sandbox.WaitDelivered(ctx, kc, dyn, commit, nil); err != nil {
			b.Fatal(err)
		}
		phase("delivered")
		for {
			body, err := sandbox.GetApp(ctx, appURL+"api/info")
			var info struct{ Message string }
			if err == nil && json.Unmarshal(body, &info) == nil && info.Message == message {
				return
			}
			select {
			case <-ctx.Done():
				b.Fatalf("/api/info never answered %q (last: %v %s)", message, err, body)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	served(pub.Commit, "Hello from develop")
	up = time.Since(start)
	phase("answering")

	for range 10 {
		m, err := sandbox.HostMemory(svc.pid, svc.clustersState())
		if err != nil {
			b.Fatal(err)
		}
		if m.RSS > peak.RSS {
			peak = m
		}
		time.Sleep(time.Second)
	}

	// The edit: a checkout of the published tree, edited, published again.
	work := filepath.Join(b.TempDir(), "checkout")
	if out, err := exec.CommandContext(ctx, "git", "clone", "--quiet", "--branch", "sandbox", repo, work).CombinedOutput(); err != nil {
		b.Fatalf("git clone: %v\n%s", err, out)
	}
	overlay := filepath.Join(work, "flux", "apps", "backend", "develop", "kustomization.yaml")
	text, err := os.ReadFile(overlay)
	if err != nil {
		b.Fatal(err)
	}
	edited := strings.Replace(string(text), "UI_MESSAGE=Hello from develop", "UI_MESSAGE=Hello from the benchmark", 1)
	if edited == string(text) {
		b.Fatalf("%s has no UI_MESSAGE=Hello from develop", overlay)
	}
	start = time.Now()
	if err := os.WriteFile(overlay, []byte(edited), 0o644); err != nil {
		b.Fatal(err)
	}
	pub, err = sandbox.Publish(ctx, work, repo, "sandbox", sops.Files...)
	if err != nil {
		b.Fatal(err)
	}
	phase("edit: published")
	terraform.ApplyContext(b, ctx, opts)
	phase("edit: applied")
	served(pub.Commit, "Hello from the benchmark")
	edit = time.Since(start)
	phase("edit: new message answering")
	return up, edit, peak
}
