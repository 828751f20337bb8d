package sandbox

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Taints the node-lifecycle controller puts on unreachable nodes.
var unreachableTaints = []corev1.Taint{
	{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute},
}

var notReadyTaints = []corev1.Taint{
	{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute},
}

// checkNodes plays kube-controller-manager's node-lifecycle controller once:
// a Node whose kubelet stopped renewing its Lease for longer than grace gets
// every condition set to Unknown (reason NodeStatusUnknown) and the
// unreachable taints; a Node that is Ready again loses those taints. Nodes
// are never deleted.
func checkNodes(ctx context.Context, admin kubernetes.Interface, grace time.Duration) error {
	nodes, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	leases, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	renewed := map[string]time.Time{}
	for _, l := range leases.Items {
		if l.Spec.RenewTime != nil {
			renewed[l.Name] = l.Spec.RenewTime.Time
		}
	}
	now := time.Now()
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ready := readyCondition(n)
		last, ok := renewed[n.Name]
		if ready != nil && ready.LastHeartbeatTime.After(last) {
			last, ok = ready.LastHeartbeatTime.Time, true
		}
		if !ok {
			last = n.CreationTimestamp.Time
		}
		stale := now.Sub(last) > grace
		switch {
		case stale && (ready == nil || ready.Status != corev1.ConditionUnknown):
			markUnknown(n, metav1.NewTime(now))
			if _, err := admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
				return err
			}
			if err := syncConditionTaints(ctx, admin, n.Name, unreachableTaints); err != nil {
				return err
			}
		case stale:
			if err := syncConditionTaints(ctx, admin, n.Name, unreachableTaints); err != nil {
				return err
			}
		case ready != nil && ready.Status == corev1.ConditionTrue:
			if err := syncConditionTaints(ctx, admin, n.Name, nil); err != nil {
				return err
			}
		case ready != nil && ready.Status == corev1.ConditionFalse:
			if err := syncConditionTaints(ctx, admin, n.Name, notReadyTaints); err != nil {
				return err
			}
		}
	}
	return nil
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func markUnknown(n *corev1.Node, now metav1.Time) {
	if readyCondition(n) == nil {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady})
	}
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Status != corev1.ConditionUnknown {
			c.LastTransitionTime = now
		}
		c.Status = corev1.ConditionUnknown
		c.Reason = "NodeStatusUnknown"
		c.Message = "Kubelet stopped posting node status."
	}
}

// syncConditionTaints makes the node's not-ready/unreachable taints exactly
// want (the node-lifecycle controller's condition taints).
func syncConditionTaints(ctx context.Context, admin kubernetes.Interface, name string, want []corev1.Taint) error {
	n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	isCond := func(t corev1.Taint) bool {
		return t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady
	}
	var kept []corev1.Taint
	have := map[string]bool{}
	changed := false
	for _, t := range n.Spec.Taints {
		if isCond(t) {
			keep := false
			for _, w := range want {
				if w.Key == t.Key && w.Effect == t.Effect {
					keep = true
				}
			}
			if !keep {
				changed = true
				continue
			}
			have[t.Key+":"+string(t.Effect)] = true
		}
		kept = append(kept, t)
	}
	now := metav1.Now()
	for _, w := range want {
		if !have[w.Key+":"+string(w.Effect)] {
			w.TimeAdded = &now
			kept = append(kept, w)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	n.Spec.Taints = kept
	_, err = admin.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	return err
}
