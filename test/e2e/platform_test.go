package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sre-platform/platform/test/sandbox"
	"github.com/sre-platform/platform/test/testenv"
)

// TestSandboxPlatform is the delivery path end to end on the sandbox's real
// nodes, as `go tool task up` runs it: this checkout's working tree is
// published to the sandbox's Git server, environments/sandbox is applied
// (the FluxInstance waits for Ready with the Flux images built here), Flux
// delivers flux/clusters/sandbox at the published commit, the frontend
// answers through the emulated load balancer and its /api/ reaches the
// backend through nginx in the cluster; a commit that changes a config value
// of the backend is reconciled and observed through the same URL; destroy
// leaves no emulator resource and no control plane.
func TestSandboxPlatform(t *testing.T) {
	bins, manifest, registry := platformPrerequisites(t)
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Minute)
	defer cancel()
	p := startPlatform(t, ctx, bins, manifest, registry, "plat")
	svc, gitDir, repo, pub, opts := p.svc, p.gitDir, p.repo, p.pub, p.opts
	destroyed := false
	defer func() {
		if !destroyed {
			terraform.DestroyContext(t, context.Background(), opts)
		}
	}()
	// Each step is a subtest (a leaf of the summary); a failed step ends the
	// run, and the deferred destroy still cleans up.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	var (
		kc      kubernetes.Interface
		dyn     dynamic.Interface
		appURL  string
		info    func() (map[string]any, error)
		deliver func(t *testing.T, commit string)
	)
	step("apply, Flux delivers the published commit, the app answers", func(t *testing.T) {
		start := time.Now()
		terraform.InitAndApplyContext(t, ctx, opts)
		t.Logf("apply (FluxInstance Ready): %s", time.Since(start).Round(time.Second))
		kc, dyn, _ = clients(t, sensitiveOutput(t, opts, "kubeconfig"))
		deliver = func(t *testing.T, commit string) {
			t.Helper()
			start := time.Now()
			d, err := sandbox.WaitDelivered(ctx, kc, dyn, commit, func(msg string) { t.Logf("  %s", msg) })
			var b strings.Builder
			d.Write(&b)
			if err != nil {
				t.Fatalf("delivering %.12s: %v\n%s", commit, err, b.String())
			}
			t.Logf("%.12s delivered in %s:\n%s", commit, time.Since(start).Round(100*time.Millisecond), b.String())
		}
		deliver(t, pub.Commit)

		appURL = terraform.OutputContext(t, ctx, opts, "app_url")
		if !strings.HasPrefix(appURL, "http://127.") {
			t.Fatalf("app_url %q, want the load balancer's loopback IPv4", appURL)
		}
		var page []byte
		eventually(t, time.Minute, "the SPA through the load balancer", func() (err error) {
			page, err = sandbox.GetApp(ctx, appURL)
			return err
		})
		if !strings.Contains(string(page), "<!doctype html>") || !strings.Contains(string(page), "<script") {
			t.Errorf("GET %s is not the SPA:\n%.300s", appURL, page)
		}
		info = func() (map[string]any, error) {
			b, err := sandbox.GetApp(ctx, appURL+"api/info")
			if err != nil {
				return nil, err
			}
			var m map[string]any
			return m, json.Unmarshal(b, &m)
		}
		eventually(t, time.Minute, "the develop backend's /api/info through nginx", func() error {
			m, err := info()
			if err == nil && (m["name"] != "backend" || m["environment"] != "develop" || m["message"] != "Hello from develop") {
				return &mismatch{got: m}
			}
			return err
		})
	})

	// kustomize-controller decrypted the published Secret with the key
	// Terraform handed over; Git holds only its ciphertext.
	step("the SOPS-encrypted Secret is decrypted in the cluster", func(t *testing.T) {
		sec, err := kc.CoreV1().Secrets("flux-system").Get(ctx, sandbox.SOPSCheckSecret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		token := string(sec.Data["token"])
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
			t.Fatalf("Secret flux-system/%s token is not the generated value (%d bytes)", sandbox.SOPSCheckSecret, len(token))
		}
		out, err := exec.CommandContext(ctx, "git", "-C", repo, "show", "sandbox:"+sandbox.SOPSDir+"/"+sandbox.SOPSCheckSecret+".yaml").Output()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), token) || !strings.Contains(string(out), "ENC[AES256_GCM,") {
			t.Errorf("the published Secret is not encrypted:\n%s", out)
		}
		if _, err := kc.CoreV1().Secrets("flux-system").Get(ctx, "sops-age", metav1.GetOptions{}); err != nil {
			t.Errorf("flux-system/sops-age: %v", err)
		}
	})

	// The browser tests for a deployed cluster, in Chromium against the load
	// balancer (screenshot: apps/frontend/test-results/screenshots/cluster-overview.png).
	t.Run("browser", func(t *testing.T) {
		browserTests(t, ctx, appURL, "E2E_ENVIRONMENT=develop", "E2E_UI_MESSAGE=Hello from develop")
	})

	// A change pushed to the branch Flux syncs: the backend's UI message.
	step("a pushed change is reconciled and seen through the load balancer", func(t *testing.T) {
		work := filepath.Join(t.TempDir(), "clone")
		git := func(dir string, args ...string) {
			t.Helper()
			cmd := exec.CommandContext(ctx, "git", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@localhost",
				"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@localhost")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		git(gitDir, "clone", "--quiet", "--branch", "sandbox", repo, work)
		overlay := filepath.Join(work, "flux", "apps", "backend", "develop", "kustomization.yaml")
		b, err := os.ReadFile(overlay)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(b), "UI_MESSAGE=Hello from develop", "UI_MESSAGE=Hello from the e2e commit", 1)
		if edited == string(b) {
			t.Fatalf("%s has no UI_MESSAGE=Hello from develop", overlay)
		}
		if err := os.WriteFile(overlay, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		git(work, "commit", "--quiet", "-am", "e2e: change the backend's UI message")
		git(work, "push", "--quiet", "origin", "HEAD:sandbox")
		out, err := exec.CommandContext(ctx, "git", "-C", work, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, strings.TrimSpace(string(out)))
		eventually(t, time.Minute, "the new message through the load balancer", func() error {
			m, err := info()
			if err == nil && m["message"] != "Hello from the e2e commit" {
				return &mismatch{got: m["message"]}
			}
			return err
		})
	})

	step("destroy leaves no emulator resource, control plane or node namespace", func(t *testing.T) {
		netns := svc.hostNetns(t)
		if len(netns) == 0 {
			t.Errorf("the sandbox recorded no network namespace of its real nodes (%s)", svc.state)
		}
		terraform.DestroyContext(t, ctx, opts)
		destroyed = true
		if left := svc.leftovers(t); len(left) > 0 {
			t.Errorf("after destroy the emulator still has %s", strings.Join(left, ", "))
		}
		eventually(t, time.Minute, "no control plane after destroy", func() error {
			if c := svc.clusters(t); len(c) > 0 {
				return &mismatch{got: c}
			}
			return nil
		})
		// Every node's network namespace went with its server.
		eventually(t, time.Minute, "the nodes' network namespaces removed", func() error {
			out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
			if err != nil {
				return err
			}
			var left []string
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) > 0 && slices.Contains(netns, f[0]) {
					left = append(left, f[0])
				}
			}
			if len(left) > 0 {
				return &mismatch{got: left}
			}
			return nil
		})
	})
}

// platformPrerequisites gates a real-node platform run (PLATFORM_E2E_PLATFORM=1,
// root, the image registry) and returns the kube binaries, the Flux Operator
// manifest and the registry.
func platformPrerequisites(tb testing.TB) (bins, manifest, registry string) {
	tb.Helper()
	gate(tb, "PLATFORM_E2E_PLATFORM", "starts a real-node sandbox and has Flux deliver this checkout; runs as root with the images built, PLATFORM_E2E_PLATFORM=1 (test/plan/e2e.yaml, go tool task bench)")
	testenv.Require(tb, os.Getuid() == 0, "root (real nodes: network namespaces, cgroups, containerd)", "run the e2e tier as root")
	registry = filepath.Join(testenv.CacheDir(), "registry")
	_, err := os.Stat(registry)
	testenv.Require(tb, err == nil, "the image registry "+registry, "go tool task images:build images:flux")
	bins, manifest = sandboxPrerequisites(tb)
	return bins, manifest, registry
}

// platform is what `up` makes before it applies: a real-node sandbox of its
// own, its SOPS key and encrypted Secret, this checkout's working tree
// published with them to its Git server; and the Terratest options of
// environments/sandbox against it (cluster <prefix>-…, one agent).
type platform struct {
	svc          *sandboxService
	gitDir, repo string
	pub          sandbox.Published
	sops         sandbox.SOPS
	opts         *terraform.Options
}

func startPlatform(tb testing.TB, ctx context.Context, bins, manifest, registry, prefix string) *platform {
	tb.Helper()
	p := &platform{gitDir: tb.TempDir()}
	p.svc = startSandbox(tb, bins, "--nodes", "real", "--registry-dir", registry, "--git-dir", p.gitDir)
	// sops-tool where `up` keeps it: relinked only when its sources changed.
	tool, err := sandbox.BuildSOPSTool(ctx, testenv.RepoRoot(), filepath.Join(testenv.CacheDir(), "bin"))
	if err != nil {
		tb.Fatal(err)
	}
	if p.sops, err = sandbox.PrepareSOPS(ctx, tool, tb.TempDir()); err != nil {
		tb.Fatal(err)
	}
	p.repo = filepath.Join(p.gitDir, "platform.git")
	if p.pub, err = sandbox.Publish(ctx, testenv.RepoRoot(), p.repo, "sandbox", p.sops.Files...); err != nil {
		tb.Fatal(err)
	}
	p.opts = rootOptions(tb, "sandbox", map[string]any{
		"hcloud_endpoint":        p.svc.api,
		"cluster_name":           uniqueName(prefix),
		"agent_count":            1,
		"operator_manifest_path": manifest,
	}, map[string]string{"hcloud_token": p.svc.token, "sops_age_key": p.sops.Identity})
	return p
}

// clustersState is the state directory of the sandbox's clusters (the
// sandbox command's --state-dir/clusters, sandbox.Config.StateDir).
func (s *sandboxService) clustersState() string { return filepath.Join(s.state, "clusters") }

// hostNetns: the network namespaces the sandbox's real nodes recorded in its
// host state (what teardown removes).
func (s *sandboxService) hostNetns(t testing.TB) []string {
	t.Helper()
	rec, err := sandbox.RecordedHost(s.clustersState())
	if err != nil {
		t.Fatal(err)
	}
	return rec.Netns
}

type mismatch struct{ got any }

func (m *mismatch) Error() string {
	b, _ := json.Marshal(m.got)
	return "still " + string(b)
}
