package flux

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Names the resource manages; they are fixed by the Flux Operator's
// conventions.
const (
	Namespace              = "flux-system"
	InstanceName           = "flux"
	FluxInstanceAPIVersion = "fluxcd.controlplane.io/v1"
	FluxInstanceKind       = "FluxInstance"
	FieldManager           = "terraform-provider-platform"
	// OperatorFinalizer is what the operator puts on a FluxInstance to
	// uninstall Flux before the object goes.
	OperatorFinalizer = "fluxcd.controlplane.io/finalizer"

	DefaultOperatorVersion     = "v0.59.0"
	DefaultDistributionVersion = "2.x"
	DefaultRegistry            = "ghcr.io/fluxcd"
	DefaultGitSecret           = "flux-system"
	DefaultGHCRSecret          = "ghcr-auth"
	SopsSecret                 = "sops-age"
	SopsSecretKey              = "age.agekey"

	// maxManifestBytes bounds what a manifest URL may return.
	maxManifestBytes = 32 << 20
)

// KnownComponents are the controllers a FluxInstance can run (the CRD's enum).
var KnownComponents = []string{
	"source-controller", "kustomize-controller", "helm-controller", "notification-controller",
	"image-reflector-controller", "image-automation-controller", "source-watcher",
}

// DefaultComponents are the controllers a FluxInstance runs unless
// `components` says otherwise: the four core controllers plus image
// automation.
var DefaultComponents = []string{
	"source-controller", "kustomize-controller", "helm-controller", "notification-controller",
	"image-reflector-controller", "image-automation-controller",
}

// OperatorManifestURL is the pinned upstream install manifest of a release.
func OperatorManifestURL(version string) string {
	return "https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/" + version + "/install.yaml"
}

// manifestSource says where the operator manifest comes from.
type manifestSource struct {
	Path, URL string
}

func (s manifestSource) String() string {
	if s.Path != "" {
		return s.Path
	}
	return s.URL
}

// load reads the manifest from the file or fetches it from the URL.
func (s manifestSource) load(ctx context.Context, hc *http.Client) ([]byte, error) {
	if s.Path != "" {
		b, err := os.ReadFile(s.Path)
		if err != nil {
			return nil, fmt.Errorf("reading operator_manifest_path: %w", err)
		}
		return b, nil
	}
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the operator manifest %s: %w (set operator_manifest_path to a local copy for air-gapped installs)", s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the operator manifest %s: HTTP %d", s.URL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the operator manifest %s: %w", s.URL, err)
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("the operator manifest %s is larger than %d MiB", s.URL, maxManifestBytes>>20)
	}
	return b, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// parseManifest decodes a multi-document YAML (or JSON) manifest into
// objects, expanding `kind: List`. Every object needs apiVersion, kind and
// metadata.name.
func parseManifest(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(raw) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: raw}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", doc, err)
			}
			for i := range l.Items {
				item := l.Items[i]
				if err := checkObject(&item); err != nil {
					return nil, fmt.Errorf("document %d item %d: %w", doc, i+1, err)
				}
				out = append(out, &item)
			}
			continue
		}
		if err := checkObject(u); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("the manifest holds no Kubernetes objects")
	}
	return out, nil
}

func checkObject(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return errors.New("object without apiVersion")
	case u.GetKind() == "":
		return fmt.Errorf("%s object without kind", u.GetAPIVersion())
	case u.GetName() == "":
		return fmt.Errorf("%s %s without metadata.name", u.GetAPIVersion(), u.GetKind())
	}
	return nil
}

// checkOperatorManifest makes sure the manifest can install the operator:
// it must define the FluxInstance CRD.
func checkOperatorManifest(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if isCRD(o) && o.GetName() == "fluxinstances.fluxcd.controlplane.io" {
			return nil
		}
	}
	return errors.New("the manifest does not define the FluxInstance CRD (fluxinstances.fluxcd.controlplane.io); is it the Flux Operator's install.yaml?")
}

func isCRD(u *unstructured.Unstructured) bool {
	return u.GetKind() == "CustomResourceDefinition" && strings.HasPrefix(u.GetAPIVersion(), "apiextensions.k8s.io/")
}

func isNamespace(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1"
}

// applyPhases orders objects for installation: namespaces, then CRDs (which
// must be established before anything uses them), then the rest in manifest
// order.
func applyPhases(objs []*unstructured.Unstructured) (namespaces, crds, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		switch {
		case isNamespace(o):
			namespaces = append(namespaces, o)
		case isCRD(o):
			crds = append(crds, o)
		default:
			rest = append(rest, o)
		}
	}
	return namespaces, crds, rest
}

// objectRef names one installed object in state: "apiVersion kind name" for
// cluster-scoped objects (as far as the manifest says) and
// "apiVersion kind namespace/name" for namespaced ones.
type objectRef struct {
	APIVersion, Kind, Namespace, Name string
}

func refOf(u *unstructured.Unstructured) objectRef {
	return objectRef{u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName()}
}

func (r objectRef) String() string {
	n := r.Name
	if r.Namespace != "" {
		n = r.Namespace + "/" + r.Name
	}
	return r.APIVersion + " " + r.Kind + " " + n
}

func parseRef(s string) (objectRef, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return objectRef{}, fmt.Errorf("object reference %q is not \"apiVersion kind [namespace/]name\"", s)
	}
	r := objectRef{APIVersion: f[0], Kind: f[1], Name: f[2]}
	if ns, name, ok := strings.Cut(f[2], "/"); ok {
		r.Namespace, r.Name = ns, name
	}
	return r, nil
}

func (r objectRef) isCRD() bool {
	return r.Kind == "CustomResourceDefinition" && strings.HasPrefix(r.APIVersion, "apiextensions.k8s.io/")
}

func (r objectRef) isNamespace() bool { return r.Kind == "Namespace" && r.APIVersion == "v1" }

// deleteOrder is the reverse of installation with CRDs after every other
// object and namespaces last.
func deleteOrder(refs []objectRef) (rest, crds, namespaces []objectRef) {
	for i := len(refs) - 1; i >= 0; i-- {
		r := refs[i]
		switch {
		case r.isNamespace():
			namespaces = append(namespaces, r)
		case r.isCRD():
			crds = append(crds, r)
		default:
			rest = append(rest, r)
		}
	}
	return rest, crds, namespaces
}
