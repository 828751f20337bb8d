package sandbox

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControlPlaneDirect starts etcd + kube-apiserver with generated k3s CAs
// and registers a node with a kubelet-style certificate.
func TestControlPlaneDirect(t *testing.T) {
	bins := kubeBins(t)
	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	ip := testSubnet() + ".10"
	cp, err := NewControlPlane(t.TempDir(), pki, "", ControlPlaneOptions{BinDir: bins})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := cp.Start(ctx, ip, servingSANs([]string{ip}, cp.ServiceIP, "")); err != nil {
		t.Fatal(err)
	}
	api, etcd := cp.RSS()
	t.Logf("apiserver ready in %s; RSS apiserver %d MiB, etcd %d MiB", time.Since(start).Round(time.Millisecond), api>>20, etcd>>20)

	admin := clientFor(t, cp.URL(), pki, "admin", "system:masters")
	if _, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin list nodes: %v", err)
	}
	// A certificate from another CA is rejected.
	other, _ := GenerateClusterPKI()
	otherPKI := *pki
	otherPKI.ClientCA = other.ClientCA
	if _, err := clientFor(t, cp.URL(), &otherPKI, "admin", "system:masters").CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !isUnauthorized(err) {
		t.Fatalf("foreign client CA: want 401, got %v", err)
	}
	// A node registers itself like a kubelet (Node authorizer + NodeRestriction).
	spec := NodeSpec{Name: "n1", Role: RoleServer, Etcd: true, Hostname: "n1", InternalIP: "10.0.0.2", ExternalIP: ip,
		Labels: map[string]string{"pool": "cp", "node-role.kubernetes.io/worker": "true"},
		Taints: []Taint{{Key: "dedicated", Value: "cp", Effect: "NoSchedule"}}}
	node := clientFor(t, cp.URL(), pki, "system:node:n1", "system:nodes")
	if err := registerNode(ctx, node, spec); err != nil {
		t.Fatal(err)
	}
	if err := renewLease(ctx, node, "n1", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := applyServerLabels(ctx, admin, spec); err != nil {
		t.Fatal(err)
	}
	n, err := nodeReady(ctx, admin, "n1")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"pool": "cp", "node-role.kubernetes.io/control-plane": "true",
		"node-role.kubernetes.io/etcd": "true", "node-role.kubernetes.io/worker": "true", "kubernetes.io/hostname": "n1"} {
		if n.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, n.Labels[k], v)
		}
	}
	if len(n.Spec.Taints) == 0 || n.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("taints %v", n.Spec.Taints)
	}
	// A node cannot touch another node (Node authorizer).
	if err := registerNode(ctx, node, NodeSpec{Name: "n2", Hostname: "n2"}); err == nil {
		t.Error("node n1 registered node n2")
	}
	// Lifecycle: with no heartbeat within the grace period the node goes
	// Unknown and is tainted. A grace of 1 ns makes the last heartbeat stale
	// at once, without waiting for a real one to age.
	if err := checkNodes(ctx, admin, time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if err := checkNodes(ctx, admin, time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	n, err = nodeReady(ctx, admin, "n1")
	if err == nil || readyCondition(n).Status != corev1.ConditionUnknown || readyCondition(n).Reason != "NodeStatusUnknown" {
		t.Fatalf("want Ready=Unknown: %v", err)
	}
	if len(n.Spec.Taints) != 3 {
		t.Errorf("want dedicated + 2 unreachable taints: %v", n.Spec.Taints)
	}
	// Heartbeat again: Ready, unreachable taints removed.
	if err := postStatus(ctx, node, spec); err != nil {
		t.Fatal(err)
	}
	if err := renewLease(ctx, node, "n1", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := checkNodes(ctx, admin, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if n, err = nodeReady(ctx, admin, "n1"); err != nil || len(n.Spec.Taints) != 1 {
		t.Fatalf("after heartbeat: %v, taints %v", err, n.Spec.Taints)
	}
}
