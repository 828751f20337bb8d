package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sre-platform/platform/test/fluxoperator"
	"github.com/sre-platform/platform/test/sandbox"
	"github.com/sre-platform/platform/test/testenv"
)

// TestSandbox is the sandbox suite: environments/sandbox applied with
// Terratest against a sandbox service of its own (Hetzner emulator + k3s boot
// simulation, the program behind `go tool task up`), idempotent re-apply,
// the cluster seen through the kubeconfig output, the Flux Operator and
// FluxInstance in place (applied with flux_wait = false: API-only nodes
// run no pod; `go tool task up` runs real ones), an agent pool scaled up and down, and a destroy that leaves nothing
// in the emulator and no control plane running.
func TestSandbox(t *testing.T) {
	svc, manifest := sandboxSuite(t, "environments/sandbox")
	name := uniqueName("e2e")
	opts := rootOptions(t, "sandbox", map[string]any{
		"hcloud_endpoint":        svc.api,
		"cluster_name":           name,
		"agent_count":            1,
		"operator_manifest_path": manifest,
		// API-only nodes run no pod: Flux is installed, never Ready.
		"flux_wait": false,
	}, map[string]string{"hcloud_token": svc.token})
	ctx := context.Background()

	destroyed := false
	defer func() {
		if !destroyed {
			terraform.DestroyContext(t, context.Background(), opts)
		}
	}()

	start := time.Now()
	terraform.InitAndApplyAndIdempotentContext(t, t.Context(), opts)
	t.Logf("apply + idempotent plan: %s", time.Since(start).Round(time.Millisecond))

	kubeconfig := sensitiveOutput(t, opts, "kubeconfig")
	kc, dc, _ := clients(t, kubeconfig)
	// The cloud controllers' Secret, as on Hetzner (nothing reads it here).
	checkCloudSecret(t, ctx, kc, svc.token, terraform.OutputContext(t, t.Context(), opts, "network_id"))
	cp, worker1, worker2 := name+"-cp-1", name+"-workers-1", name+"-workers-2"
	if got := terraform.OutputListContext(t, t.Context(), opts, "node_names"); !slices.Equal(got, []string{cp, worker1}) {
		t.Errorf("node_names output %v, want [%s %s]", got, cp, worker1)
	}
	if ep := terraform.OutputContext(t, t.Context(), opts, "api_endpoint"); !strings.HasPrefix(ep, "https://127.") || !strings.HasSuffix(ep, ":6443") {
		t.Errorf("api_endpoint %q, want https://<sandbox loopback IP>:6443", ep)
	}

	// Nodes: Ready, with their roles and pool labels.
	var nodes map[string]struct{ labels map[string]string }
	eventually(t, 2*time.Minute, "1 server + 1 agent Ready", func() error {
		got, err := readyNodes(ctx, kc, []string{cp, worker1})
		if err != nil {
			return err
		}
		nodes = map[string]struct{ labels map[string]string }{}
		for n, v := range got {
			nodes[n] = struct{ labels map[string]string }{v.Labels}
		}
		return nil
	})
	if l := nodes[cp].labels; l["node-role.kubernetes.io/control-plane"] != "true" {
		t.Errorf("%s labels %v: no control-plane role", cp, l)
	}
	if l := nodes[worker1].labels; l["platform.sre/pool"] != "workers" || l["node-role.kubernetes.io/control-plane"] != "" {
		t.Errorf("%s labels %v: want pool workers, no control-plane role", worker1, l)
	}

	// Flux Operator objects and the FluxInstance with the spec the root sets.
	if _, err := kc.AppsV1().Deployments("flux-system").Get(ctx, "flux-operator", metav1.GetOptions{}); err != nil {
		t.Errorf("flux-operator Deployment: %v", err)
	}
	fi, err := fluxInstance(ctx, dc)
	if err != nil {
		t.Fatalf("FluxInstance flux-system/flux: %v", err)
	}
	for path, want := range map[string]string{
		"spec.sync.path":             "flux/clusters/sandbox",
		"spec.sync.kind":             "GitRepository",
		"spec.sync.url":              "http://" + sandbox.NodeGitIP + "/platform.git",
		"spec.sync.ref":              "refs/heads/sandbox",
		"spec.cluster.size":          "small",
		"spec.distribution.registry": "ghcr.io/sre-platform/fluxcd",
	} {
		got, _, _ := unstructured.NestedString(fi.Object, strings.Split(path, ".")...)
		if got != want {
			t.Errorf("FluxInstance %s = %q, want %q", path, got, want)
		}
	}
	if v, _, _ := unstructured.NestedString(fi.Object, "spec", "distribution", "version"); v == "" {
		t.Error("FluxInstance spec.distribution.version is empty")
	}
	// Only the controllers whose images can be built here.
	if comps, _, _ := unstructured.NestedStringSlice(fi.Object, "spec", "components"); !slices.Equal(comps, []string{"source-controller", "kustomize-controller", "helm-controller"}) {
		t.Errorf("FluxInstance components %v, want source-, kustomize- and helm-controller", comps)
	}

	// Scale the pool up: a new Ready node. Then down: that node is drained
	// and gone, its server deleted.
	opts.Vars["agent_count"] = 2
	terraform.ApplyContext(t, t.Context(), opts)
	eventually(t, 2*time.Minute, "pool scaled to 2", func() error {
		_, err := readyNodes(ctx, kc, []string{cp, worker1, worker2})
		return err
	})
	opts.Vars["agent_count"] = 1
	terraform.ApplyContext(t, t.Context(), opts)
	if _, err := kc.CoreV1().Nodes().Get(ctx, worker2, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s after scaling down: want NotFound, got %v", worker2, err)
	}
	if _, err := readyNodes(ctx, kc, []string{cp, worker1}); err != nil {
		t.Errorf("after scaling down: %v", err)
	}
	if n := len(svc.servers(t)); n != 2 {
		t.Errorf("%d servers in the emulator after scaling down, want 2", n)
	}

	// Destroy: nothing left in the emulator, no control plane running.
	start = time.Now()
	terraform.DestroyContext(t, context.Background(), opts)
	destroyed = true
	t.Logf("destroy: %s", time.Since(start).Round(time.Millisecond))
	if left := svc.leftovers(t); len(left) > 0 {
		t.Errorf("left in the emulator after destroy: %s", strings.Join(left, ", "))
	}
	eventually(t, 30*time.Second, "no control plane left", func() error {
		if c := svc.clusters(t); len(c) > 0 {
			return fmt.Errorf("clusters still running: %s", c)
		}
		return nil
	})
}

// sandboxSuite gates a sandbox test, checks its prerequisites (kube
// binaries, the Flux Operator manifest) and starts its sandbox service.
func sandboxSuite(t *testing.T, applies string) (svc *sandboxService, operatorManifest string) {
	t.Helper()
	gate(t, "PLATFORM_E2E_SANDBOX", "starts a sandbox service and applies "+applies+" to it; runs with PLATFORM_E2E_SANDBOX=1 (test/plan/e2e.yaml)")
	bins, manifest := sandboxPrerequisites(t)
	return startSandbox(t, bins), manifest
}

// sandboxPrerequisites: the kube binaries and the Flux Operator manifest.
func sandboxPrerequisites(t testing.TB) (bins, operatorManifest string) {
	t.Helper()
	bins, err := sandbox.FindKubeBinaries("")
	testenv.Require(t, err == nil, "kube-apiserver and etcd (.cache/kube/"+sandbox.KubeVersion+")", "go tool task kube:build")
	manifest, err := fluxoperator.Ensure(testenv.CacheDir(), fluxoperator.DefaultVersion)
	testenv.Require(t, err == nil, fmt.Sprintf("the Flux Operator manifest (%v)", err), "go run ./test/cmd/flux-operator-manifest")
	return bins, manifest
}

// sandboxService is the sandbox program (test/sandbox/cmd/sandbox) running
// for one test on free ports, its own IPv4 pool and state.
type sandboxService struct {
	api, admin, token string
	state             string // its --state-dir
	pid               int
	hc                *hcloud.Client
}

func startSandbox(t testing.TB, bins string, args ...string) *sandboxService {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sandbox")
	build := exec.Command("go", "build", "-o", bin, "./test/sandbox/cmd/sandbox")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the sandbox: %v\n%s", err, out)
	}
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	n, _ := rand.Int(rand.Reader, big.NewInt(200*250))
	pool := fmt.Sprintf("127.%d.%d.0/24", 20+n.Int64()/250, n.Int64()%250)
	state := filepath.Join(dir, "state")
	logf, err := os.Create(filepath.Join(dir, "sandbox.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--state-dir", state, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--speed", "20", "--ipv4-pool", pool, "--kube-bin-dir", bins, "--token", "e2e:" + token,
		"--heartbeat", "2s", "--node-grace", "10s", "--lb-sync", "500ms"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("sandbox log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	var ep struct{ API, Admin string }
	eventually(t, 30*time.Second, "sandbox service endpoints", func() error {
		b, err := os.ReadFile(filepath.Join(state, "endpoints.json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &ep)
	})
	s := &sandboxService{api: ep.API, admin: ep.Admin, token: token, state: state, pid: cmd.Process.Pid}
	s.hc = hcloud.NewClient(hcloud.WithEndpoint(s.api), hcloud.WithToken(token))
	return s
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (s *sandboxService) servers(t testing.TB) []*hcloud.Server {
	t.Helper()
	l, err := s.hc.Server.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// leftovers lists every kind of resource the environment creates that still
// exists in the project.
func (s *sandboxService) leftovers(t testing.TB) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	count := func(kind string, n int, err error) {
		if err != nil {
			t.Fatalf("listing %s: %v", kind, err)
		}
		if n > 0 {
			left = append(left, fmt.Sprintf("%d %s", n, kind))
		}
	}
	servers, err := s.hc.Server.All(ctx)
	count("servers", len(servers), err)
	networks, err := s.hc.Network.All(ctx)
	count("networks", len(networks), err)
	firewalls, err := s.hc.Firewall.All(ctx)
	count("firewalls", len(firewalls), err)
	pgs, err := s.hc.PlacementGroup.All(ctx)
	count("placement groups", len(pgs), err)
	lbs, err := s.hc.LoadBalancer.All(ctx)
	count("load balancers", len(lbs), err)
	keys, err := s.hc.SSHKey.All(ctx)
	count("ssh keys", len(keys), err)
	ips, err := s.hc.PrimaryIP.All(ctx)
	count("primary IPs", len(ips), err)
	return left
}

// clusters lists the control planes the sandbox runs.
func (s *sandboxService) clusters(t testing.TB) []string {
	t.Helper()
	resp, err := http.Get(s.admin + "/sandbox/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Clusters []struct {
			ID string `json:"id"`
		} `json:"clusters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range body.Clusters {
		ids = append(ids, c.ID)
	}
	return ids
}
