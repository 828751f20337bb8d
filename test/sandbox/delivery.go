package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// The Flux objects the delivery loop reads.
var (
	FluxInstancesGVR   = schema.GroupVersionResource{Group: "fluxcd.controlplane.io", Version: "v1", Resource: "fluxinstances"}
	GitRepositoriesGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	KustomizationsGVR  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// ReconcileAnnotation asks a Flux controller to reconcile now.
const ReconcileAnnotation = "reconcile.fluxcd.io/requestedAt"

// FluxObject is the state of one Flux object as `status` shows it.
type FluxObject struct {
	Kind, Namespace, Name string
	Ready                 string // True, False, Unknown or "" (not reported)
	Reason, Message       string
	// Revision: the GitRepository's artifact, a Kustomization's last
	// applied revision, the FluxInstance's last applied (Flux) revision.
	Revision string
	// Attempted is a Kustomization's last attempted revision.
	Attempted string
}

// DeploymentState is one Deployment's rollout.
type DeploymentState struct {
	Namespace, Name             string
	Ready, Updated, Want, Avail int32
	Images                      []string
}

// Delivery is what `go tool task status` shows of the platform on a cluster.
type Delivery struct {
	Instance       *FluxObject // nil: no FluxInstance
	Sources        []FluxObject
	Kustomizations []FluxObject
	Deployments    []DeploymentState
}

func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			return s, r, msg
		}
	}
	return "", "", ""
}

func fluxObject(u *unstructured.Unstructured, revisionPath ...string) FluxObject {
	o := FluxObject{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	o.Ready, o.Reason, o.Message = condition(u, "Ready")
	o.Revision, _, _ = unstructured.NestedString(u.Object, revisionPath...)
	o.Attempted, _, _ = unstructured.NestedString(u.Object, "status", "lastAttemptedRevision")
	return o
}

// ReadDelivery reads the FluxInstance flux-system/flux, every GitRepository
// and Kustomization, and the Deployments of the namespaces given (all
// namespaces but the system ones when none are).
func ReadDelivery(ctx context.Context, kc kubernetes.Interface, dyn dynamic.Interface, namespaces ...string) (Delivery, error) {
	var d Delivery
	fi, err := dyn.Resource(FluxInstancesGVR).Namespace("flux-system").Get(ctx, "flux", metav1.GetOptions{})
	switch {
	case err == nil:
		o := fluxObject(fi, "status", "lastAppliedRevision")
		d.Instance = &o
	case !isNotFoundOrNoKind(err):
		return d, err
	}
	for _, r := range []struct {
		gvr  schema.GroupVersionResource
		path []string
		into *[]FluxObject
	}{
		{GitRepositoriesGVR, []string{"status", "artifact", "revision"}, &d.Sources},
		{KustomizationsGVR, []string{"status", "lastAppliedRevision"}, &d.Kustomizations},
	} {
		l, err := dyn.Resource(r.gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			if isNotFoundOrNoKind(err) {
				continue
			}
			return d, err
		}
		for i := range l.Items {
			*r.into = append(*r.into, fluxObject(&l.Items[i], r.path...))
		}
	}
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		l, err := kc.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return d, err
		}
		for _, dep := range l.Items {
			if ns == metav1.NamespaceAll && (dep.Namespace == "kube-system" || dep.Namespace == "flux-system") {
				continue
			}
			d.Deployments = append(d.Deployments, deploymentState(&dep))
		}
	}
	sort.Slice(d.Deployments, func(i, j int) bool {
		a, b := d.Deployments[i], d.Deployments[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return d, nil
}

func deploymentState(dep *appsv1.Deployment) DeploymentState {
	s := DeploymentState{Namespace: dep.Namespace, Name: dep.Name, Ready: dep.Status.ReadyReplicas,
		Updated: dep.Status.UpdatedReplicas, Avail: dep.Status.AvailableReplicas, Want: 1}
	if dep.Spec.Replicas != nil {
		s.Want = *dep.Spec.Replicas
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		s.Images = append(s.Images, c.Image)
	}
	return s
}

// isNotFoundOrNoKind: the object, or its kind (Flux not installed yet), is
// not there.
func isNotFoundOrNoKind(err error) bool { return apierrors.IsNotFound(err) || meta.IsNoMatchError(err) }

// Write prints the delivery as `status` shows it.
func (d Delivery) Write(w io.Writer) {
	if d.Instance == nil {
		fmt.Fprintln(w, "FluxInstance flux-system/flux: not installed")
	} else {
		fmt.Fprintf(w, "FluxInstance flux-system/flux: Ready=%s %s %s\n", orDash(d.Instance.Ready), d.Instance.Revision, oneLine(d.Instance.Message))
	}
	for _, o := range d.Sources {
		fmt.Fprintf(w, "  GitRepository %s/%s: Ready=%s %s %s\n", o.Namespace, o.Name, orDash(o.Ready), o.Revision, failing(o))
	}
	for _, o := range d.Kustomizations {
		fmt.Fprintf(w, "  Kustomization %s/%s: Ready=%s %s %s\n", o.Namespace, o.Name, orDash(o.Ready), o.Revision, failing(o))
	}
	for _, s := range d.Deployments {
		fmt.Fprintf(w, "  Deployment %s/%s: %d/%d ready, %d up to date, %d available (%s)\n", s.Namespace, s.Name,
			s.Ready, s.Want, s.Updated, s.Avail, strings.Join(s.Images, ", "))
	}
}

func failing(o FluxObject) string {
	if o.Ready == "True" {
		return ""
	}
	return "— " + o.Reason + ": " + oneLine(o.Message)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// RequestReconcile annotates every GitRepository and Kustomization in
// flux-system with reconcile.fluxcd.io/requestedAt, as `flux reconcile`
// does, so a new revision is fetched and applied now, not at the interval.
func RequestReconcile(ctx context.Context, dyn dynamic.Interface, at time.Time) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, ReconcileAnnotation, at.UTC().Format(time.RFC3339Nano))
	for _, gvr := range []schema.GroupVersionResource{GitRepositoriesGVR, KustomizationsGVR} {
		l, err := dyn.Resource(gvr).Namespace("flux-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			if isNotFoundOrNoKind(err) {
				continue
			}
			return err
		}
		for _, o := range l.Items {
			if _, err := dyn.Resource(gvr).Namespace("flux-system").Patch(ctx, o.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("requesting reconcile of %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
	}
	return nil
}

// ErrDeliveryFailed wraps a Kustomization or source that failed at the
// revision waited for; its message is Flux's own.
var ErrDeliveryFailed = errors.New("delivery failed")

// terminalReasons are the Kustomization failures a retry at the same
// revision does not cure: the manifests must change. (ArtifactFailed,
// DependencyNotReady and Progressing pass by themselves.)
var terminalReasons = map[string]bool{
	"BuildFailed":          true, // kustomize build or variable substitution
	"ReconciliationFailed": true, // server-side apply refused an object
	"HealthCheckFailed":    true, // a workload did not become ready in time
	"PruneFailed":          true,
}

// DeliveredAt checks whether the revision (a commit SHA) is delivered: the
// FluxInstance and every GitRepository and Kustomization Ready, the sources
// at the commit, each Kustomization's last applied revision the commit, and
// the Deployments of the Kustomizations' namespaces available. It returns
// nil when so, an error wrapping ErrDeliveryFailed when Flux reports a
// failure at that revision, and another error saying what is pending.
func DeliveredAt(d Delivery, commit string) error {
	at := func(rev string) bool { return commit != "" && strings.HasSuffix(rev, commit) }
	if d.Instance == nil {
		return errors.New("no FluxInstance flux-system/flux")
	}
	if d.Instance.Ready != "True" {
		if d.Instance.Ready == "False" && d.Instance.Reason != "Progressing" && d.Instance.Reason != "ProgressingWithRetry" {
			return fmt.Errorf("%w: FluxInstance flux-system/flux: %s: %s", ErrDeliveryFailed, d.Instance.Reason, oneLine(d.Instance.Message))
		}
		return fmt.Errorf("FluxInstance flux-system/flux not Ready yet (%s)", oneLine(d.Instance.Message))
	}
	if len(d.Sources) == 0 || len(d.Kustomizations) == 0 {
		return errors.New("no GitRepository or Kustomization yet")
	}
	for _, o := range d.Sources {
		if !at(o.Revision) {
			if o.Ready == "False" && o.Reason != "Progressing" {
				return fmt.Errorf("%w: GitRepository %s/%s: %s: %s", ErrDeliveryFailed, o.Namespace, o.Name, o.Reason, oneLine(o.Message))
			}
			return fmt.Errorf("GitRepository %s/%s at %q, waiting for %s", o.Namespace, o.Name, o.Revision, commit)
		}
	}
	for _, o := range d.Kustomizations {
		if at(o.Attempted) && o.Ready == "False" && terminalReasons[o.Reason] {
			return fmt.Errorf("%w: Kustomization %s/%s: %s: %s", ErrDeliveryFailed, o.Namespace, o.Name, o.Reason, oneLine(o.Message))
		}
		if !at(o.Revision) || o.Ready != "True" {
			return fmt.Errorf("kustomization %s/%s Ready=%s at %q, waiting for %s", o.Namespace, o.Name, orDash(o.Ready), o.Revision, commit)
		}
	}
	for _, s := range d.Deployments {
		if s.Avail < s.Want || s.Updated < s.Want {
			return fmt.Errorf("deployment %s/%s: %d/%d available", s.Namespace, s.Name, s.Avail, s.Want)
		}
	}
	return nil
}

// WaitDelivered requests a reconcile, then polls until DeliveredAt says
// the commit is delivered (nil), Flux reports a failure at it, or ctx ends;
// progress (what is pending, when it changes) goes to progress.
func WaitDelivered(ctx context.Context, kc kubernetes.Interface, dyn dynamic.Interface, commit string, progress func(string)) (Delivery, error) {
	var d Delivery
	requested := false
	last := ""
	for {
		var err error
		if !requested {
			// The CRDs exist once the operator installed Flux.
			if err = RequestReconcile(ctx, dyn, time.Now()); err == nil {
				requested = true
			}
		}
		if err == nil {
			d, err = ReadDelivery(ctx, kc, dyn)
		}
		if err == nil {
			err = DeliveredAt(d, commit)
			if err == nil {
				return d, nil
			}
			if errors.Is(err, ErrDeliveryFailed) {
				return d, err
			}
		}
		if msg := err.Error(); msg != last && progress != nil {
			progress(msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("waiting for revision %s: %v", commit, err)
		case <-time.After(time.Second):
		}
	}
}

// GetApp fetches url (the app through the load balancer) and returns the
// body of a 200 answer.
func GetApp(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}
