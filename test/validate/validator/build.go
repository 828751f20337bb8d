package validator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const originAnnotation = "config.kubernetes.io/origin"

// originFS is the on-disk file system with one twist: every kustomization it
// serves asks for origin annotations, so each built object can be traced back
// to the file (or generator) it came from.
type originFS struct{ filesys.FileSystem }

func (o originFS) ReadFile(path string) ([]byte, error) {
	b, err := o.FileSystem.ReadFile(path)
	if err != nil {
		return b, err
	}
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		if !strings.Contains(string(b), "buildMetadata:") {
			b = append(append([]byte{}, b...), []byte("\nbuildMetadata: [originAnnotations]\n")...)
		}
	}
	return b, nil
}

// Object is one built manifest with where it came from.
type Object struct {
	Map  map[string]any
	File string // repository-relative file the object was declared in (or the kustomization that generated it)
	// terraform marks an object of a cluster's reference file
	// (flux-system/flux-instance.yaml): Terraform applies it, Flux never does.
	terraform bool
}

func (o Object) Kind() string       { s, _ := o.Map["kind"].(string); return s }
func (o Object) APIVersion() string { s, _ := o.Map["apiVersion"].(string); return s }
func (o Object) Name() string       { return str(o.Map, "metadata", "name") }
func (o Object) Namespace() string  { return str(o.Map, "metadata", "namespace") }

// ID is "Kind namespace/name" (or "Kind name" for cluster-scoped objects).
func (o Object) ID() string {
	if ns := o.Namespace(); ns != "" {
		return o.Kind() + " " + ns + "/" + o.Name()
	}
	return o.Kind() + " " + o.Name()
}

func kustomizationFile(dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return n
		}
	}
	return ""
}

// build runs kustomize in-process on root/rel the way kustomize-controller
// does (load restrictions off, plugins off) and returns the objects.
func build(root, rel string) ([]Object, error) {
	dir := filepath.Join(root, rel)
	if kustomizationFile(dir) == "" {
		return nil, fmt.Errorf("no kustomization.yaml in %s (this repository requires an explicit one in every Flux path)", rel)
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	rm, err := krusty.MakeKustomizer(opts).Run(originFS{filesys.MakeFsOnDisk()}, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", rel, err)
	}
	var out []Object
	for _, r := range rm.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var m map[string]any
		// int64/float64 numbers, as the API server's unstructured decoding produces.
		if err := utiljson.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		file := rel
		if md, ok := m["metadata"].(map[string]any); ok {
			if ann, ok := md["annotations"].(map[string]any); ok {
				if s, ok := ann[originAnnotation].(string); ok {
					var origin struct {
						Path         string `json:"path"`
						ConfiguredIn string `json:"configuredIn"`
					}
					if yaml.Unmarshal([]byte(s), &origin) == nil {
						p := origin.Path
						if p == "" {
							p = origin.ConfiguredIn
						}
						if p != "" {
							if r, err := filepath.Rel(root, filepath.Join(dir, p)); err == nil {
								file = filepath.ToSlash(r)
							}
						}
					}
				}
				delete(ann, originAnnotation)
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
		}
		out = append(out, Object{Map: m, File: file})
	}
	return out, nil
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}
