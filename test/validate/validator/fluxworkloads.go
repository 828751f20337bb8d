package validator

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The Flux controllers and the Flux Operator run in every cluster, but not
// from this tree: Terraform installs the operator, and the operator installs
// the controllers a FluxInstance lists. Monitors that scrape them are checked
// against their real Deployments, read from the flux-operator module (the same
// source as the Flux CRDs): the operator's config/manager/deployment.yaml and
// config/data/flux/<version>/<component>.yaml of the bundled Flux release.

// fluxSource is the CRD source that carries the flux-operator manifests and
// the folder of its bundled Flux release.
func fluxSource(sources []CRDSource) (CRDSource, string, bool) {
	for _, s := range sources {
		if s.Module != "github.com/controlplaneio-fluxcd/flux-operator" {
			continue
		}
		for _, d := range s.Dirs {
			if strings.HasPrefix(d, "config/data/flux/") {
				return s, d, true
			}
		}
	}
	return CRDSource{}, "", false
}

// fluxWorkloads returns the Deployments of the Flux Operator and of the
// controllers a FluxInstance runs, in the FluxInstance's namespace. The
// objects serve cross-object checks only (what a monitor selects), never the
// workload policies: they are upstream's, not this repository's.
func (r *runner) fluxWorkloads(fi Object, components []string) ([]Object, error) {
	src, release, ok := fluxSource(r.opts.Sources)
	if !ok {
		return nil, nil
	}
	dir, err := r.moduleDir(src)
	if err != nil {
		return nil, fmt.Errorf("flux-operator manifests (%s@%s) unavailable: %w", src.Module, src.Version, err)
	}
	ns := fi.Namespace()
	if ns == "" {
		ns = "flux-system"
	}
	files := []string{"config/manager/deployment.yaml"}
	for _, c := range components {
		files = append(files, filepath.ToSlash(filepath.Join(release, c+".yaml")))
	}
	var out []Object
	for _, f := range files {
		objs, err := readObjects(dir, f)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", src.Module, src.Version, err)
		}
		for _, o := range objs {
			if o.Kind() != "Deployment" {
				continue
			}
			meta, _ := o.Map["metadata"].(map[string]any)
			meta["namespace"] = ns
			o.File = src.Module + "@" + src.Version + "/" + f
			out = append(out, o)
		}
	}
	return out, nil
}

// moduleDir is the module cache folder of a source, looked up once per run.
func (r *runner) moduleDir(src CRDSource) (string, error) {
	key := src.Module + "@" + src.Version
	if d, ok := r.modDirs[key]; ok {
		return d.dir, d.err
	}
	dir, err := moduleDir(src)
	r.modDirs[key] = modDir{dir, err}
	return dir, err
}

type modDir struct {
	dir string
	err error
}
