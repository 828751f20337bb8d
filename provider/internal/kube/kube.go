// Package kube is the provider's Kubernetes side of a node's life: wait for
// the Node to be Ready, and cordon, drain and delete it before its server
// goes away.
package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FromKubeconfig builds a client from kubeconfig text.
func FromKubeconfig(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return FromConfig(cfg)
}

// FromConfig builds a client with timeouts suited to polling a cluster that
// may still be booting.
func FromConfig(cfg *rest.Config) (kubernetes.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 15 * time.Second
	cfg.QPS, cfg.Burst = 20, 40
	cfg.UserAgent = "terraform-provider-platform"
	return kubernetes.NewForConfig(cfg)
}

// Poller waits with a capped, growing interval.
type Poller struct {
	Interval, Max time.Duration
}

func (p Poller) next(d time.Duration) time.Duration {
	d = d * 3 / 2
	if d > p.Max {
		d = p.Max
	}
	return d
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// WaitReady waits until the named Node exists and is Ready, or ctx ends. The
// last thing seen is returned with the error, so a timeout says why.
func WaitReady(ctx context.Context, c kubernetes.Interface, name string, p Poller) error {
	wait := p.Interval
	var last string // every attempt says what it saw
	for {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && NodeReady(n):
			return nil
		case err == nil:
			last = "node " + name + " is registered but not Ready"
		case apierrors.IsNotFound(err):
			last = "the API server answers but node " + name + " has not registered"
		case apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err):
			last = "the API server rejects the credentials: " + err.Error()
		default:
			last = "the API server is not reachable yet: " + err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not Ready: %s (%w)", name, last, ctx.Err())
		case <-time.After(wait):
		}
		wait = p.next(wait)
	}
}

// Cordon marks the node unschedulable, retrying Retryable errors until ctx
// ends. A missing node is not an error. An unreachable API is returned at
// once: the caller decides what that means.
func Cordon(ctx context.Context, c kubernetes.Interface, name string, p Poller) error {
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	return retry(ctx, p, Retryable, func(ctx context.Context) error {
		_, err := c.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// Drain evicts every pod on the node the way `kubectl drain
// --ignore-daemonsets` does: DaemonSet pods and static (mirror) pods stay,
// evictions honour PodDisruptionBudgets (a 429 from the Eviction API is
// retried until ctx ends). Listing pods and evicting them retry transient
// failures (an API that is briefly unreachable or overloaded, 5xx, 409) the
// same way. It returns when no evictable pod is left.
func Drain(ctx context.Context, c kubernetes.Interface, name string, p Poller) error {
	wait := p.Interval
	var lastErr error
	for {
		var blocked []string
		left := 0
		pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
		switch {
		case err != nil && !(Transient(err) || apierrors.IsConflict(err)):
			return fmt.Errorf("listing pods on %s: %w", name, err)
		case err != nil:
			lastErr = fmt.Errorf("listing pods on %s: %w", name, err)
			left = -1 // unknown: try again
			pods = &corev1.PodList{}
		}
		for i := range pods.Items {
			pod := &pods.Items[i]
			if skipOnDrain(pod) {
				continue
			}
			left++
			if pod.DeletionTimestamp != nil {
				continue
			}
			ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}}
			err := c.PolicyV1().Evictions(pod.Namespace).Evict(ctx, ev)
			switch {
			case err == nil, apierrors.IsNotFound(err):
			case apierrors.IsTooManyRequests(err):
				blocked = append(blocked, pod.Namespace+"/"+pod.Name)
			case Transient(err) || apierrors.IsConflict(err):
				lastErr = fmt.Errorf("evicting %s/%s: %w", pod.Namespace, pod.Name, err)
			default:
				return fmt.Errorf("evicting %s/%s: %w", pod.Namespace, pod.Name, err)
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%d pods still on node %s", left, name)
			if left < 0 {
				msg = "the pods on node " + name + " could not be listed"
			}
			if len(blocked) > 0 {
				msg += fmt.Sprintf("; evictions blocked by PodDisruptionBudgets: %v", blocked)
			}
			if lastErr != nil {
				msg += "; last error: " + lastErr.Error()
			}
			return errors.New("drain timed out: " + msg)
		case <-time.After(wait):
		}
		wait = p.next(wait)
	}
}

func skipOnDrain(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

// DeleteNode removes the Node object, retrying Retryable errors until ctx
// ends; a missing node is not an error.
func DeleteNode(ctx context.Context, c kubernetes.Interface, name string, p Poller) error {
	return retry(ctx, p, Retryable, func(ctx context.Context) error {
		err := c.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
