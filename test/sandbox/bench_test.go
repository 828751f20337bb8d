package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkThreeClustersMemory runs three one-server clusters at once and
// reports the RSS of their control planes (apiserver + etcd), sampled every
// second for 15 s after each answered some traffic, as a provider would
// cause: the peak of the sum. Target: 4 GiB for the three together.
func BenchmarkThreeClustersMemory(b *testing.B) {
	for b.Loop() {
		threeClustersMemory(b)
	}
}

func threeClustersMemory(t *testing.B) {
	bins := kubeBins(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := startStack(t, bins, t.TempDir(), testSubnet())
	type cl struct {
		pki *ClusterPKI
		srv *hcloud.Server
	}
	var cls []cl
	for i := range 3 {
		pki, err := GenerateClusterPKI()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("c%d-cp", i)
		ud, _ := RenderCloudInit(CloudInitSpec{Hostname: name, PKI: pki, Config: map[string]any{
			"token": FullToken(pki.ServerCA.CertPEM, fmt.Sprint("secret-", i)), "cluster-init": true}})
		cls = append(cls, cl{pki, s.createServer(ctx, name, ud)})
	}
	for i, c := range cls {
		admin := clientFor(t, "https://"+c.srv.PublicNet.IPv4.IP.String()+":6443", c.pki, "admin", "system:masters")
		eventually(t, 3*time.Minute, c.srv.Name+" Ready", func() error { _, err := nodeReady(ctx, admin, fmt.Sprintf("c%d-cp", i)); return err })
		// A little traffic, as a provider would cause.
		for range 20 {
			if _, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(s.sb.Clusters()) != 3 {
		t.Fatalf("want 3 clusters, got %d", len(s.sb.Clusters()))
	}
	var peak int64
	per := map[string]int64{}
	for range 15 {
		time.Sleep(time.Second)
		var total int64
		for _, st := range s.sb.Clusters() {
			total += st.APIServerMB + st.EtcdMB
			per[st.ID] = max(per[st.ID], st.APIServerMB+st.EtcdMB)
		}
		peak = max(peak, total)
	}
	for id, mb := range per {
		t.Logf("cluster %s: apiserver + etcd peak %d MiB RSS", id, mb)
	}
	t.Logf("three clusters: peak %d MiB RSS in total", peak)
	t.ReportMetric(float64(peak), "MiB_rss_3_clusters")
	t.ReportMetric(float64(peak)/3, "MiB_rss/cluster")
	if peak > 4096 {
		t.Errorf("three control planes use %d MiB RSS, more than 4 GiB", peak)
	}
}

// BenchmarkRealNodeCluster creates a real-node cluster of 1 server + 2
// agents through the emulator (images already in the registry), as an apply
// does: the server, then both agents at once. It reports
//   - s_running_to_first_pod: from the server's create action done (the
//     server is running) to the first pod seen Running on its Node (a backend
//     pod pinned to it, or CoreDNS, whichever runs first); target ≤ 30 s;
//   - s_running_to_3_nodes_ready and s_running_to_2_replicas_ready (a backend
//     Deployment on the agents);
//   - memory beyond the control plane, the peak over 15 s of 1 s samples once
//     those pods are Ready: the sum over every process in each node's cgroup
//     tree (containerd, its shims, pause and app containers, kubelet,
//     kube-proxy), as RSS (shared pages counted in every process: upper
//     bound) and as PSS (shared pages divided among the processes mapping
//     them: what the nodes really take); per cluster and per node (the mean).
//     Target: ≤ 600 MiB PSS per cluster; RSS is reported beside it.
//
// Runs with PLATFORM_SANDBOX_REAL_TESTS=1 (root, `go tool task deps -- nodes`,
// `go tool task images:build`), as the real-node tests.
func BenchmarkRealNodeCluster(b *testing.B) {
	bins, registry := realNodeGate(b)
	for b.Loop() {
		realNodeCluster(b, bins, registry)
	}
}

func realNodeCluster(b *testing.B, bins string, registry http.Handler) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// The sandbox's log goes to a file (the benchmark's own lines stay
	// readable); its tail is shown when the benchmark fails.
	dir := b.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "sandbox.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logFile, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
	defer func() {
		if b.Failed() {
			logMu.Lock()
			out, _ := os.ReadFile(logFile.Name())
			logMu.Unlock()
			b.Logf("sandbox log:\n%s", lastLines(string(out), 60))
		}
	}()
	s := startRealStack(b, bins, registry, dir, testSubnet(), logf)
	defer s.stop()
	pki, err := GenerateClusterPKI()
	if err != nil {
		b.Fatal(err)
	}
	secret := "bench-secret"
	ud, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": FullToken(pki.ServerCA.CertPEM, secret), "cluster-init": true, "node-name": "cp-1", "node-ip": "10.79.0.2"}})
	if err != nil {
		b.Fatal(err)
	}
	srv := s.createServer(ctx, "cp-1", ud)
	running := time.Now()
	url := "https://" + srv.PublicNet.IPv4.IP.String() + ":6443"
	for i, name := range []string{"worker-1", "worker-2"} {
		ud, err := RenderCloudInit(CloudInitSpec{Hostname: name, Config: map[string]any{
			"token": secret, "server": url, "node-ip": fmt.Sprintf("10.79.0.%d", 3+i), "node-label": []string{"pool=workers"}}})
		if err != nil {
			b.Fatal(err)
		}
		s.createServer(ctx, name, ud)
	}
	admin := clientFor(b, url, pki, "admin", "system:masters")

	backend := func(name string, replicas int32, selector map[string]string) *appsv1.Deployment {
		labels := map[string]string{"app": name}
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					NodeSelector: selector,
					// One replica per node, so every run measures the same layout.
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
							LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: "kubernetes.io/hostname"}}}},
					Containers: []corev1.Container{{Name: "backend", Image: "ghcr.io/sre-platform/backend:dev",
						Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}}}}}}
	}
	// Created as soon as the apiserver takes them; the scheduler places them
	// once the Nodes are Ready.
	for _, d := range []*appsv1.Deployment{
		backend("on-server", 1, map[string]string{"kubernetes.io/hostname": "cp-1"}),
		backend("on-agents", 2, map[string]string{"pool": "workers"}),
	} {
		eventually(b, 2*time.Minute, "create "+d.Name, func() error {
			_, err := admin.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
	}
	var firstPod, nodesReady, replicasReady time.Duration
	deadline := time.Now().Add(4 * time.Minute)
	for firstPod == 0 || nodesReady == 0 || replicasReady == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("after 4 min: first pod on cp-1 %s, 3 nodes Ready %s, 2 replicas Ready %s\n%s",
				firstPod, nodesReady, replicasReady, dumpPods(ctx, admin))
		}
		if firstPod == 0 {
			pods, err := admin.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=cp-1"})
			if err == nil {
				for _, p := range pods.Items {
					if p.Status.Phase == corev1.PodRunning {
						firstPod = time.Since(running)
						b.Logf("first pod Running on cp-1: %s/%s after %s", p.Namespace, p.Name, firstPod.Round(time.Millisecond))
						break
					}
				}
			}
		}
		if nodesReady == 0 {
			ready := 0
			for _, n := range []string{"cp-1", "worker-1", "worker-2"} {
				if _, err := nodeReady(ctx, admin, n); err == nil {
					ready++
				}
			}
			if ready == 3 {
				nodesReady = time.Since(running)
			}
		}
		if replicasReady == 0 && podsReady(ctx, admin, "default", "app=on-agents", 2) == nil {
			replicasReady = time.Since(running)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := podsReady(ctx, admin, "kube-system", "k8s-app=kube-dns", 1); err != nil {
		eventually(b, time.Minute, "CoreDNS Ready", func() error { return podsReady(ctx, admin, "kube-system", "k8s-app=kube-dns", 1) })
	}
	if err := podsReady(ctx, admin, "default", "app=on-server", 1); err != nil {
		eventually(b, time.Minute, "the server's pod Ready", func() error { return podsReady(ctx, admin, "default", "app=on-server", 1) })
	}

	// Memory: the peak of 1 s samples over 15 s.
	peak := map[string]NodeMemory{}
	var peakRSS, peakPSS int64
	for range 15 {
		time.Sleep(time.Second)
		var rss, pss int64
		for name, m := range s.sb.RealNodeMemory() {
			rss += m.RSS
			pss += m.PSS
			if m.PSS > peak[name].PSS {
				peak[name] = m
			}
		}
		peakRSS, peakPSS = max(peakRSS, rss), max(peakPSS, pss)
	}
	if len(peak) != 3 {
		b.Fatalf("memory of %d real nodes, want 3", len(peak))
	}
	names := make([]string, 0, len(peak))
	for n := range peak {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := peak[n]
		var parts []string
		cmds := make([]string, 0, len(m.ByCommand))
		for c := range m.ByCommand {
			cmds = append(cmds, c)
		}
		sort.Slice(cmds, func(i, j int) bool { return m.ByCommand[cmds[i]].PSS > m.ByCommand[cmds[j]].PSS })
		for _, c := range cmds {
			pm := m.ByCommand[c]
			parts = append(parts, fmt.Sprintf("%s×%d %d/%d/%d", c, pm.Count, pm.RSS>>20, pm.PSS>>20, pm.Anon>>20))
		}
		b.Logf("node %s: RSS %d MiB, PSS %d MiB, anonymous %d MiB; by process (RSS/PSS/anonymous MiB): %s",
			n, m.RSS>>20, m.PSS>>20, m.Anon>>20, strings.Join(parts, ", "))
	}
	for _, st := range s.sb.Clusters() {
		b.Logf("control plane (not counted): apiserver %d MiB, etcd %d MiB, controller manager + scheduler %d MiB RSS",
			st.APIServerMB, st.EtcdMB, st.ControllersMB)
	}
	const mib = 1 << 20
	b.ReportMetric(firstPod.Seconds(), "s_running_to_first_pod")
	b.ReportMetric(nodesReady.Seconds(), "s_running_to_3_nodes_ready")
	b.ReportMetric(replicasReady.Seconds(), "s_running_to_2_replicas_ready")
	b.ReportMetric(float64(peakPSS)/mib, "MiB_pss/cluster")
	b.ReportMetric(float64(peakRSS)/mib, "MiB_rss/cluster")
	b.ReportMetric(float64(peakPSS)/mib/3, "MiB_pss/node")
	b.ReportMetric(float64(peakRSS)/mib/3, "MiB_rss/node")
	if firstPod > 30*time.Second {
		b.Errorf("first pod Running %s after the server was running: target ≤ 30 s", firstPod.Round(time.Millisecond))
	}
	if peakPSS > 600*mib {
		b.Errorf("1 server + 2 agents take %d MiB PSS beyond the control plane: target ≤ 600 MiB", peakPSS/mib)
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
