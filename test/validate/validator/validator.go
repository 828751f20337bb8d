// Package validator checks the Flux + Kustomize tree offline: it builds every
// Kustomization reachable from flux/clusters/* with the kustomize library (as
// kustomize-controller would), then checks each object strictly against the
// Kubernetes Go types or its CRD schema (including CEL rules), and against the
// repository's policies. WriteRender writes what was built, per environment,
// with the CRDs it needs, for the server-side dry-run against a real
// kube-apiserver (test/gitops).
package validator

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one problem: which file, which object, which field, what.
type Finding struct {
	File   string // repository-relative, possibly with :line
	Object string // "Kind namespace/name"
	Field  string // field path inside the object
	Msg    string
}

func (f Finding) String() string {
	s := f.File
	if f.Object != "" {
		s += ": " + f.Object
	}
	if f.Field != "" {
		s += ": " + f.Field
	}
	return s + ": " + f.Msg
}

// Options configure a run.
type Options struct {
	Root     string      // repository root (holds flux/clusters)
	CacheDir string      // where extracted CRD schemas are kept between runs
	Sources  []CRDSource // CRD sources; DefaultCRDSources when nil
	Extra    []string    // further kustomize folders (repo-relative) to build and check, e.g. switched-off components
}

// ClusterReport summarises one cluster entry.
type ClusterReport struct {
	Name           string
	Kustomizations int // Flux Kustomizations, the entry included
	Objects        int
	// Rendered is what lands in the cluster, in apply order: the FluxInstance
	// file (applied by Terraform, not counted in Objects), then every object of
	// every Flux path reachable from the entry, as built.
	Rendered []Object
}

// Report is the outcome of Run.
type Report struct {
	Findings []Finding
	Clusters []ClusterReport
	Warnings []string
	// Extra holds the built objects of each Options.Extra folder that builds.
	Extra map[string][]Object
}

type pathResult struct {
	objs []Object
	err  error
}

type runner struct {
	opts     Options
	schemas  *Schemas
	paths    map[string]*pathResult
	checked  map[string]bool
	findings []Finding
	policies map[string]string // "ns/name" -> filterTags.pattern of every ImagePolicy in any cluster
	modDirs  map[string]modDir // module cache folders by module@version
	warnings []string
	// Object checks wait until every path is built, so that the
	// CustomResourceDefinitions the tree applies itself are known first.
	pending  [][]Object
	clusters []clusterObjects
}

type clusterObjects struct {
	name string
	objs []Object
}

// Run validates the tree under opts.Root.
func Run(opts Options) (*Report, error) {
	if opts.Sources == nil {
		opts.Sources = DefaultCRDSources
	}
	schemas, err := LoadSchemas(opts.CacheDir, opts.Sources)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: opts, schemas: schemas, paths: map[string]*pathResult{}, checked: map[string]bool{}, policies: map[string]string{},
		modDirs: map[string]modDir{}}
	rep := &Report{Warnings: schemas.Warnings, Extra: map[string][]Object{}}

	entries, _ := filepath.Glob(filepath.Join(opts.Root, "flux", "clusters", "*"))
	sort.Strings(entries)
	for _, e := range entries {
		if st, err := os.Stat(e); err != nil || !st.IsDir() {
			continue
		}
		rep.Clusters = append(rep.Clusters, r.cluster(filepath.Base(e)))
	}
	if len(rep.Clusters) == 0 {
		r.add(Finding{File: "flux/clusters", Msg: "no cluster entry points (expected flux/clusters/<name>/)"})
	}
	for _, x := range opts.Extra {
		res := r.build(x)
		if res.err != nil {
			r.add(Finding{File: x, Msg: res.err.Error()})
			continue
		}
		r.checkPath(x, res.objs)
		r.add(checkCluster(res.objs, nil)...)
		rep.Extra[x] = res.objs
	}
	r.flush()
	r.markers()
	rep.Warnings = append(rep.Warnings, r.warnings...)

	sort.Slice(r.findings, func(i, j int) bool { return r.findings[i].String() < r.findings[j].String() })
	seen := map[string]bool{}
	for _, f := range r.findings {
		if s := f.String(); !seen[s] {
			seen[s] = true
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep, nil
}

func (r *runner) add(f ...Finding) { r.findings = append(r.findings, f...) }

func (r *runner) build(rel string) *pathResult {
	if res, ok := r.paths[rel]; ok {
		return res
	}
	objs, err := build(r.opts.Root, rel)
	res := &pathResult{objs: objs, err: err}
	r.paths[rel] = res
	r.learnCRDs(objs)
	return res
}

// checkPath checks every object of a built path once, however many clusters
// include it (when the run flushes).
func (r *runner) checkPath(rel string, objs []Object) {
	if r.checked[rel] {
		return
	}
	r.checked[rel] = true
	r.pending = append(r.pending, objs)
}

// flush runs the checks that need every path built: each object against its
// type or CRD, and each cluster's use of kinds only the tree's CRDs define.
func (r *runner) flush() {
	for _, objs := range r.pending {
		for _, o := range objs {
			r.add(r.checkObject(o)...)
		}
	}
	r.pending = nil
	for _, c := range r.clusters {
		r.add(r.checkTreeKinds(c.name, c.objs)...)
	}
}

// normPath turns a Flux spec.path ("./flux/apps/x") into a clean repo-relative path.
func normPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	return strings.TrimPrefix(p, "/")
}

type fluxKs struct {
	obj  Object
	path string
}

func (r *runner) cluster(name string) ClusterReport {
	entry := "flux/clusters/" + name
	rep := ClusterReport{Name: name}

	// The FluxInstance (applied by Terraform) names the entry path and the controllers.
	var components []string
	var fi *Object
	fiFile := entry + "/flux-system/flux-instance.yaml"
	var terraform []Object // what Terraform applies beside Flux: known to post-build substitution
	if objs, err := readObjects(r.opts.Root, fiFile); err == nil {
		for _, o := range objs {
			o.terraform = true
			terraform = append(terraform, o)
			r.add(r.checkObject(o)...)
			rep.Rendered = append(rep.Rendered, o)
			if o.Kind() != "FluxInstance" {
				continue
			}
			fi = &o
			if p := normPath(str(o.Map, "spec", "sync", "path")); p != entry {
				r.add(Finding{File: fiFile, Object: o.ID(), Field: "spec.sync.path", Msg: fmt.Sprintf("is %q, want %q (the folder this FluxInstance lives in)", p, entry)})
			}
			if cs, ok := get(o.Map, "spec", "components").([]any); ok {
				for _, c := range cs {
					components = append(components, fmt.Sprint(c))
				}
			}
		}
	} else if !os.IsNotExist(err) {
		r.add(Finding{File: fiFile, Msg: err.Error()})
	}

	root := Object{Map: map[string]any{"kind": "Kustomization", "metadata": map[string]any{"name": "flux-system", "namespace": "flux-system"}}, File: fiFile}
	queue := []fluxKs{{obj: root, path: entry}}
	visited := map[string]bool{}
	all := []fluxKs{{obj: root, path: entry}}
	var objects []Object
	ids := map[string]string{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if visited[k.path] {
			continue
		}
		visited[k.path] = true
		if st, err := os.Stat(filepath.Join(r.opts.Root, k.path)); err != nil || !st.IsDir() {
			r.add(Finding{File: k.obj.File, Object: k.obj.ID(), Field: "spec.path", Msg: fmt.Sprintf("%q does not exist", "./"+k.path)})
			continue
		}
		res := r.build(k.path)
		if res.err != nil {
			r.add(Finding{File: k.obj.File, Object: k.obj.ID(), Field: "spec.path", Msg: res.err.Error()})
			continue
		}
		objs, key := res.objs, k.path
		if pb, ok := get(k.obj.Map, "spec", "postBuild").(map[string]any); ok {
			vars, fs := postBuildVars(k.obj, pb, append(append([]Object{}, terraform...), objects...))
			r.add(fs...)
			objs, fs = substitute(k.obj, objs, vars)
			r.add(fs...)
			key += "#postBuild:" + varsKey(vars)
		}
		r.checkPath(key, objs)
		encrypted := ""
		for _, o := range objs {
			objects = append(objects, o)
			key := o.APIVersion() + " " + o.ID()
			if prev, dup := ids[key]; dup && prev != k.path {
				r.add(Finding{File: o.File, Object: o.ID(), Msg: fmt.Sprintf("applied twice in cluster %s (by %s and %s)", name, prev, k.path)})
			}
			ids[key] = k.path
			if o.Kind() == "Secret" && get(o.Map, "sops") != nil && encrypted == "" {
				encrypted = o.ID()
			}
			if o.Kind() == "ImagePolicy" {
				r.policies[o.Namespace()+"/"+o.Name()] = str(o.Map, "spec", "filterTags", "pattern")
			}
			if o.Kind() == "Kustomization" && strings.HasPrefix(o.APIVersion(), "kustomize.toolkit.fluxcd.io/") {
				p := normPath(str(o.Map, "spec", "path"))
				fk := fluxKs{obj: o, path: p}
				all = append(all, fk)
				queue = append(queue, fk)
			}
		}
		if encrypted != "" && k.obj.Name() != "flux-system" && str(k.obj.Map, "spec", "decryption", "provider") != "sops" {
			r.add(Finding{File: k.obj.File, Object: k.obj.ID(), Field: "spec.decryption.provider", Msg: fmt.Sprintf("must be sops: path %s holds the SOPS-encrypted %s", "./"+k.path, encrypted)})
		}
	}
	rep.Kustomizations = len(all)
	rep.Objects = len(objects)
	rep.Rendered = append(rep.Rendered, objects...)
	var platform []Object
	if fi != nil {
		var err error
		if platform, err = r.fluxWorkloads(*fi, components); err != nil {
			r.warnings = append(r.warnings, fmt.Sprintf("cluster %s: %v (monitors of Flux are not checked)", name, err))
		}
	}
	r.add(checkCluster(objects, platform)...)
	r.clusters = append(r.clusters, clusterObjects{name: name, objs: objects})

	// dependsOn targets must exist in the same cluster.
	have := map[string]bool{}
	for _, k := range all {
		have["Kustomization "+k.obj.Namespace()+"/"+k.obj.Name()] = true
	}
	for _, o := range objects {
		if o.Kind() == "HelmRelease" {
			have["HelmRelease "+o.Namespace()+"/"+o.Name()] = true
		}
	}
	for _, o := range objects {
		kind := o.Kind()
		if kind != "Kustomization" && kind != "HelmRelease" || !strings.Contains(o.APIVersion(), "toolkit.fluxcd.io") {
			continue
		}
		deps, _ := get(o.Map, "spec", "dependsOn").([]any)
		for i, d := range deps {
			dm, _ := d.(map[string]any)
			ns, _ := dm["namespace"].(string)
			if ns == "" {
				ns = o.Namespace()
			}
			n, _ := dm["name"].(string)
			if !have[kind+" "+ns+"/"+n] {
				r.add(Finding{File: o.File, Object: o.ID(), Field: fmt.Sprintf("spec.dependsOn[%d].name", i), Msg: fmt.Sprintf("%s %s/%s does not exist in cluster %s", kind, ns, n, name)})
			}
		}
	}

	// Image automation and notifications need their controllers in the FluxInstance.
	if components != nil {
		needs := map[string]string{"ImageRepository": "image-reflector-controller", "ImagePolicy": "image-reflector-controller", "ImageUpdateAutomation": "image-automation-controller",
			"Provider": "notification-controller", "Alert": "notification-controller"}
		for _, o := range objects {
			if c, ok := needs[o.Kind()]; ok && strings.Contains(o.APIVersion(), ".toolkit.fluxcd.io/") && !contains(components, c) {
				r.add(Finding{File: fiFile, Object: "FluxInstance", Field: "spec.components", Msg: fmt.Sprintf("lacks %s, needed by %s", c, o.ID())})
				delete(needs, o.Kind())
			}
		}
	}
	return rep
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
