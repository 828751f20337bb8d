package node

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/sre-platform/platform/provider/internal/kube"
	"github.com/sre-platform/platform/test/hcloudemu"
	"github.com/sre-platform/platform/test/sandbox"
	"github.com/sre-platform/platform/test/testenv"
)

// TestRealNodesDrain runs the node resource's delete path (drainWith, then
// the server delete, as Delete does) against a sandbox cluster of real
// kubelets (1 server + 2 agents): deleting an agent cordons it and evicts
// its pods, which come back on the other agent; with a PodDisruptionBudget
// that allows no disruption the drain is blocked until drain_timeout, the
// delete fails and the server stays.
func TestRealNodesDrain(t *testing.T) {
	if os.Getenv("PLATFORM_SANDBOX_REAL_TESTS") != "1" {
		t.Skip("SKIP: runs kubelet, containerd and kube-proxy per node as root; runs with PLATFORM_SANDBOX_REAL_TESTS=1 (test/plan/sandbox.yaml, tier 3)")
	}
	bins, err := sandbox.FindKubeBinaries("")
	testenv.Require(t, err == nil, "kube-apiserver, kubelet and friends (.cache/kube)", "go tool task kube:build")
	testenv.Require(t, os.Geteuid() == 0, "root (network namespaces, cgroups, containerd)", "run the tests as root")
	reg, err := sandbox.OpenImageRegistry("")
	testenv.Require(t, err == nil, "the image registry (.cache/registry)", "go tool task images:build")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	state := t.TempDir()
	sb, err := sandbox.New(sandbox.Config{StateDir: filepath.Join(state, "sandbox"),
		ControlPlane:      sandbox.ControlPlaneOptions{BinDir: bins, StopGrace: 5 * time.Second},
		HeartbeatInterval: time.Second, NodeGrace: 20 * time.Second, JoinRetry: 500 * time.Millisecond,
		Logf: t.Logf, Nodes: sandbox.NodesReal, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	const token = "drain-test-token-drain-test-token-drain-test-token-drain-test-00"
	emu, err := hcloudemu.New(hcloudemu.Config{StateDir: filepath.Join(state, "emulator"), Speed: 50,
		IPv4Pool: netip.MustParsePrefix(fmt.Sprintf("127.%d.%d.0/24", 100+time.Now().Nanosecond()%100, 1+os.Getpid()%250)),
		Tokens:   []hcloudemu.Token{{Project: "p", Token: token}}, Hook: sb, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { api.Close(); emu.Close() })
	hc := hcloud.NewClient(hcloud.WithEndpoint(api.URL+"/v1"), hcloud.WithToken(token),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(50 * time.Millisecond)}))
	create := func(name, userData string) *hcloud.Server {
		t.Helper()
		res, _, err := hc.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cx22"},
			Image: &hcloud.Image{Name: "ubuntu-24.04"}, Location: &hcloud.Location{Name: "fsn1"}, UserData: userData})
		if err == nil {
			err = hc.Action.WaitFor(ctx, res.Action)
		}
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return res.Server
	}

	pki, err := sandbox.GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	ud, err := sandbox.RenderCloudInit(sandbox.CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": sandbox.FullToken(pki.ServerCA.CertPEM, "drain-secret"), "cluster-init": true, "node-ip": "10.79.0.2",
		"node-taint": []string{"CriticalAddonsOnly=true:NoExecute"}}})
	if err != nil {
		t.Fatal(err)
	}
	cp := create("cp-1", ud)
	srv, _, err := hc.Server.GetByID(ctx, cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + srv.PublicNet.IPv4.IP.String() + ":6443"
	agents := map[string]*hcloud.Server{}
	for i, name := range []string{"worker-1", "worker-2"} {
		ud, _ := sandbox.RenderCloudInit(sandbox.CloudInitSpec{Hostname: name, Config: map[string]any{
			"token": "drain-secret", "server": url, "node-ip": fmt.Sprintf("10.79.0.%d", 3+i)}})
		agents[name] = create(name, ud)
	}
	cfg, err := sandbox.ClientConfig(url, pki, "admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	poll := kube.Poller{Interval: 200 * time.Millisecond, Max: time.Second}
	for _, n := range []string{"cp-1", "worker-1", "worker-2"} {
		wctx, wcancel := context.WithTimeout(ctx, 4*time.Minute)
		err := kube.WaitReady(wctx, kc, n, poll)
		wcancel()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Two backend replicas, one per agent.
	replicas := int32(2)
	labels := map[string]string{"app": "backend"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
					WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: labels}}},
				Containers: []corev1.Container{{Name: "backend", Image: "ghcr.io/sre-platform/backend:dev",
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}}}}}}
	if _, err := kc.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	placement := readyBackends(ctx, t, kc, 2)
	victim := placement[0].Spec.NodeName
	t.Logf("backend pods on %s and %s; deleting %s", placement[0].Spec.NodeName, placement[1].Spec.NodeName, victim)

	// A PodDisruptionBudget that allows no disruption: the drain waits for
	// drain_timeout, the delete fails, nothing is deleted.
	zero := intstr.FromInt32(0)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := kc.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The disruption controller must have computed the budget first (an
	// unobserved PDB refuses every eviction anyway, but for another reason).
	eventuallyNode(t, time.Minute, "PDB observed", func() error {
		p, err := kc.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "backend", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.ObservedGeneration < p.Generation || p.Status.CurrentHealthy != 2 {
			return fmt.Errorf("PDB status %+v", p.Status)
		}
		return nil
	})
	start := time.Now()
	diags := drainWith(ctx, kc, victim, "8s", poll)
	blocked := time.Since(start)
	if !diags.HasError() {
		t.Fatalf("drain with a PDB allowing no disruption succeeded: %v", diags)
	}
	msg := diags.Errors()[0].Summary() + ": " + diags.Errors()[0].Detail()
	for _, want := range []string{"Draining the node failed", "blocked by PodDisruptionBudgets", "The server is kept"} {
		if !strings.Contains(msg, want) {
			t.Errorf("drain error %q lacks %q", msg, want)
		}
	}
	if blocked < 8*time.Second || blocked > 30*time.Second {
		t.Errorf("a blocked drain returned after %s, want drain_timeout (8s)", blocked)
	}
	n, err := kc.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node %s after a failed drain: %v", victim, err)
	}
	if !n.Spec.Unschedulable {
		t.Errorf("node %s not cordoned after the drain", victim)
	}
	if s, _, err := hc.Server.GetByID(ctx, agents[victim].ID); err != nil || s == nil {
		t.Fatalf("server %s gone after a failed drain: %v", victim, err)
	}
	if pods := readyBackends(ctx, t, kc, 2); pods[0].Spec.NodeName != victim && pods[1].Spec.NodeName != victim {
		t.Errorf("a pod left %s although its PDB allows no disruption", victim)
	}

	// Without the budget the same delete goes through: the pods leave the
	// node, come back Ready on the other agent, the Node and the server go.
	if err := kc.PolicyV1().PodDisruptionBudgets("default").Delete(ctx, "backend", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if diags := drainWith(ctx, kc, victim, "2m", poll); diags.HasError() {
		t.Fatalf("drain without a PDB: %v", diags)
	}
	res, _, err := hc.Server.DeleteWithResult(ctx, agents[victim])
	if err == nil {
		err = hc.Action.WaitFor(ctx, res.Action)
	}
	if err != nil {
		t.Fatalf("deleting server %s: %v", victim, err)
	}
	for _, p := range readyBackends(ctx, t, kc, 2) {
		if p.Spec.NodeName == victim {
			t.Errorf("pod %s still on the drained node %s", p.Name, victim)
		}
	}
	if _, err := kc.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{}); err == nil {
		t.Errorf("node %s still registered after the delete", victim)
	}
}

// readyBackends waits for want Ready backend pods not being deleted and
// returns them.
func readyBackends(ctx context.Context, t *testing.T, kc kubernetes.Interface, want int) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	eventuallyNode(t, 3*time.Minute, fmt.Sprintf("%d backend pods Ready", want), func() error {
		pods, err := kc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=backend"})
		if err != nil {
			return err
		}
		ready = ready[:0]
		var seen []string
		for _, p := range pods.Items {
			seen = append(seen, p.Name+"@"+p.Spec.NodeName+" "+string(p.Status.Phase))
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready = append(ready, p)
				}
			}
		}
		if len(ready) != want {
			return fmt.Errorf("%d of %d Ready: %v", len(ready), want, seen)
		}
		return nil
	})
	return ready
}

func eventuallyNode(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}
