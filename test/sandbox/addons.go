package sandbox

import (
	"context"
	"fmt"

	"github.com/sre-platform/platform/test/oci"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// corefile is k3s' CoreDNS configuration without the upstream forwarder
// (the sandbox is offline): cluster names resolve, others fail fast.
const corefile = `.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    kubernetes %s in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
    prometheus :9153
    cache 30
    loop
    reload
    loadbalance
}
`

// applyCoreDNS installs CoreDNS as k3s' coredns add-on does: a service
// account with the system:coredns role, the Corefile, one replica that
// tolerates control-plane and CriticalAddonsOnly taints, and the kube-dns
// Service on the cluster DNS address (10.43.0.10). Existing objects are
// kept (k3s re-applies its manifests; the sandbox only creates them once).
func applyCoreDNS(ctx context.Context, kc kubernetes.Interface, dnsIP, clusterDomain string) error {
	const ns = "kube-system"
	labels := map[string]string{"k8s-app": "kube-dns"}
	create := func(err error) error {
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err := create2(kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "coredns"}}, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:coredns", Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		}}
	if err := create2(kc.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:coredns"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "coredns", Namespace: ns}}}
	if err := create2(kc.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns"},
		Data: map[string]string{"Corefile": fmt.Sprintf(corefile, clusterDomain)}}
	if err := create2(kc.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	one := int32(1)
	no := false
	yes := true
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				PriorityClassName:  "system-cluster-critical",
				ServiceAccountName: "coredns",
				DNSPolicy:          corev1.DNSDefault,
				NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
				Tolerations: []corev1.Toleration{
					{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
					{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
					{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
				},
				Containers: []corev1.Container{{
					Name: "coredns", Image: oci.CoreDNSRef, ImagePullPolicy: corev1.PullIfNotPresent,
					Args: []string{"-conf", "/etc/coredns/Corefile"},
					Resources: corev1.ResourceRequirements{
						Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("170Mi")},
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("70Mi")}},
					VolumeMounts: []corev1.VolumeMount{{Name: "config-volume", MountPath: "/etc/coredns", ReadOnly: true}},
					Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
						{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP}},
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
						Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"all"}}},
					LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8080)}},
						InitialDelaySeconds: 60, PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 3},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)}},
						PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: 3},
				}},
				Volumes: []corev1.Volume{{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"},
					Items:                []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}}}}}},
			}}}}
	if err := create2(kc.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Labels: map[string]string{"k8s-app": "kube-dns",
		"kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
		Spec: corev1.ServiceSpec{Selector: labels, ClusterIP: dnsIP, Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)}}}}
	if err := create2(kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})); create(err) != nil {
		return err
	}
	return nil
}

func create2[T any](_ T, err error) error { return err }

// startAddons installs the k3s add-ons the sandbox provides (CoreDNS)
// once the control plane of a real-node cluster answers, unless the first
// server's config lists them under disable.
func (c *cluster) startAddons(boot *Boot) {
	if c.addonsStarted || c.s.cfg.Nodes != NodesReal {
		return
	}
	c.addonsStarted = true
	if boot.K3s.DisablesComponent("coredns") {
		c.s.logf("cluster %s: coredns disabled", c.id)
		return
	}
	dns, err := boot.K3s.ClusterDNSIP()
	if err != nil {
		return
	}
	go func() {
		for {
			kc, err := c.admin()
			if err == nil {
				err = applyCoreDNS(c.s.ctx, kc, dns.String(), boot.K3s.ClusterDomain)
			}
			if err == nil {
				return
			}
			if c.s.ctx.Err() != nil {
				return
			}
			c.s.logf("cluster %s: coredns add-on: %v", c.id, firstLine(err))
			if !sleepCtx(c.s.ctx, 2*c.s.cfg.JoinRetry) {
				return
			}
		}
	}()
}
