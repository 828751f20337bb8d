package sandbox

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A simulated node removes its pods that are being deleted, as a kubelet
// does once their containers stopped, and leaves the others alone.
func TestFinishDeletedPods(t *testing.T) {
	now := metav1.Now()
	pod := func(name string, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}, Spec: corev1.PodSpec{NodeName: "n1"}}
		if deleting {
			p.DeletionTimestamp = &now
		}
		return p
	}
	kc := fake.NewClientset(pod("evicted", true), pod("running", false))
	if err := finishDeletedPods(context.Background(), kc, "n1"); err != nil {
		t.Fatal(err)
	}
	l, err := kc.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "running" {
		t.Fatalf("pods left: %v", l.Items)
	}
}
