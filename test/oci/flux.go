package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Flux images. The Flux Operator names a controller's image
// <distribution.registry>/<component>:<tag>, the tag taken from its own
// copy of that Flux release's manifests (config/data/flux/<version>/). For
// the upstream registries (ghcr.io/fluxcd, fluxcd, …) it also pins the
// upstream image digests, which an image built here can never match; for
// any other registry it falls back to the tag alone. So the sandbox's
// FluxInstance sets distribution.registry to FluxRegistry and the images
// are stored there under the tags of FluxDistribution.
const (
	FluxRegistry = "ghcr.io/sre-platform/fluxcd"
	// FluxDistribution is the FluxInstance's version range; the newest
	// release of it in the operator's data gives the tags.
	FluxDistribution = "2.9.x"
	// FluxOperatorRef is the image install.yaml of the operator names.
	FluxOperatorRef     = "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.59.0"
	fluxOperatorModule  = "github.com/controlplaneio-fluxcd/flux-operator"
	fluxOperatorVersion = "v0.59.0"
)

// FluxNames are the Flux images Build knows (each a 5–7 min cold build).
var FluxNames = []string{"source-controller", "kustomize-controller", "helm-controller", "flux-operator"}

// fluxBuilt are the versions test/tools/build.sh compiles.
var fluxBuilt = map[string]string{
	"source-controller":    "v1.9.6",
	"kustomize-controller": "v1.9.6",
	"helm-controller":      "v1.6.4",
}

// fluxOperatorSource is the operator's module source: a writable copy with
// the web UI built (after an operator build), else the module cache.
func (b *Builder) fluxOperatorSource(ctx context.Context) (string, error) {
	src := filepath.Join(b.Cache, "flux-operator", "src", fluxOperatorVersion)
	if _, err := os.Stat(filepath.Join(src, "config", "data")); err == nil {
		return src, nil
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", fluxOperatorModule+"@"+fluxOperatorVersion)
	cmd.Dir = filepath.Join(b.Root, "test", "tools", "flux-operator")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", fluxOperatorModule, fluxOperatorVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s %v", fluxOperatorModule, fluxOperatorVersion, m.Error, err)
	}
	return m.Dir, nil
}

// FluxRelease resolves a version range such as 2.9.x to the newest release
// in the operator's data directory (its config/data/flux).
func FluxRelease(dataDir, distribution string) (string, error) {
	prefix := "v" + strings.TrimSuffix(strings.TrimPrefix(distribution, "v"), "x")
	entries, err := os.ReadDir(filepath.Join(dataDir, "flux"))
	if err != nil {
		return "", err
	}
	var versions []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			versions = append(versions, e.Name())
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("no Flux release matches %s in %s", distribution, dataDir)
	}
	num := func(v string) []int {
		var n []int
		for _, p := range strings.Split(strings.TrimPrefix(v, "v"), ".") {
			i, _ := strconv.Atoi(p)
			n = append(n, i)
		}
		return n
	}
	sort.Slice(versions, func(i, j int) bool {
		a, b := num(versions[i]), num(versions[j])
		for k := range min(len(a), len(b)) {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return versions[len(versions)-1], nil
}

// FluxTag is the tag the operator's manifests of a Flux release give a
// component (image: fluxcd/<component>:<tag>).
func FluxTag(dataDir, release, component string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "flux", release, component+".yaml"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*image:\s*\S*fluxcd/` + regexp.QuoteMeta(component) + `:(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no fluxcd/%s image in Flux %s's manifests", component, release)
	}
	return string(m[1]), nil
}

// Flux builds one Flux image (one of FluxNames) laid out as its upstream
// image: a controller as /usr/local/bin/<component> with the CA bundle,
// user 65534:65534 (kustomize-controller with GNUPGHOME=/tmp; upstream's
// tini is left out, the pod's pause reaps); the operator as /flux-operator
// with its Flux manifests under /data, user 65532:65532.
func (b *Builder) Flux(ctx context.Context, component string) (Built, error) {
	data, err := b.toolBinary(ctx, component)
	if err != nil {
		return Built{}, err
	}
	src, err := b.fluxOperatorSource(ctx)
	if err != nil {
		return Built{}, err
	}
	base, err := distroless()
	if err != nil {
		return Built{}, err
	}
	app := NewTree()
	if component == "flux-operator" {
		if err := app.File("/flux-operator", data, 0o755, Root); err != nil {
			return Built{}, err
		}
		if err := app.HostDir(filepath.Join(src, "config", "data"), "/data", 0o755, 0o644, nil); err != nil {
			return Built{}, fmt.Errorf("flux-operator /data: %w", err)
		}
		license, err := os.ReadFile(filepath.Join(src, "LICENSE"))
		if err != nil {
			return Built{}, err
		}
		if err := app.File("/licenses/LICENSE", license, 0o644, Root); err != nil {
			return Built{}, err
		}
		img, err := NewImage(v1.Config{
			Entrypoint: []string{"/flux-operator"},
			User:       "65532:65532",
			WorkingDir: "/",
			Env:        []string{defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		}, LayerSpec{base, "distroless static-debian12 nonroot files"}, LayerSpec{app, "COPY flux-operator, config/data /data"})
		return Built{Name: component, Refs: []string{FluxOperatorRef}, Image: img}, err
	}

	version, ok := fluxBuilt[component]
	if !ok {
		return Built{}, fmt.Errorf("unknown Flux component %q (known: %s)", component, strings.Join(FluxNames, ", "))
	}
	dataDir := filepath.Join(src, "config", "data")
	release, err := FluxRelease(dataDir, FluxDistribution)
	if err != nil {
		return Built{}, err
	}
	tag, err := FluxTag(dataDir, release, component)
	if err != nil {
		return Built{}, err
	}
	bin := "/usr/local/bin/" + component
	if err := app.File(bin, data, 0o755, Root); err != nil {
		return Built{}, err
	}
	env := []string{defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	if component == "kustomize-controller" {
		env = append(env, "GNUPGHOME=/tmp")
	}
	img, err := NewImage(v1.Config{
		Entrypoint: []string{bin},
		User:       "65534:65534",
		Env:        env,
		Labels: map[string]string{
			"org.opencontainers.image.title":   component,
			"org.opencontainers.image.version": version,
		},
	}, LayerSpec{base, "distroless static-debian12 nonroot files"}, LayerSpec{app, "COPY " + component + " " + bin})
	refs := []string{FluxRegistry + "/" + component + ":" + tag}
	if tag != version {
		refs = append(refs, FluxRegistry+"/"+component+":"+version)
	}
	return Built{Name: component, Refs: refs, Image: img}, err
}
