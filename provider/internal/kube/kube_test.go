package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var fast = Poller{Interval: 5 * time.Millisecond, Max: 20 * time.Millisecond}

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

func pod(name, nodeName string, mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}, Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if mod != nil {
		mod(p)
	}
	return p
}

// The node registers and turns Ready between WaitReady's polls: the first
// poll finds no node, the second a NotReady one, the third a Ready one. Each
// change is made by the poll that is about to observe it, so the test needs
// no timing.
func TestWaitReadyWaitsForRegistrationAndReadiness(t *testing.T) {
	c := fake.NewClientset()
	gets := 0
	nodes := schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	c.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		switch gets {
		case 2:
			if err := c.Tracker().Create(nodes, node("n1", corev1.ConditionFalse), ""); err != nil {
				t.Error(err)
			}
		case 3:
			if err := c.Tracker().Update(nodes, node("n1", corev1.ConditionTrue), ""); err != nil {
				t.Error(err)
			}
		}
		return false, nil, nil // answered by the object tracker
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitReady(ctx, c, "n1", fast); err != nil {
		t.Fatal(err)
	}
	if gets != 3 {
		t.Fatalf("WaitReady returned after %d polls, want 3 (not registered, not Ready, Ready)", gets)
	}
}

func TestWaitReadyTimeoutSaysWhy(t *testing.T) {
	c := fake.NewClientset(node("n1", corev1.ConditionFalse))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := WaitReady(ctx, c, "n1", fast)
	if err == nil || !strings.Contains(err.Error(), "registered but not Ready") {
		t.Fatalf("err = %v", err)
	}
}

func TestDrainEvictsButKeepsDaemonSetMirrorAndFinishedPods(t *testing.T) {
	c := fake.NewClientset(
		node("n1", corev1.ConditionTrue),
		pod("web", "n1", nil),
		pod("other-node", "n2", nil),
		pod("ds", "n1", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "x", APIVersion: "apps/v1"}}
		}),
		pod("static", "n1", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }),
		pod("done", "n1", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
	)
	// The fake client has no field selectors or eviction semantics: emulate them.
	c.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sel := a.(k8stesting.ListAction).GetListRestrictions().Fields.String()
		objs, _ := c.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "")
		out := &corev1.PodList{}
		for _, p := range objs.(*corev1.PodList).Items {
			if "spec.nodeName="+p.Spec.NodeName == sel {
				out.Items = append(out.Items, p)
			}
		}
		return true, out, nil
	})
	var evicted []string
	c.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ev := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		evicted = append(evicted, ev.Name)
		if err := c.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, ev.Namespace, ev.Name); err != nil {
			return true, nil, err
		}
		return true, nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Cordon(ctx, c, "n1", fast); err != nil {
		t.Fatal(err)
	}
	n, _ := c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if !n.Spec.Unschedulable {
		t.Error("node not cordoned")
	}
	if err := Drain(ctx, c, "n1", fast); err != nil {
		t.Fatal(err)
	}
	if len(evicted) != 1 || evicted[0] != "web" {
		t.Errorf("evicted %v, want [web]", evicted)
	}
	if err := DeleteNode(ctx, c, "n1", fast); err != nil {
		t.Fatal(err)
	}
	if err := DeleteNode(ctx, c, "n1", fast); err != nil {
		t.Errorf("deleting a missing node: %v", err)
	}
}

func TestDrainBlockedByPDBIsBounded(t *testing.T) {
	c := fake.NewClientset(pod("web", "n1", nil))
	c.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	err := Drain(ctx, c, "n1", fast)
	if err == nil || !strings.Contains(err.Error(), "PodDisruptionBudgets") || !strings.Contains(err.Error(), "apps/web") {
		t.Fatalf("err = %v", err)
	}
}

// Evictions answered with a transient failure (500, 409) are retried within
// the drain's bound; a permanent one (403) ends the drain at once.
func TestDrainRetriesTransientEvictionFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    error
		wantErr string
	}{
		{"internal error", apierrors.NewInternalError(errors.New("etcd leader changed")), ""},
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "pods"}, "web", errors.New("modified")), ""},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "pods/eviction"}, "web", errors.New("rbac")), "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(pod("web", "n1", nil))
			calls := 0
			c.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
				calls++
				if calls <= 2 || tc.wantErr != "" {
					return true, nil, tc.fail
				}
				if err := c.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "apps", "web"); err != nil {
					return true, nil, err
				}
				return true, nil, nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := Drain(ctx, c, "n1", fast)
			switch {
			case tc.wantErr == "" && (err != nil || calls != 3):
				t.Errorf("err %v after %d evictions, want success on the third", err, calls)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || calls != 1):
				t.Errorf("err %v after %d evictions, want %q at once", err, calls, tc.wantErr)
			}
		})
	}
}
