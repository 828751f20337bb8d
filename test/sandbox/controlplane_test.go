package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControlPlaneDirect starts etcd + kube-apiserver with generated k3s CAs
// and kube-controller-manager + kube-scheduler beside them, registers a node
// with a kubelet-style certificate and watches the real controllers act on
// it: a pod CIDR, scheduling, a Deployment's pods, a namespace finalized,
// and the node-lifecycle taints when heartbeats stop and resume.
func TestControlPlaneDirect(t *testing.T) {
	bins := kubeBins(t)
	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	ip := testSubnet() + ".10"
	cp, err := NewControlPlane(t.TempDir(), pki, "", ControlPlaneOptions{BinDir: bins, Controllers: true,
		NodeMonitorGrace: 4 * time.Second, StopGrace: 5 * time.Second})
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
	if len(cp.PIDs()) != 4 {
		t.Fatalf("want etcd, apiserver, controller manager and scheduler running: pids %v", cp.PIDs())
	}
	// nodeipam: a /24 of the cluster CIDR, as k3s assigns.
	eventually(t, 60*time.Second, "pod CIDR", func() error {
		n, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !strings.HasPrefix(n.Spec.PodCIDR, "10.42.") || !strings.HasSuffix(n.Spec.PodCIDR, ".0/24") {
			return fmt.Errorf("podCIDR %q", n.Spec.PodCIDR)
		}
		return nil
	})
	// Deployment → ReplicaSet → Pods, bound by the scheduler to the only
	// node (its taint tolerated).
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}},
				Containers:  []corev1.Container{{Name: "web", Image: "ghcr.io/sre-platform/backend:dev"}}}}}}
	if _, err := admin.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "deployment pods scheduled", func() error {
		pods, err := admin.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		bound := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName == "n1" {
				bound++
			}
		}
		if bound != 2 {
			return fmt.Errorf("%d of %d pods bound to n1", bound, len(pods.Items))
		}
		return nil
	})
	// The namespace controller finalizes a deleted namespace.
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ConfigMaps("gone").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := admin.CoreV1().Namespaces().Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "namespace finalized", func() error {
		_, err := admin.CoreV1().Namespaces().Get(ctx, "gone", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace still there: %v", err)
	})
	// Node lifecycle: no heartbeat for the grace period → Ready Unknown and
	// the unreachable NoSchedule taint. (The NoExecute one, which evicts,
	// is held back while every node of the zone is down — full disruption —
	// as on any cluster: this one has a single node.)
	eventually(t, 60*time.Second, "node unreachable", func() error {
		n, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c := readyCondition(n); c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" {
			return fmt.Errorf("ready condition %+v", c)
		}
		if !hasTaint(n, corev1.TaintNodeUnreachable, "", corev1.TaintEffectNoSchedule) {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		return nil
	})
	// Heartbeats again: Ready, the unreachable taints removed.
	eventually(t, 60*time.Second, "node back", func() error {
		if err := renewLease(ctx, node, "n1", 40*time.Second); err != nil {
			return err
		}
		if err := postStatus(ctx, node, spec); err != nil {
			return err
		}
		n, err := nodeReady(ctx, admin, "n1")
		if err != nil {
			return err
		}
		if len(n.Spec.Taints) != 1 {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		return nil
	})
}
