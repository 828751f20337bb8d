// Package fluxoperator assembles the Flux Operator install manifest
// (install.yaml) of a release from the flux-operator Go module's config/
// folder, for machines that cannot download the release asset: the sandbox,
// air-gapped installs and the provider's tests.
//
// The result is what the release's `kustomize build config/default` gives:
// the flux-system Namespace, RBAC, the CRDs, the service account, deployment
// and service of the operator with the release image. It is written to
// <cache>/flux-operator/<version>/install.yaml once per version.
package fluxoperator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	sigyaml "sigs.k8s.io/yaml"
)

const (
	// DefaultVersion is the operator release the provider installs by default.
	DefaultVersion = "v0.59.0"
	// Module is the operator's Go module; its zip carries config/.
	Module = "github.com/controlplaneio-fluxcd/flux-operator"
	// DefaultToolchain is the Go toolchain the module's go.mod asks for, needed
	// even to download it; it is never part of this repository's build.
	DefaultToolchain = "go1.27.3"
)

var versionRE = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// ValidVersion reports whether v is a release tag such as v0.59.0.
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

// ManifestPath is where Ensure keeps the manifest of version under cacheDir.
func ManifestPath(cacheDir, version string) string {
	return filepath.Join(cacheDir, "flux-operator", version, "install.yaml")
}

// Ensure returns the cached install manifest of version under cacheDir,
// assembling it first when it is not there. Safe to call concurrently: the
// file is written to a temporary name and renamed.
func Ensure(cacheDir, version string) (string, error) {
	if !ValidVersion(version) {
		return "", fmt.Errorf("flux-operator version %q: want vX.Y.Z", version)
	}
	p := ManifestPath(cacheDir, version)
	if st, err := os.Stat(p); err == nil && st.Size() > 0 {
		return p, nil
	}
	dir, err := ModuleDir(version)
	if err != nil {
		return "", err
	}
	b, err := Build(dir, version)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".install-*.yaml")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", err
	}
	return p, nil
}

// ModuleDir returns the flux-operator module of version in the Go module
// cache, downloading it through the module proxy when absent. The download
// runs with GOTOOLCHAIN=$PLATFORM_FLUX_OPERATOR_TOOLCHAIN (default
// DefaultToolchain) because the module's go.mod requires it.
func ModuleDir(version string) (string, error) {
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		for _, root := range filepath.SplitList(strings.TrimSpace(string(out))) {
			d := filepath.Join(root, "github.com", "controlplaneio-fluxcd", "flux-operator@"+version)
			if _, err := os.Stat(filepath.Join(d, "config", "default", "kustomization.yaml")); err == nil {
				return d, nil
			}
		}
	}
	toolchain := os.Getenv("PLATFORM_FLUX_OPERATOR_TOOLCHAIN")
	if toolchain == "" {
		toolchain = DefaultToolchain
	}
	tmp, err := os.MkdirTemp("", "flux-operator-download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Dir == "" {
		msg := strings.TrimSpace(info.Error)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg == "" && err != nil {
			msg = err.Error()
		}
		return "", fmt.Errorf("downloading %s@%s (GOTOOLCHAIN=%s go mod download): %s", Module, version, toolchain, msg)
	}
	return info.Dir, nil
}

// kustomization is the part of a kustomization.yaml this package
// understands; anything else makes Build fail rather than produce a
// manifest that differs from the release.
type kustomization struct {
	Namespace string   `json:"namespace"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	} `json:"images"`
}

var knownKustomizationKeys = map[string]bool{
	"apiVersion": true, "kind": true, "namespace": true, "resources": true, "images": true,
}

// clusterScoped are the kinds of the operator manifest that take no
// namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PriorityClass": true, "StorageClass": true, "ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration": true, "APIService": true,
}

// Build renders config/default of the module in moduleDir: resources in
// kustomization order, the kustomization's namespace on namespaced objects,
// and its image overrides on containers. version is recorded in a header
// comment and must match the operator image tag.
func Build(moduleDir, version string) ([]byte, error) {
	type image struct{ name, tag, digest string }
	images := map[string]image{}
	namespace := ""
	var objs []map[string]any
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > 8 {
			return fmt.Errorf("%s: kustomizations nested too deep", dir)
		}
		k, err := readKustomization(dir)
		if err != nil {
			return err
		}
		if k.Namespace != "" && namespace == "" {
			namespace = k.Namespace
		}
		for _, im := range k.Images {
			if _, ok := images[im.Name]; !ok {
				images[im.Name] = image{im.NewName, im.NewTag, im.Digest}
			}
		}
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			st, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("%s: resource %s: %w", dir, r, err)
			}
			if st.IsDir() {
				if err := walk(p, depth+1); err != nil {
					return err
				}
				continue
			}
			docs, err := readObjects(p)
			if err != nil {
				return err
			}
			objs = append(objs, docs...)
		}
		return nil
	}
	if err := walk(filepath.Join(moduleDir, "config", "default"), 0); err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, errors.New("config/default renders no objects")
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Flux Operator %s install manifest, assembled from %s@%s config/default\n", version, Module, version)
	foundImage := false
	for _, obj := range objs {
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			return nil, fmt.Errorf("%s without metadata", kind)
		}
		if namespace != "" && !clusterScoped[kind] {
			meta["namespace"] = namespace
		}
		for _, c := range containers(obj) {
			ref, _ := c["image"].(string)
			name, _, _ := strings.Cut(ref, "@")
			if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
				name = name[:i]
			}
			im, ok := images[name]
			if !ok {
				continue
			}
			if im.name != "" {
				name = im.name
			}
			switch {
			case im.digest != "":
				ref = name + "@" + im.digest
			case im.tag != "":
				ref = name + ":" + im.tag
			default:
				ref = name
			}
			c["image"] = ref
			if strings.HasSuffix(ref, "flux-operator:"+version) {
				foundImage = true
			}
		}
		y, err := sigyaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	if !foundImage {
		return nil, fmt.Errorf("no container runs the flux-operator:%s image: the module's config does not match the version", version)
	}
	return out.Bytes(), nil
}

func readKustomization(dir string) (*kustomization, error) {
	var b []byte
	var err error
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if b, err = os.ReadFile(filepath.Join(dir, name)); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: no kustomization: %w", dir, err)
	}
	var raw map[string]any
	if err := sigyaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for key := range raw {
		if !knownKustomizationKeys[key] {
			return nil, fmt.Errorf("%s: kustomization field %q is not supported by this assembler", dir, key)
		}
	}
	var k kustomization
	if err := sigyaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &k, nil
}

func readObjects(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, doc := range splitDocuments(string(b)) {
		var obj map[string]any
		if err := sigyaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(obj) == 0 {
			continue
		}
		if _, ok := obj["kind"].(string); !ok {
			return nil, fmt.Errorf("%s: a document without kind", path)
		}
		out = append(out, obj)
	}
	return out, nil
}

// splitDocuments splits a multi-document YAML file on "---" lines.
func splitDocuments(s string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

// containers returns the (init) containers of a workload's pod template.
func containers(obj map[string]any) []map[string]any {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := pod[key].([]any)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}
