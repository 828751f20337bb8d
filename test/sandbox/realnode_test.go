package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/sre-platform/platform/test/hcloudemu"
	"github.com/sre-platform/platform/test/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// realNodeGate skips unless the real-node tests are asked for and fails
// (strict runner) when what they need is missing.
func realNodeGate(t testing.TB) (bins string, registry http.Handler) {
	t.Helper()
	if os.Getenv("PLATFORM_SANDBOX_REAL_TESTS") != "1" {
		t.Skip("SKIP: runs kubelet, containerd and kube-proxy per node as root; runs with PLATFORM_SANDBOX_REAL_TESTS=1 (test/plan/sandbox.yaml, tier 3)")
	}
	bins = kubeBins(t)
	testenv.Require(t, os.Geteuid() == 0, "root (network namespaces, cgroups, containerd)", "run the tests as root")
	for _, p := range []string{"/usr/bin/containerd", "/usr/sbin/runc", "/usr/lib/cni/bridge"} {
		testenv.Require(t, isExec(p), p, "go tool task deps -- nodes")
	}
	testenv.Require(t, isExec(filepath.Join(bins, "kubelet")), "kubelet and kube-proxy", "go tool task kube:build")
	reg, err := OpenImageRegistry("")
	testenv.Require(t, err == nil, "the image registry (.cache/registry)", "go tool task images:build")
	return bins, reg
}

// startRealStack starts the emulator and a real-node sandbox; they log
// through logf (default t.Logf).
func startRealStack(t testing.TB, bins string, registry http.Handler, stateDir, subnet string, logf ...func(string, ...any)) *stack {
	t.Helper()
	logf = append(logf, t.Logf)
	sb, err := New(Config{StateDir: filepath.Join(stateDir, "sandbox"), ControlPlane: ControlPlaneOptions{BinDir: bins, StopGrace: 5 * time.Second},
		HeartbeatInterval: time.Second, NodeGrace: 20 * time.Second, JoinRetry: 500 * time.Millisecond, Logf: logf[0],
		Nodes: NodesReal, Registry: registry})
	if err != nil {
		t.Fatal(err)
	}
	emu, err := hcloudemu.New(hcloudemu.Config{StateDir: filepath.Join(stateDir, "emulator"), Speed: 50,
		IPv4Pool: netip.MustParsePrefix(subnet + ".0/24"), Tokens: []hcloudemu.Token{{Project: "p", Token: testToken}},
		Hook: sb, Logf: logf[0]})
	if err != nil {
		sb.Close()
		t.Fatal(err)
	}
	s := &stack{t: t, emu: emu, sb: sb, api: httptest.NewServer(emu.Handler()), admin: httptest.NewServer(emu.AdminHandler())}
	s.hc = hcloud.NewClient(hcloud.WithEndpoint(s.api.URL+"/v1"), hcloud.WithToken(testToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(50 * time.Millisecond)}))
	t.Cleanup(s.stop)
	return s
}

// hostSnapshot is what the host shows of the sandbox's real nodes.
type hostSnapshot struct {
	netns, mounts, cgroups, iptables []string
}

func takeHostSnapshot(t *testing.T, tag string) hostSnapshot {
	t.Helper()
	var h hostSnapshot
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "sbx-"+tag) {
			h.netns = append(h.netns, f[0])
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "/sbx/"+tag) || strings.Contains(sc.Text(), "sbx-"+tag) {
				h.mounts = append(h.mounts, sc.Text())
			}
		}
		f.Close()
	}
	for _, hier := range cgroupHierarchies() {
		m, _ := filepath.Glob(filepath.Join(hier, "sbx-"+tag+"*"))
		h.cgroups = append(h.cgroups, m...)
	}
	out, _ = exec.Command("iptables-save").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "KUBE-") || strings.Contains(l, "CNI-") {
			h.iptables = append(h.iptables, l)
		}
	}
	return h
}

// TestRealNodes: a server and two agents of one cluster booted through the
// emulator run real kubelets; a Deployment's pods run on the agents, a pod
// on another node reaches them through a ClusterIP Service by DNS name... and
// a NodePort answers on a node's address; the backend and frontend images
// run with the platform's security contexts in a namespace enforcing Pod
// Security "restricted" (checkRestrictedApps); `kubectl logs` and `exec`
// reach a backend pod through the apiserver (checkLogsExec); stopping leaves
// nothing on the host.
func TestRealNodes(t *testing.T) {
	bins, registry := realNodeGate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	state := t.TempDir()
	subnet := testSubnet()
	before := takeHostSnapshot(t, "")
	s := startRealStack(t, bins, registry, state, subnet)
	tag := s.sb.sandboxTag()

	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	secret := "real-node-secret"
	serverUD, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": FullToken(pki.ServerCA.CertPEM, secret), "cluster-init": true, "node-name": "cp-1", "node-ip": "10.77.0.2",
		"node-taint": []string{"CriticalAddonsOnly=true:NoExecute"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	cp1 := s.createServer(ctx, "cp-1", serverUD)
	running := time.Now()
	url := "https://" + cp1.PublicNet.IPv4.IP.String() + ":6443"
	admin := clientFor(t, url, pki, "admin", "system:masters")
	for i, name := range []string{"worker-1", "worker-2"} {
		ud, _ := RenderCloudInit(CloudInitSpec{Hostname: name, Config: map[string]any{
			"token": secret, "server": url, "node-ip": fmt.Sprintf("10.77.0.%d", 3+i), "node-label": []string{"pool=workers"}}})
		s.createServer(ctx, name, ud)
	}
	for _, n := range []string{"cp-1", "worker-1", "worker-2"} {
		eventually(t, 4*time.Minute, n+" Ready (kubelet)", func() error {
			node, err := nodeReady(ctx, admin, n)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "containerd://1.") {
				return fmt.Errorf("runtime %q: not a real kubelet", node.Status.NodeInfo.ContainerRuntimeVersion)
			}
			return nil
		})
	}
	t.Logf("server created → 3 nodes Ready in %s (server running after %s)", time.Since(created).Round(time.Millisecond), running.Sub(created).Round(time.Millisecond))

	// The backend: 2 replicas on the agents, a ClusterIP and a NodePort.
	replicas := int32(2)
	labels := map[string]string{"app": "backend"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "backend", Image: "ghcr.io/sre-platform/backend:dev",
					Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}}}}}}
	if _, err := admin.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := admin.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	np := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "backend-np", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080}}}}
	if _, err := admin.CoreV1().Services("default").Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Minute, "backend pods Ready", func() error { return podsReady(ctx, admin, "default", "app=backend", 2) })
	t.Logf("first pods Ready %s after the server was running", time.Since(running).Round(time.Millisecond))

	// The NodePort answers on every node's address, from any node.
	for _, node := range []string{"cp-1", "worker-2"} {
		eventually(t, time.Minute, "NodePort from "+node, func() error {
			body, err := httpGetFromNode(ctx, s.sb, node, "10.77.0.3:30080", "/healthz")
			if err != nil {
				return err
			}
			if body == "" {
				return fmt.Errorf("empty answer")
			}
			return nil
		})
	}
	// A pod on the server reaches the backend on the agents by DNS name
	// (CoreDNS add-on, ClusterIP through kube-proxy, routes between nodes).
	client := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "default"}, Spec: corev1.PodSpec{
		NodeName: "cp-1", RestartPolicy: corev1.RestartPolicyOnFailure,
		Tolerations: []corev1.Toleration{{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists}},
		Containers: []corev1.Container{{Name: "probe", Image: "ghcr.io/sre-platform/backend:dev",
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			Command:                  []string{"/backend", "healthcheck", "-url", "http://backend.default.svc.cluster.local/healthz", "-timeout", "5s"}}}}}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, client, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Minute, "client pod reaches backend.default.svc.cluster.local", func() error {
		p, err := admin.CoreV1().Pods("default").Get(ctx, "client", metav1.GetOptions{})
		if err != nil {
			return err
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return nil
		case corev1.PodFailed:
			t.Fatalf("client pod failed: %s\n%s", p.Status.Message, dumpPods(ctx, admin))
		}
		return fmt.Errorf("client pod %s", p.Status.Phase)
	})
	checkRestrictedApps(ctx, t, admin, s.sb, "cp-1")
	// kubectl logs and exec reach the kubelets inside the node namespaces.
	adminCfg, err := ClientConfig(url, pki, "admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	checkLogsExec(ctx, t, adminCfg, admin, "default", "app=backend")

	for _, pr := range s.sb.Clusters() {
		t.Logf("cluster %s: apiserver %d MiB, etcd %d MiB, controller manager + scheduler %d MiB RSS", pr.ID, pr.APIServerMB, pr.EtcdMB, pr.ControllersMB)
	}
	var total NodeMemory
	for name, m := range s.sb.RealNodeMemory() {
		t.Logf("node %s: RSS %d MiB, PSS %d MiB (%d processes: containerd, shims, containers, kubelet, kube-proxy)", name, m.RSS>>20, m.PSS>>20, m.Processes)
		total.RSS += m.RSS
		total.PSS += m.PSS
	}
	t.Logf("real nodes together: RSS %d MiB, PSS %d MiB", total.RSS>>20, total.PSS>>20)

	s.stop()
	after := takeHostSnapshot(t, tag)
	if len(after.netns)+len(after.mounts)+len(after.cgroups) > 0 {
		t.Errorf("left behind: netns %v, mounts %v, cgroups %v", after.netns, after.mounts, after.cgroups)
	}
	if len(after.iptables) > len(before.iptables) {
		t.Errorf("host iptables gained rules: %v", after.iptables)
	}
	if pids := sandboxPIDs(tag); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	if m, _ := filepath.Glob("/run/sbx/" + tag + "*"); len(m) > 0 {
		t.Errorf("runtime directories left: %v", m)
	}
}

func podsReady(ctx context.Context, kc kubernetes.Interface, namespace, selector string, want int) error {
	pods, err := kc.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	ready := 0
	var states []string
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
		st := string(p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				st += " " + cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message
			}
		}
		states = append(states, p.Name+"@"+p.Spec.NodeName+" "+st)
	}
	if ready < want {
		return fmt.Errorf("%d of %d ready: %v", ready, want, states)
	}
	return nil
}

// httpGetFromNode sends a GET from inside a node's network namespace.
func httpGetFromNode(ctx context.Context, sb *Sandbox, node, addr, path string) (string, error) {
	conn, err := sb.DialNode(ctx, node, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(string(b), "HTTP/1.") || !strings.Contains(strings.SplitN(string(b), "\r\n", 2)[0], " 200") {
		return "", fmt.Errorf("answer %q", firstLine(fmt.Errorf("%s", b)))
	}
	return string(b), nil
}

// dumpPods describes every pod and recent warning events (failure output).
func dumpPods(ctx context.Context, kc kubernetes.Interface) string {
	var b strings.Builder
	pods, _ := kc.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s/%s on %s: %s %s", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " [%s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
			if cs.State.Waiting != nil {
				fmt.Fprintf(&b, " waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
			}
			if t := cs.State.Terminated; t != nil {
				fmt.Fprintf(&b, " terminated %s (%d): %s", t.Reason, t.ExitCode, t.Message)
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(&b, " last %s (%d): %s", t.Reason, t.ExitCode, t.Message)
			}
			b.WriteString("]")
		}
		b.WriteString("\n")
	}
	events, _ := kc.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	for _, e := range events.Items {
		fmt.Fprintf(&b, "event %s/%s: %s %s\n", e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Reason, e.Message)
	}
	return b.String()
}

// TestRealNodesKilledSandbox: what a killed sandbox left of its real nodes
// (processes in their cgroups, containers, mounts, namespaces, runtime
// directories) is removed by the next sandbox started on the same state.
//
// Two ways: the next sandbox started on the state, and CleanHost (what
// `sandbox --clean-host` runs, called by `task down` before the state is
// deleted).
func TestRealNodesKilledSandbox(t *testing.T) {
	bins, registry := realNodeGate(t)
	for _, how := range []string{"next start", "clean-host"} {
		t.Run(how, func(t *testing.T) { killedSandbox(t, bins, registry, how == "clean-host") })
	}
}

func killedSandbox(t *testing.T, bins string, registry http.Handler, cleanHost bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	state := t.TempDir()
	s := startRealStack(t, bins, registry, state, testSubnet())
	tag := s.sb.sandboxTag()
	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	ud, err := RenderCloudInit(CloudInitSpec{Hostname: "solo", PKI: pki, Config: map[string]any{
		"token": FullToken(pki.ServerCA.CertPEM, "solo-secret"), "cluster-init": true, "node-ip": "10.78.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := s.createServer(ctx, "solo", ud)
	admin := clientFor(t, "https://"+srv.PublicNet.IPv4.IP.String()+":6443", pki, "admin", "system:masters")
	// CoreDNS running means containerd, a shim, the pause and CoreDNS
	// containers, their mounts and the pod's network namespace exist.
	eventually(t, 3*time.Minute, "CoreDNS running on the node", func() error {
		pods, err := admin.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				return nil
			}
		}
		return fmt.Errorf("no CoreDNS pod running: %s", dumpPods(ctx, admin))
	})
	live := takeHostSnapshot(t, tag)
	pids := sandboxPIDs(tag)
	if len(live.netns) < 2 || len(live.mounts) == 0 || len(pids) < 5 {
		t.Fatalf("node not fully up: netns %v, %d mounts, pids %v", live.netns, len(live.mounts), pids)
	}
	// The sandbox "dies" without its teardown; the next one on the same
	// state cleans up before anything else. A dead process's state lock
	// goes with it: release it as the kernel would.
	unlockStateDir(s.sb.lock)
	var next *Sandbox
	if cleanHost {
		if err := CleanHost(filepath.Join(state, "sandbox")); err != nil {
			t.Fatal(err)
		}
	} else if next, err = New(Config{StateDir: filepath.Join(state, "sandbox"), ControlPlane: ControlPlaneOptions{BinDir: bins}, Nodes: NodesReal, Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
	after := takeHostSnapshot(t, tag)
	if len(after.netns)+len(after.mounts)+len(after.cgroups) > 0 {
		t.Errorf("left behind: netns %v, mounts %v, cgroups %v", after.netns, after.mounts, after.cgroups)
	}
	eventually(t, 10*time.Second, "the node's processes gone", func() error {
		for _, p := range pids {
			if alive(p) {
				return fmt.Errorf("process %d of the node survived", p)
			}
		}
		return nil
	})
	if m, _ := filepath.Glob("/run/sbx/" + tag + "*"); len(m) > 0 {
		t.Errorf("runtime directories left: %v", m)
	}
	if next != nil {
		_ = next.Close()
	}
}

// sandboxPIDs lists the processes in the cgroup trees of the sandbox's
// real nodes (/sbx-<tag>-<server id>).
func sandboxPIDs(tag string) []int {
	var out []int
	for _, hier := range cgroupHierarchies() {
		m, _ := filepath.Glob(filepath.Join(hier, "sbx-"+tag+"-*"))
		for _, d := range m {
			out = append(out, cgroupPIDs("/"+filepath.Base(d))...)
		}
		if len(m) > 0 {
			break
		}
	}
	return out
}
