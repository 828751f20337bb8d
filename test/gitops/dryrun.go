// Package gitops checks the rendered GitOps tree against a real
// kube-apiserver: the CRDs the tree uses are installed, the namespaces
// created, and every object of every environment is server-side applied with
// dryRun=All, so the API server's own decoding, defaulting, OpenAPI and CRD
// schema validation, CEL rules and built-in validation judge each object.
//
// The objects come from the offline validator (test/validate -render), which
// builds each flux/clusters/<name> exactly as kustomize-controller does. See
// docs/delivery.md ("Server-side dry-run").
package gitops

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// FieldManager is the server-side apply field manager of the dry-run.
const FieldManager = "gitops-dryrun"

// Doc is one rendered object with where it came from.
type Doc struct {
	Source string // repository-relative file (or CRD module path), from the "# source:" comment
	Obj    *unstructured.Unstructured
}

// ID is "Kind namespace/name" (or "Kind name" for objects without a namespace).
func (d Doc) ID() string {
	if ns := d.Obj.GetNamespace(); ns != "" {
		return d.Obj.GetKind() + " " + ns + "/" + d.Obj.GetName()
	}
	return d.Obj.GetKind() + " " + d.Obj.GetName()
}

// Env is one rendered environment (a cluster entry, or an extra folder).
type Env struct {
	Name string
	Docs []Doc
}

// ReadEnvFile reads a file written by validator.WriteRender.
func ReadEnvFile(path string) (*Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseEnv(b)
}

// ParseEnv parses multi-document YAML in the validator's render format: an
// optional "# environment: NAME" line first, "# source: FILE" before each
// document.
func ParseEnv(b []byte) (*Env, error) {
	env := &Env{}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return env, nil
		}
		if err != nil {
			return nil, err
		}
		source := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if v, ok := strings.CutPrefix(line, "# environment: "); ok && env.Name == "" {
				env.Name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "# source: "); ok && source == "" {
				source = strings.TrimSpace(v)
			}
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if m == nil {
			continue
		}
		env.Docs = append(env.Docs, Doc{Source: source, Obj: &unstructured.Unstructured{Object: m}})
	}
}

// Failure is one object the API server rejected (or could not be sent).
type Failure struct {
	Env, Source, Kind, Namespace, Name string
	Err                                string
}

func (f Failure) String() string {
	id := f.Kind + " " + f.Name
	if f.Namespace != "" {
		id = f.Kind + " " + f.Namespace + "/" + f.Name
	}
	s := f.Env + ": " + id
	if f.Source != "" {
		s += " (" + f.Source + ")"
	}
	return s + ": " + f.Err
}

func failure(env string, d Doc, err string) Failure {
	return Failure{Env: env, Source: d.Source, Kind: d.Obj.GetKind(), Namespace: d.Obj.GetNamespace(), Name: d.Obj.GetName(), Err: err}
}

// Cluster talks to one API server.
type Cluster struct {
	Dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewCluster builds the dynamic client and a discovery-backed REST mapper.
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
var nsGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// InstallCRDs server-side applies the CRDs for real, waits until each is
// Established and its kinds are in discovery.
func (c *Cluster) InstallCRDs(ctx context.Context, crds []Doc) error {
	for _, d := range crds {
		if d.Obj.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("%s (%s) is not a CustomResourceDefinition", d.ID(), d.Source)
		}
		b, err := json.Marshal(d.Obj.Object)
		if err != nil {
			return err
		}
		force := true
		if _, err := c.Dyn.Resource(crdGVR).Patch(ctx, d.Obj.GetName(), types.ApplyPatchType, b,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}); err != nil {
			return fmt.Errorf("installing CRD %s (%s): %w", d.Obj.GetName(), d.Source, err)
		}
	}
	for _, d := range crds {
		if err := c.waitEstablished(ctx, d.Obj.GetName()); err != nil {
			return err
		}
	}
	// Discovery lags Established by a moment: wait until every kind maps.
	c.mapper.Reset()
	deadline := time.Now().Add(30 * time.Second)
	for _, d := range crds {
		group, _, _ := unstructured.NestedString(d.Obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(d.Obj.Object, "spec", "names", "kind")
		for {
			_, err := c.mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s is Established but %s/%s is not in discovery: %w", d.Obj.GetName(), group, kind, err)
			}
			time.Sleep(200 * time.Millisecond)
			c.mapper.Reset()
		}
	}
	return nil
}

func (c *Cluster) waitEstablished(ctx context.Context, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		u, err := c.Dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, x := range conds {
				cm, _ := x.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					return nil
				}
				if cm["type"] == "NamesAccepted" && cm["status"] == "False" {
					return fmt.Errorf("CRD %s: names not accepted: %v", name, cm["message"])
				}
			}
			last = fmt.Sprint(conds)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CRD %s not Established after 60s (%s)", name, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// platformNamespaces exist before Flux applies anything, with who makes them.
var platformNamespaces = map[string]string{
	"default":         "Kubernetes",
	"kube-system":     "Kubernetes",
	"kube-public":     "Kubernetes",
	"kube-node-lease": "Kubernetes",
	"flux-system":     "the Flux Operator install (Terraform platform_flux_instance)",
}

// NamespacePlan says, per environment, which namespaces its objects use and
// where each comes from.
type NamespacePlan struct {
	All      []string            // every namespace to create, sorted
	Provided map[string][]string // env -> "ns (by who)" for namespaces the tree does not declare but the platform provides
	Missing  []Failure           // objects in a namespace that nothing creates in their environment
}

// PlanNamespaces works out the namespaces. A namespace an object uses must be
// declared by a Namespace object of its environment, be provided by the
// platform (platformNamespaces), or be created by a HelmRelease of the
// environment (spec.install.createNamespace with spec.targetNamespace). An
// extra folder (env name "extra:…") is switched on inside an environment, so
// for it a Namespace of any environment counts.
func PlanNamespaces(envs []*Env) *NamespacePlan {
	p := &NamespacePlan{Provided: map[string][]string{}}
	all := map[string]bool{}
	declaredAnywhere := map[string]bool{}
	for _, e := range envs {
		for _, d := range e.Docs {
			if isNamespace(d.Obj) {
				declaredAnywhere[d.Obj.GetName()] = true
			}
		}
	}
	for _, e := range envs {
		declared := map[string]string{}
		for _, d := range e.Docs {
			if isNamespace(d.Obj) {
				declared[d.Obj.GetName()] = "Namespace"
				all[d.Obj.GetName()] = true
			}
			if d.Obj.GetKind() == "HelmRelease" && strings.HasPrefix(d.Obj.GetAPIVersion(), "helm.toolkit.fluxcd.io/") {
				ns, _, _ := unstructured.NestedString(d.Obj.Object, "spec", "targetNamespace")
				create, _, _ := unstructured.NestedBool(d.Obj.Object, "spec", "install", "createNamespace")
				if ns != "" && create {
					if _, ok := declared[ns]; !ok {
						declared[ns] = "HelmRelease " + d.Obj.GetNamespace() + "/" + d.Obj.GetName() + " (install.createNamespace)"
					}
				}
			}
		}
		provided := map[string]bool{}
		for _, d := range e.Docs {
			ns := d.Obj.GetNamespace()
			if ns == "" {
				continue
			}
			all[ns] = true
			switch by, ok := declared[ns]; {
			case ok && by == "Namespace":
			case ok:
				provided[ns+" (by "+by+")"] = true
			case platformNamespaces[ns] != "":
				provided[ns+" (by "+platformNamespaces[ns]+")"] = true
			case strings.HasPrefix(e.Name, "extra:") && declaredAnywhere[ns]:
				provided[ns+" (declared by the environments that switch this folder on)"] = true
			default:
				p.Missing = append(p.Missing, failure(e.Name, d, fmt.Sprintf("namespace %q is neither declared in this environment nor provided by the platform: Flux would fail to apply it", ns)))
			}
		}
		for s := range provided {
			p.Provided[e.Name] = append(p.Provided[e.Name], s)
		}
		sort.Strings(p.Provided[e.Name])
	}
	for ns := range all {
		p.All = append(p.All, ns)
	}
	sort.Strings(p.All)
	return p
}

func isNamespace(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1"
}

// CreateNamespaces creates each namespace (bare: name only) unless it exists.
// They are real, not dry-run: namespaced objects need their namespace to exist
// even in a dry-run. The Namespace objects of the tree are dry-run applied
// over them like every other object.
func (c *Cluster) CreateNamespaces(ctx context.Context, names []string) error {
	for _, n := range names {
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": n}}}
		if _, err := c.Dyn.Resource(nsGVR).Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

// Result is the outcome of one environment's dry-run.
type Result struct {
	Env      string
	Objects  int // objects sent
	Accepted int
	Failures []Failure
	Notes    []string // objects changed before sending, and why
	Took     time.Duration
}

// applyOrder: Namespaces, then CRDs, then everything else in render order.
func applyOrder(docs []Doc) []Doc {
	rank := func(d Doc) int {
		switch {
		case isNamespace(d.Obj):
			return 0
		case d.Obj.GetKind() == "CustomResourceDefinition" && strings.HasPrefix(d.Obj.GetAPIVersion(), "apiextensions.k8s.io/"):
			return 1
		}
		return 2
	}
	out := append([]Doc(nil), docs...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

const sopsPlaceholder = "sops-encrypted-value"

// prepare returns the object as kustomize-controller would send it. The only
// change: a SOPS-encrypted Secret loses its sops metadata and, since the
// cluster's age key is not here, each encrypted value becomes a placeholder
// (a dry-run checks its structure, not the values).
func prepare(d Doc) (*unstructured.Unstructured, string) {
	if d.Obj.GetKind() != "Secret" || d.Obj.GetAPIVersion() != "v1" || d.Obj.Object["sops"] == nil {
		return d.Obj, ""
	}
	u := d.Obj.DeepCopy()
	delete(u.Object, "sops")
	n := 0
	for key, enc := range map[string]func(string) string{
		"data":       func(string) string { return base64.StdEncoding.EncodeToString([]byte(sopsPlaceholder)) },
		"stringData": func(string) string { return sopsPlaceholder },
	} {
		vals, ok := u.Object[key].(map[string]any)
		if !ok {
			continue
		}
		for k, v := range vals {
			if s, _ := v.(string); strings.HasPrefix(s, "ENC[") {
				vals[k] = enc(s)
				n++
			}
		}
	}
	return u, fmt.Sprintf("%s (%s): SOPS-encrypted: sops metadata removed and %d value(s) replaced by placeholders, as decryption needs the cluster's age key", d.ID(), d.Source, n)
}

// DryRun server-side applies every object of env with dryRun=All, strict
// field validation and FieldManager, Namespaces first, then CRDs, then the
// rest. Nothing is persisted, so environments do not see each other's objects.
func (c *Cluster) DryRun(ctx context.Context, env *Env) *Result {
	start := time.Now()
	r := &Result{Env: env.Name}
	force := true
	opts := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	for _, d := range applyOrder(env.Docs) {
		r.Objects++
		obj, note := prepare(d)
		if note != "" {
			r.Notes = append(r.Notes, note)
		}
		gvk := obj.GroupVersionKind()
		mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			r.Failures = append(r.Failures, failure(env.Name, d, fmt.Sprintf("no API serves %s: %v", gvk, err)))
			continue
		}
		ri := dynamic.ResourceInterface(c.Dyn.Resource(mapping.Resource))
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				r.Failures = append(r.Failures, failure(env.Name, d, "namespaced kind without metadata.namespace (the tree sets every namespace explicitly)"))
				continue
			}
			ri = c.Dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		}
		b, err := json.Marshal(obj.Object)
		if err != nil {
			r.Failures = append(r.Failures, failure(env.Name, d, err.Error()))
			continue
		}
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, b, opts); err != nil {
			r.Failures = append(r.Failures, failure(env.Name, d, apiMessage(err)))
			continue
		}
		r.Accepted++
	}
	r.Took = time.Since(start)
	return r
}

// apiMessage is the API server's message, without client-side wrapping.
func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		msg := st.Message
		if st.Reason != "" {
			msg = string(st.Reason) + ": " + msg
		}
		return msg
	}
	return err.Error()
}
