package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// restrictedNamespace is labelled Pod Security "restricted", as the
// platform's application namespaces are.
const restrictedNamespace = "apps"

// restrictedPod is the pod-level security context flux/apps/*/base use.
func restrictedPod(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{RunAsNonRoot: new(true), RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

// restrictedContainer is the container-level security context
// flux/apps/*/base use: no privilege escalation, read-only root, no
// capabilities, RuntimeDefault seccomp.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{AllowPrivilegeEscalation: new(false), ReadOnlyRootFilesystem: new(true),
		RunAsNonRoot: new(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

// appDeployment is one replica of an image with the platform's security
// contexts and an emptyDir at /tmp (the only writable path, as in
// flux/apps).
func appDeployment(name, image string, uid int64, c corev1.Container) *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": name}
	c.Name, c.Image, c.SecurityContext = name, image, restrictedContainer()
	c.VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: restrictedNamespace},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				SecurityContext: restrictedPod(uid), Containers: []corev1.Container{c},
				Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}}}
}

// checkRestrictedApps runs the backend and the frontend images in a
// namespace enforcing Pod Security "restricted", with the security contexts
// of flux/apps: the admission refuses a pod without them, both become
// Ready, and the frontend's public port serves the SPA and proxies /api/ to
// the backend Service. The client is a Go HTTP request from the node's
// network namespace (through kube-proxy's ClusterIP rules).
func checkRestrictedApps(ctx context.Context, t *testing.T, kc kubernetes.Interface, sb *Sandbox, fromNode string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restrictedNamespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The admission is on: the same backend without security contexts is
	// refused.
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: restrictedNamespace}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "backend", Image: "ghcr.io/sre-platform/backend:dev"}}}}
	_, err := kc.CoreV1().Pods(restrictedNamespace).Create(ctx, bare, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
		t.Fatalf("a pod without security contexts in a restricted namespace: want a PodSecurity refusal, got %v", err)
	}

	backend := appDeployment("backend", "ghcr.io/sre-platform/backend:dev", 65532, corev1.Container{
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/readyz", Port: intstr.FromString("http")}}, PeriodSeconds: 1}})
	frontend := appDeployment("frontend", "ghcr.io/sre-platform/frontend:dev", 101, corev1.Container{
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 8081}},
		Env: []corev1.EnvVar{{Name: "BACKEND_URL", Value: "http://backend:8080"},
			{Name: "REAL_IP_FROM", Value: "10.42.0.0/16"}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/nginx-health", Port: intstr.FromString("admin")}}, PeriodSeconds: 1}})
	for _, d := range []*appsv1.Deployment{backend, frontend} {
		if _, err := kc.AppsV1().Deployments(restrictedNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatalf("deployment %s: %v", d.Name, err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: restrictedNamespace},
			Spec: corev1.ServiceSpec{Selector: d.Spec.Selector.MatchLabels, Ports: []corev1.ServicePort{
				{Name: "http", Port: 8080, TargetPort: intstr.FromString("http")}}}}
		if _, err := kc.CoreV1().Services(restrictedNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Minute, "backend and frontend Ready under Pod Security restricted", func() error {
		for _, app := range []string{"backend", "frontend"} {
			if err := podsReady(ctx, kc, restrictedNamespace, "app="+app, 1); err != nil {
				return fmt.Errorf("%s: %w", app, err)
			}
		}
		return nil
	})
	// What runs is what was asked for: the kubelet started the containers
	// with the restricted settings (the admission only checks the spec).
	pods, err := kc.CoreV1().Pods(restrictedNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var backendPod string
	for _, p := range pods.Items {
		sc := p.Spec.Containers[0].SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || p.Spec.SecurityContext.RunAsUser == nil {
			t.Errorf("pod %s lost its security context: %+v", p.Name, sc)
		}
		if p.Labels["app"] == "backend" {
			backendPod = p.Name
		}
	}

	svc, err := kc.CoreV1().Services(restrictedNamespace).Get(ctx, "frontend", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(svc.Spec.ClusterIP, "8080")
	eventually(t, time.Minute, "the frontend serves the SPA on its public port", func() error {
		body, err := httpGetFromNode(ctx, sb, fromNode, addr, "/")
		if err != nil {
			return err
		}
		if !strings.Contains(body, `<div id="app">`) || !strings.Contains(body, "Content-Security-Policy") {
			return fmt.Errorf("not the SPA with its headers: %.300q", body)
		}
		return nil
	})
	eventually(t, time.Minute, "the frontend proxies /api/info to the backend Service", func() error {
		raw, err := httpGetFromNode(ctx, sb, fromNode, addr, "/api/info")
		if err != nil {
			return err
		}
		_, body, _ := strings.Cut(raw, "\r\n\r\n")
		var info struct { // apps/backend/api.Info, the fields checked
			Hostname string `json:"hostname"`
			Ready    bool   `json:"ready"`
		}
		if err := json.Unmarshal([]byte(body), &info); err != nil {
			return fmt.Errorf("/api/info: %v in %.300q", err, raw)
		}
		if info.Hostname != backendPod || !info.Ready {
			return fmt.Errorf("/api/info answered by %q (ready %v), want the backend pod %s", info.Hostname, info.Ready, backendPod)
		}
		return nil
	})
	t.Logf("Pod Security restricted: backend and frontend Ready; the frontend's public port serves the SPA and /api/info from %s", backendPod)
}
