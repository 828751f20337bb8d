package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// NodeSpec is what a kubelet (plus the k3s agent around it) registers.
type NodeSpec struct {
	Name       string
	Role       Role
	Etcd       bool // servers of an embedded-etcd cluster
	Labels     map[string]string
	Taints     []Taint
	InternalIP string
	ExternalIP string
	Hostname   string
	// ProviderID is empty when an external cloud controller sets it.
	ProviderID string
	// Args are recorded in the k3s.io/node-args annotation (k3s does).
	Args []string
}

// kubeletLabel reports whether NodeRestriction lets a kubelet set a label on
// its own Node: labels outside kubernetes.io/k8s.io, plus the allowed ones.
func kubeletLabel(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	ns := prefix
	if !(ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")) {
		return true
	}
	if ns == "kubelet.kubernetes.io" || strings.HasSuffix(ns, ".kubelet.kubernetes.io") ||
		ns == "node.kubernetes.io" || strings.HasSuffix(ns, ".node.kubernetes.io") {
		return true
	}
	switch key {
	case "kubernetes.io/hostname", "kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/arch",
		"beta.kubernetes.io/instance-type", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
		"failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
		"topology.kubernetes.io/zone", "topology.kubernetes.io/region":
		return true
	}
	return false
}

// labels splits the Node's labels into what the kubelet registers and what
// the k3s server sets with its own credentials (node roles, and labels
// NodeRestriction keeps from kubelets).
func (n NodeSpec) labels() (kubelet, server map[string]string) {
	kubelet = map[string]string{
		"kubernetes.io/hostname":           n.Name,
		"kubernetes.io/os":                 "linux",
		"kubernetes.io/arch":               "amd64",
		"beta.kubernetes.io/os":            "linux",
		"beta.kubernetes.io/arch":          "amd64",
		"node.kubernetes.io/instance-type": "k3s",
		"beta.kubernetes.io/instance-type": "k3s",
	}
	server = map[string]string{}
	if n.Role == RoleServer {
		server["node-role.kubernetes.io/control-plane"] = "true"
		server["node-role.kubernetes.io/master"] = "true"
		if n.Etcd {
			server["node-role.kubernetes.io/etcd"] = "true"
		}
	}
	for k, v := range n.Labels {
		if kubeletLabel(k) {
			kubelet[k] = v
		} else {
			server[k] = v
		}
	}
	return kubelet, server
}

func (n NodeSpec) addresses() []corev1.NodeAddress {
	var out []corev1.NodeAddress
	if n.InternalIP != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.InternalIP})
	}
	if n.ExternalIP != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: n.ExternalIP})
	}
	out = append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Hostname})
	return out
}

func (n NodeSpec) readyConditions(now metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

// mergeConditions keeps LastTransitionTime when a condition's status did
// not change.
func mergeConditions(old, fresh []corev1.NodeCondition) []corev1.NodeCondition {
	for i := range fresh {
		for _, o := range old {
			if o.Type == fresh[i].Type && o.Status == fresh[i].Status {
				fresh[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return fresh
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// registerNode creates the Node as a kubelet would (with the node's own
// credentials), or updates it when it exists (a reboot).
func registerNode(ctx context.Context, kc kubernetes.Interface, n NodeSpec) error {
	kl, _ := n.labels()
	var taints []corev1.Taint
	for _, t := range n.Taints {
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	annotations := map[string]string{
		"k3s.io/hostname":              n.Hostname,
		"k3s.io/internal-ip":           n.InternalIP,
		"node.alpha.kubernetes.io/ttl": "0",
		"volumes.kubernetes.io/controller-managed-attach-detach": "true",
	}
	if n.ExternalIP != "" {
		annotations["k3s.io/external-ip"] = n.ExternalIP
	}
	if len(n.Args) > 0 {
		annotations["k3s.io/node-args"] = `["` + strings.Join(n.Args, `","`) + `"]`
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: kl, Annotations: annotations},
		Spec:       corev1.NodeSpec{Taints: taints, ProviderID: n.ProviderID},
	}
	_, err := kc.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Like the kubelet: keep the existing object, reconcile our labels
		// and annotations.
		cur, gerr := kc.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		for k, v := range kl {
			cur.Labels[k] = v
		}
		for k, v := range annotations {
			cur.Annotations[k] = v
		}
		_, err = kc.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.Name, err)
	}
	return postStatus(ctx, kc, n)
}

var (
	bootID    = randomID()
	machineID = randomID()
)

// postStatus writes the node status with a fresh Ready heartbeat.
func postStatus(ctx context.Context, kc kubernetes.Interface, n NodeSpec) error {
	cur, err := kc.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("2"),
		corev1.ResourceMemory:           resource.MustParse("3911Mi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("38Gi"),
	}
	cur.Status.Capacity = capacity
	cur.Status.Allocatable = capacity.DeepCopy()
	cur.Status.Conditions = mergeConditions(cur.Status.Conditions, n.readyConditions(now))
	cur.Status.Addresses = n.addresses()
	cur.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}}
	cur.Status.NodeInfo = corev1.NodeSystemInfo{
		MachineID: machineID, SystemUUID: machineID, BootID: bootID,
		KernelVersion: "6.8.0-51-generic", OSImage: "Ubuntu 24.04.1 LTS", OperatingSystem: "linux", Architecture: "amd64",
		ContainerRuntimeVersion: "containerd://2.1.5-k3s1", KubeletVersion: KubeVersion + "+k3s1",
		// No kubeProxyVersion: deprecated, and kubelets since 1.31 leave it empty.
	}
	_, err = kc.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	return err
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func renewLease(ctx context.Context, kc kubernetes.Interface, name string, duration time.Duration) error {
	leases := kc.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	secs := int32(duration / time.Second)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, nerr := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if nerr != nil {
			return nerr
		}
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo(name), LeaseDurationSeconds: ptrTo(secs), RenewTime: &now},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = ptrTo(name)
	l.Spec.LeaseDurationSeconds = ptrTo(secs)
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// applyServerLabels sets the labels k3s' server sets on Nodes with its own
// credentials (node roles and restricted labels) — a merge patch.
func applyServerLabels(ctx context.Context, admin kubernetes.Interface, n NodeSpec) error {
	_, sl := n.labels()
	if len(sl) == 0 {
		return nil
	}
	patch := `{"metadata":{"labels":{`
	first := true
	for k, v := range sl {
		if !first {
			patch += ","
		}
		first = false
		patch += fmt.Sprintf("%q:%q", k, v)
	}
	patch += "}}}"
	_, err := admin.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func ptrTo[T any](v T) *T { return &v }

// finishDeletedPods does for a simulated node what a kubelet does once a
// pod's containers have stopped: a pod bound to the node that is being
// deleted (eviction, drain, rollout) is removed with grace period 0. No
// container runs on a simulated node, so there is nothing to wait for;
// without this such pods would stay Terminating and every drain would run
// into its timeout.
func finishDeletedPods(ctx context.Context, kc kubernetes.Interface, node string) error {
	pods, err := kc.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return err
	}
	zero := int64(0)
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil {
			continue
		}
		err := kc.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
			Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}
