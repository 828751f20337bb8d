package validator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// CRDSource is one Go module whose zip carries CustomResourceDefinitions.
// The module is fetched with `go mod download -json Module@Version` (so the
// only network needed is the Go module proxy, and the module cache is shared
// with every other build); nothing upstream is committed to this repository.
type CRDSource struct {
	Module    string
	Version   string
	Dirs      []string // folders inside the module holding CRD YAML
	Toolchain string   // GOTOOLCHAIN for `go mod download` when the module's go.mod asks for a newer Go
}

// DefaultCRDSources lists, in priority order (first definition of a kind wins),
// where the CRDs of every custom kind used under flux/ come from.
var DefaultCRDSources = []CRDSource{
	{Module: "github.com/fluxcd/source-controller", Version: "v1.9.6", Dirs: []string{"config/crd/bases"}},
	{Module: "github.com/fluxcd/kustomize-controller", Version: "v1.9.6", Dirs: []string{"config/crd/bases"}},
	// FluxInstance, plus the CRDs of helm-, notification-, image-reflector- and
	// image-automation-controller (their root modules are not served by the proxy).
	{Module: "github.com/controlplaneio-fluxcd/flux-operator", Version: "v0.59.0",
		Dirs: []string{"config/crd/bases", "config/data/flux/v2.9.5"}, Toolchain: "go1.27.3"},
	{Module: "github.com/prometheus-operator/prometheus-operator", Version: "v0.85.0", Dirs: []string{"example/prometheus-operator-crd"}},
	{Module: "github.com/cert-manager/cert-manager", Version: "v1.19.2", Dirs: []string{"deploy/crds"}},
	// Middleware (HSTS on the TLS-terminating ingress) and Traefik's other kinds.
	{Module: "github.com/traefik/traefik/v3", Version: "v3.7.13", Dirs: []string{"docs/content/reference/dynamic-configuration"}},
}

// gvk is group/version/kind as written in apiVersion and kind.
type gvk struct{ Group, Version, Kind string }

func (g gvk) String() string {
	if g.Group == "" {
		return g.Version + "/" + g.Kind
	}
	return g.Group + "/" + g.Version + "/" + g.Kind
}

// crdVersion is what the cache keeps of one served version of a CRD.
type crdVersion struct {
	Group      string                    `json:"group"`
	Kind       string                    `json:"kind"`
	Version    string                    `json:"version"`
	Namespaced bool                      `json:"namespaced"`
	Source     string                    `json:"source"`
	Schema     *apiextv1.JSONSchemaProps `json:"schema"`
}

// compiled is a ready-to-use validator for one CRD version.
type compiled struct {
	meta       crdVersion
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// Schemas resolves custom kinds to compiled CRD schemas. The index of
// available kinds is cached as JSON under the cache folder (one file per CRD
// version), so a warm run neither calls `go` nor parses upstream YAML.
type Schemas struct {
	dir      string
	index    map[gvk]string // -> file in dir
	kinds    map[string][]string
	mu       sync.Mutex
	compiled map[gvk]*compiled
	tree     map[string]string // "group/Kind" -> file of the tree's own CRD (AddTreeCRD)
	Warnings []string
}

// LoadSchemas returns the CRD schemas of sources, downloading and extracting
// them into cacheDir on first use.
func LoadSchemas(cacheDir string, sources []CRDSource) (*Schemas, error) {
	h := sha256.New()
	for _, s := range sources {
		fmt.Fprintf(h, "%s@%s:%s;", s.Module, s.Version, strings.Join(s.Dirs, ","))
	}
	dir := filepath.Join(cacheDir, "crds-"+hex.EncodeToString(h.Sum(nil))[:16])
	s := &Schemas{dir: dir, compiled: map[gvk]*compiled{}}
	if err := s.readIndex(); err == nil {
		return s, nil
	}
	if err := s.extract(sources); err != nil {
		return nil, err
	}
	if err := s.readIndex(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schemas) readIndex() error {
	b, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if err != nil {
		return err
	}
	var idx map[string]string
	if err := json.Unmarshal(b, &idx); err != nil {
		return err
	}
	s.index = map[gvk]string{}
	s.kinds = map[string][]string{}
	for k, file := range idx {
		p := strings.Split(k, "|")
		if len(p) != 3 {
			return fmt.Errorf("bad index key %q", k)
		}
		g := gvk{p[0], p[1], p[2]}
		s.index[g] = file
		gk := p[0] + "/" + p[2]
		s.kinds[gk] = append(s.kinds[gk], p[1])
	}
	for _, v := range s.kinds {
		sort.Strings(v)
	}
	return nil
}

func moduleDir(src CRDSource) (string, error) {
	tmp, err := os.MkdirTemp("", "crd-download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", src.Module+"@"+src.Version)
	cmd.Dir = tmp // outside any module: never touches a go.mod or go.sum
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if src.Toolchain != "" {
		cmd.Env = append(cmd.Env, "GOTOOLCHAIN="+src.Toolchain)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if info.Error != "" {
		return "", errors.New(info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download printed no Dir")
	}
	return info.Dir, nil
}

func (s *Schemas) extract(sources []CRDSource) error {
	tmp := s.dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	index := map[string]string{}
	n := 0
	for _, src := range sources {
		dir, err := moduleDir(src)
		if err != nil {
			// Kinds from this module will then be reported as unknown.
			s.Warnings = append(s.Warnings, fmt.Sprintf("CRD source %s@%s unavailable: %v", src.Module, src.Version, err))
			continue
		}
		for _, d := range src.Dirs {
			files, _ := filepath.Glob(filepath.Join(dir, d, "*.yaml"))
			if len(files) == 0 {
				s.Warnings = append(s.Warnings, fmt.Sprintf("CRD source %s@%s: no YAML in %s", src.Module, src.Version, d))
			}
			for _, f := range files {
				crds, err := readCRDs(f)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				for _, crd := range crds {
					for _, v := range crd.Spec.Versions {
						if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
							continue
						}
						key := crd.Spec.Group + "|" + v.Name + "|" + crd.Spec.Names.Kind
						if _, dup := index[key]; dup {
							continue
						}
						n++
						name := fmt.Sprintf("%03d-%s-%s-%s.json", n, crd.Spec.Group, v.Name, strings.ToLower(crd.Spec.Names.Kind))
						b, err := json.Marshal(crdVersion{
							Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, Version: v.Name,
							Namespaced: crd.Spec.Scope == apiextv1.NamespaceScoped,
							Source:     src.Module + "@" + src.Version + "/" + filepath.ToSlash(filepath.Join(d, filepath.Base(f))),
							Schema:     v.Schema.OpenAPIV3Schema,
						})
						if err != nil {
							return err
						}
						if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
							return err
						}
						index[key] = name
					}
				}
			}
		}
	}
	if len(s.Warnings) > 0 {
		// Do not cache a partial set: the next run retries the download.
		s.dir = tmp
	}
	b, _ := json.MarshalIndent(index, "", " ")
	if err := os.WriteFile(filepath.Join(tmp, "index.json"), b, 0o644); err != nil {
		return err
	}
	if len(s.Warnings) > 0 {
		return nil
	}
	_ = os.RemoveAll(s.dir)
	return os.Rename(tmp, s.dir)
}

func readCRDs(path string) ([]*apiextv1.CustomResourceDefinition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []*apiextv1.CustomResourceDefinition
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil || head.Kind != "CustomResourceDefinition" {
			continue
		}
		crd := &apiextv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			return nil, err
		}
		out = append(out, crd)
	}
}

// Has reports whether any version of group/kind has a CRD.
func (s *Schemas) Has(group, kind string) bool { return len(s.kinds[group+"/"+kind]) > 0 }

// Versions lists the served versions known for group/kind.
func (s *Schemas) Versions(group, kind string) []string { return s.kinds[group+"/"+kind] }

func (s *Schemas) get(g gvk) (*compiled, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[g]; ok {
		return c, nil
	}
	file, ok := s.index[g]
	if !ok {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, file))
	if err != nil {
		return nil, err
	}
	var meta crdVersion
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, err
	}
	c, err := compile(meta)
	if err != nil {
		return nil, err
	}
	s.compiled[g] = c
	return c, nil
}

// compile turns one CRD version's schema into a validator.
func compile(meta crdVersion) (*compiled, error) {
	g := gvk{meta.Group, meta.Version, meta.Kind}
	var internal apiextensions.JSONSchemaProps
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(meta.Schema, &internal, nil); err != nil {
		return nil, err
	}
	ss, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("CRD %s is not structural: %w", g, err)
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &compiled{meta: meta, structural: ss, schema: sv, cel: cel.NewValidator(ss, true, celconfig.PerCallLimit)}, nil
}

// AddTreeCRD makes the kinds of a CustomResourceDefinition that the tree
// applies itself (file is where it is declared) known for the rest of the
// run. It wins over a source's definition of the same kind: it is what the
// cluster gets. Only served versions with a schema are added.
func (s *Schemas) AddTreeCRD(crd *apiextv1.CustomResourceDefinition, file string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tree == nil {
		s.tree = map[string]string{}
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		c, err := compile(crdVersion{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, Version: v.Name,
			Namespaced: crd.Spec.Scope == apiextv1.NamespaceScoped, Source: file, Schema: v.Schema.OpenAPIV3Schema})
		if err != nil {
			return err
		}
		g := gvk{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}
		s.compiled[g] = c
		if _, indexed := s.index[g]; !indexed {
			gk := g.Group + "/" + g.Kind
			s.kinds[gk] = append(s.kinds[gk], g.Version)
			sort.Strings(s.kinds[gk])
		}
		s.tree[g.Group+"/"+g.Kind] = file
	}
	return nil
}

// TreeCRD returns the file of the tree's CustomResourceDefinition of
// group/kind, "" when the tree defines none.
func (s *Schemas) TreeCRD(group, kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tree[group+"/"+kind]
}

// Validate checks obj the way the API server would on create: unknown fields
// (pruning), defaulting, OpenAPI schema and x-kubernetes-validations (CEL).
// It returns nil, false when no CRD defines the kind.
func (s *Schemas) Validate(g gvk, obj map[string]any) ([]fieldErr, bool, error) {
	c, err := s.get(g)
	if err != nil || c == nil {
		return nil, false, err
	}
	var out []fieldErr
	pruned := runtime.DeepCopyJSON(obj)
	unknown := pruning.PruneWithOptions(pruned, c.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		out = append(out, fieldErr{Path: p, Msg: "unknown field (not in the CRD schema of " + c.meta.Source + ")"})
	}
	defaulting.Default(pruned, c.structural)
	var errs field.ErrorList
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, pruned, c.schema)...)
	if c.cel != nil {
		celErrs, _ := c.cel.Validate(context.Background(), nil, c.structural, pruned, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	for _, e := range errs {
		out = append(out, fieldErr{Path: e.Field, Msg: e.ErrorBody()})
	}
	return out, true, nil
}

// fieldErr is one problem at a field path of an object.
type fieldErr struct{ Path, Msg string }
