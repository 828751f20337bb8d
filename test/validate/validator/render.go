package validator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Render file layout written by WriteRender. Every file is multi-document
// YAML; its first line is "# environment: <name>" and every document is
// preceded by "# source: <file>" (repository-relative for the tree, module
// path for CRDs).
const (
	RenderCRDs     = "crds.yaml" // the CRDs every rendered custom kind needs
	RenderClusters = "clusters"  // clusters/<name>.yaml: one per flux/clusters/<name>
	RenderExtra    = "extra"     // extra/<path with / as _>.yaml: one per Options.Extra folder
)

// CustomKinds lists the group/kind of every object that is neither a
// built-in Kubernetes type nor a CRD itself, sorted by group, then kind.
func CustomKinds(objs []Object) []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.APIVersion())
		if err != nil || o.Kind() == "" || gv.Group == "apiextensions.k8s.io" || scheme.Scheme.Recognizes(gv.WithKind(o.Kind())) {
			continue
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: o.Kind()}
		if !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// CRDsFor returns, for every group/kind in kinds, the whole
// CustomResourceDefinition (as published, every version) that defines it:
// the first found in sources, the same priority order as the schema checks.
// Kinds no source defines are returned in missing. Object.File is
// "<module>@<version>/<file>".
func CRDsFor(sources []CRDSource, kinds []schema.GroupKind) (crds []Object, missing []schema.GroupKind, err error) {
	need := map[schema.GroupKind]bool{}
	for _, gk := range kinds {
		need[gk] = true
	}
	found := map[schema.GroupKind]bool{}
	for _, src := range sources {
		if len(found) == len(need) {
			break
		}
		dir, err := moduleDir(src)
		if err != nil {
			return nil, nil, fmt.Errorf("CRD source %s@%s: %w", src.Module, src.Version, err)
		}
		for _, d := range src.Dirs {
			files, _ := filepath.Glob(filepath.Join(dir, d, "*.yaml"))
			for _, f := range files {
				docs, err := readCRDDocs(f)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", f, err)
				}
				for _, m := range docs {
					gk := schema.GroupKind{Group: str(m, "spec", "group"), Kind: str(m, "spec", "names", "kind")}
					if !need[gk] || found[gk] {
						continue
					}
					found[gk] = true
					crds = append(crds, Object{Map: m, File: src.Module + "@" + src.Version + "/" + filepath.ToSlash(filepath.Join(d, filepath.Base(f)))})
				}
			}
		}
	}
	for _, gk := range kinds {
		if !found[gk] {
			missing = append(missing, gk)
		}
	}
	return crds, missing, nil
}

// TreeCRDs splits kinds into those a CustomResourceDefinition among objs
// defines (the tree applies it itself; the first one of each kind is
// returned, with its tree file) and the rest, for the CRD sources.
func TreeCRDs(objs []Object, kinds []schema.GroupKind) (crds []Object, rest []schema.GroupKind) {
	defined := map[schema.GroupKind]Object{}
	for _, o := range objs {
		if !isCRD(o) {
			continue
		}
		gk := schema.GroupKind{Group: str(o.Map, "spec", "group"), Kind: str(o.Map, "spec", "names", "kind")}
		if _, dup := defined[gk]; !dup {
			defined[gk] = o
		}
	}
	for _, gk := range kinds {
		if o, ok := defined[gk]; ok {
			crds = append(crds, Object{Map: o.Map, File: o.File})
			continue
		}
		rest = append(rest, gk)
	}
	return crds, rest
}

// readCRDDocs returns the CustomResourceDefinition documents of a file as
// generic maps.
func readCRDDocs(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []map[string]any
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := utiljson.Unmarshal(j, &m); err != nil {
			return nil, err
		}
		if k, _ := m["kind"].(string); k == "CustomResourceDefinition" {
			out = append(out, m)
		}
	}
}

// RenderSummary counts what WriteRender wrote.
type RenderSummary struct {
	Environments map[string]int // environment -> objects
	CRDs         int
}

// WriteRender writes the objects of every cluster entry and extra folder of
// rep under dir (see RenderClusters, RenderExtra) and, in RenderCRDs, the
// CRDs of every custom kind among them: the tree's own CRD of a kind where it
// applies one (TreeCRDs), else the sources'. Objects are written as built:
// SOPS-encrypted Secrets keep their ciphertext and sops metadata.
func WriteRender(dir string, rep *Report, sources []CRDSource) (*RenderSummary, error) {
	sum := &RenderSummary{Environments: map[string]int{}}
	var all []Object
	write := func(rel, env string, objs []Object) error {
		all = append(all, objs...)
		sum.Environments[env] = len(objs)
		return writeDocs(filepath.Join(dir, rel), env, objs)
	}
	for _, c := range rep.Clusters {
		if err := write(filepath.Join(RenderClusters, c.Name+".yaml"), c.Name, c.Rendered); err != nil {
			return nil, err
		}
	}
	extras := make([]string, 0, len(rep.Extra))
	for x := range rep.Extra {
		extras = append(extras, x)
	}
	sort.Strings(extras)
	for _, x := range extras {
		if err := write(filepath.Join(RenderExtra, strings.ReplaceAll(x, "/", "_")+".yaml"), "extra:"+x, rep.Extra[x]); err != nil {
			return nil, err
		}
	}
	tree, kinds := TreeCRDs(all, CustomKinds(all))
	crds, missing, err := CRDsFor(sources, kinds)
	if err != nil {
		return nil, err
	}
	crds = append(crds, tree...)
	if len(missing) > 0 {
		var names []string
		for _, gk := range missing {
			names = append(names, gk.String())
		}
		return nil, fmt.Errorf("no CRD source defines %s", strings.Join(names, ", "))
	}
	sum.CRDs = len(crds)
	return sum, writeDocs(filepath.Join(dir, RenderCRDs), "crds", crds)
}

func writeDocs(path, env string, objs []Object) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# environment: %s\n", env)
	for _, o := range objs {
		y, err := yaml.Marshal(o.Map)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", o.File, o.ID(), err)
		}
		fmt.Fprintf(&b, "---\n# source: %s\n", o.File)
		b.Write(y)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
