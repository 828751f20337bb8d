package flux

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	fluxInstanceGVR = schema.GroupVersionResource{Group: "fluxcd.controlplane.io", Version: "v1", Resource: "fluxinstances"}
	crdGVR          = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceGVR    = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	secretGVR       = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	deploymentGVR   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// pollInterval is the first wait between polls; polls back off to pollMax.
const (
	pollInterval = 250 * time.Millisecond
	pollMax      = 3 * time.Second
)

// kube is one resource operation's connection, built from the kubeconfig
// attribute (never at plan time).
type kube struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	force  bool
}

func newKube(kubeconfig string, force bool) (*kube, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig does not load: %w", err)
	}
	cfg.UserAgent = FieldManager
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 30 * time.Second
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &kube{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), force: force}, nil
}

// resourceFor maps an object to its REST endpoint, giving namespaced objects
// without a namespace flux-system and clearing it on cluster-scoped ones.
func (k *kube) resourceFor(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		k.mapper.Reset()
		m, err = k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", u.GetAPIVersion(), u.GetKind(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(Namespace)
		}
		return k.dyn.Resource(m.Resource).Namespace(u.GetNamespace()), nil
	}
	u.SetNamespace("")
	return k.dyn.Resource(m.Resource), nil
}

// apply server-side applies one object with our field manager.
func (k *kube) apply(ctx context.Context, u *unstructured.Unstructured) error {
	ri, err := k.resourceFor(u)
	if err != nil {
		return err
	}
	_, err = ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: k.force})
	if err != nil {
		if apierrors.IsConflict(err) && !k.force {
			return fmt.Errorf("applying %s: %w (another field manager owns these fields; set force_conflicts = true to take them over)", refOf(u), err)
		}
		return fmt.Errorf("applying %s: %w", refOf(u), err)
	}
	return nil
}

// poll calls fn with a growing interval until it reports done, fails, or ctx
// ends (then the last "why not yet" is part of the error).
func poll(ctx context.Context, what string, fn func(context.Context) (done bool, why string, err error)) error {
	d := pollInterval
	why := ""
	for {
		done, w, err := fn(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		why = w
		select {
		case <-ctx.Done():
			if why != "" {
				return fmt.Errorf("timed out waiting for %s: %s", what, why)
			}
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(d):
		}
		if d = d * 3 / 2; d > pollMax {
			d = pollMax
		}
	}
}

// condition returns the status, reason and message of one condition in
// status.conditions, and its observedGeneration (0 when absent).
func condition(u *unstructured.Unstructured, typ string) (status, reason, message string, observed int64, found bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, ok := c.(map[string]any)
		if !ok || cm["type"] != typ {
			continue
		}
		status, _ = cm["status"].(string)
		reason, _ = cm["reason"].(string)
		message, _ = cm["message"].(string)
		switch g := cm["observedGeneration"].(type) {
		case int64:
			observed = g
		case float64:
			observed = int64(g)
		}
		return status, reason, message, observed, true
	}
	return "", "", "", 0, false
}

// waitEstablished waits until every CRD is Established with its names
// accepted, then refreshes discovery so the new kinds map.
func (k *kube) waitEstablished(ctx context.Context, names []string) error {
	for _, name := range names {
		err := poll(ctx, "CRD "+name+" to be established", func(ctx context.Context) (bool, string, error) {
			u, err := k.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, "not found", nil
			}
			if err != nil {
				return false, "", err
			}
			est, _, _, _, _ := condition(u, "Established")
			acc, _, msg, _, _ := condition(u, "NamesAccepted")
			if acc == "False" {
				return false, "", fmt.Errorf("CRD %s: names not accepted: %s", name, msg)
			}
			return est == "True", "Established=" + est, nil
		})
		if err != nil {
			return err
		}
	}
	k.mapper.Reset()
	return nil
}

// instanceReady reports whether the FluxInstance is Ready for its current
// generation, with the reason when not.
func instanceReady(u *unstructured.Unstructured) (bool, string) {
	st, reason, msg, observed, found := condition(u, "Ready")
	if !found {
		return false, "no Ready condition yet (is the Flux Operator running?)"
	}
	gen := u.GetGeneration()
	if og, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); ok && observed == 0 {
		observed = og
	}
	if observed != 0 && observed < gen {
		return false, fmt.Sprintf("the operator has not observed generation %d yet (at %d)", gen, observed)
	}
	if st != "True" {
		return false, fmt.Sprintf("Ready=%s %s: %s", st, reason, msg)
	}
	return true, ""
}

func (k *kube) instances() dynamic.ResourceInterface {
	return k.dyn.Resource(fluxInstanceGVR).Namespace(Namespace)
}

// getInstance returns the FluxInstance, nil when it (or its CRD) is gone.
func (k *kube) getInstance(ctx context.Context) (*unstructured.Unstructured, error) {
	u, err := k.instances().Get(ctx, InstanceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

func (k *kube) waitReady(ctx context.Context) error {
	return poll(ctx, "the FluxInstance to become Ready", func(ctx context.Context) (bool, string, error) {
		u, err := k.getInstance(ctx)
		if err != nil {
			return false, "", err
		}
		if u == nil {
			return false, "", errors.New("the FluxInstance disappeared while waiting for it to become Ready")
		}
		ok, why := instanceReady(u)
		return ok, why, nil
	})
}

// operatorAvailable reports whether any operator Deployment is Available.
func (k *kube) operatorAvailable(ctx context.Context, deployments []objectRef) (bool, error) {
	for _, d := range deployments {
		u, err := k.dyn.Resource(deploymentGVR).Namespace(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		if st, _, _, _, _ := condition(u, "Available"); st == "True" {
			if n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas"); n > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// deleteInstance deletes the FluxInstance and waits until it is gone. While
// the operator is not available nobody would run its finalizer, so it is
// removed here; returns whether that happened.
func (k *kube) deleteInstance(ctx context.Context, deployments []objectRef) (strippedFinalizer bool, err error) {
	err = k.instances().Delete(ctx, InstanceName, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting the FluxInstance: %w", err)
	}
	err = poll(ctx, "the FluxInstance to be deleted", func(ctx context.Context) (bool, string, error) {
		u, err := k.getInstance(ctx)
		if err != nil || u == nil {
			return u == nil && err == nil, "", err
		}
		if len(u.GetFinalizers()) == 0 {
			return false, "deletion in progress", nil
		}
		up, err := k.operatorAvailable(ctx, deployments)
		if err != nil {
			return false, "", err
		}
		if up {
			return false, "the Flux Operator is uninstalling Flux (finalizers " + fmt.Sprint(u.GetFinalizers()) + ")", nil
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, err = k.instances().Patch(ctx, InstanceName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, "", fmt.Errorf("removing the FluxInstance finalizers: %w", err)
		}
		strippedFinalizer = true
		return false, "finalizers removed", nil
	})
	return strippedFinalizer, err
}

// deleteRef deletes one object; a missing object or kind is no error.
func (k *kube) deleteRef(ctx context.Context, r objectRef) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	u.SetName(r.Name)
	u.SetNamespace(r.Namespace)
	ri, err := k.resourceFor(u)
	if meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", r, err)
	}
	return nil
}

func (k *kube) deleteSecret(ctx context.Context, name string) error {
	err := k.dyn.Resource(secretGVR).Namespace(Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s/%s: %w", Namespace, name, err)
	}
	return nil
}

// waitCRDsGone waits until the CRDs are deleted (the API server removes
// their custom objects first).
func (k *kube) waitCRDsGone(ctx context.Context, names []string) error {
	for _, name := range names {
		err := poll(ctx, "CRD "+name+" to be deleted", func(ctx context.Context) (bool, string, error) {
			_, err := k.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, "", nil
			}
			return false, "still present", err
		})
		if err != nil {
			return err
		}
	}
	k.mapper.Reset()
	return nil
}

// namespaceGone waits (bounded by ctx) for a namespace to disappear. Namespace
// deletion is the namespace controller's job (kube-controller-manager): when
// a Terminating namespace carries no status conditions after noControllerAfter,
// nothing is processing it and waiting longer is pointless. It returns whether
// the namespace is gone and, if not, why.
func (k *kube) namespaceGone(ctx context.Context, name string, noControllerAfter time.Duration) (bool, string, error) {
	start := time.Now()
	var why string
	err := poll(ctx, "namespace "+name+" to be deleted", func(ctx context.Context) (bool, string, error) {
		u, err := k.dyn.Resource(namespaceGVR).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		why = "phase " + phase
		for _, c := range conds {
			if cm, ok := c.(map[string]any); ok && cm["status"] == "True" {
				why += fmt.Sprintf("; %v: %v", cm["type"], cm["message"])
			}
		}
		if len(conds) == 0 && time.Since(start) > noControllerAfter {
			why = "still Terminating and no namespace controller has processed it (is kube-controller-manager running?)"
			return false, "", errNoNamespaceController
		}
		return false, why, nil
	})
	switch {
	case err == nil:
		return true, "", nil
	case errors.Is(err, errNoNamespaceController), ctx.Err() != nil:
		// Not gone, and why: the caller decides whether that fails the delete.
		return false, why, nil //nolint:nilerr // the answer is "not gone" with its reason, not an error
	default:
		return false, "", err
	}
}

var errNoNamespaceController = errors.New("no namespace controller")
