package oci

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image names and the upstream tags the sandbox's components ask for.
const (
	PauseRef     = "registry.k8s.io/pause:3.10"
	CoreDNSRef   = "registry.k8s.io/coredns/coredns:v1.15.0"
	BackendRepo  = "ghcr.io/sre-platform/backend"
	FrontendRepo = "ghcr.io/sre-platform/frontend"
	// DevTag is the moving tag of the app images built from the checkout;
	// each build is also tagged dev-<first 12 hex digits of its manifest digest>.
	DevTag = "dev"
)

// ContentTag is the immutable tag of an app image: dev-<12 hex digits of
// the manifest digest>.
func ContentTag(d v1.Hash) string { return DevTag + "-" + d.Hex[:12] }

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Built is one image and the references it is published under.
type Built struct {
	Name  string
	Refs  []string
	Image v1.Image
}

// systemFiles adds /etc/passwd and /etc/group with root, nobody and one
// user of the image (uid = gid = id), /etc/nsswitch.conf, and /tmp (1777).
func systemFiles(t *Tree, user string, id int, home string) error {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", user, id, id, user, home)
	group := fmt.Sprintf("root:x:0:\nnobody:x:65534:\n%s:x:%d:\n", user, id)
	return errors.Join(
		t.File("/etc/passwd", []byte(passwd), 0o644, Root),
		t.File("/etc/group", []byte(group), 0o644, Root),
		t.File("/etc/nsswitch.conf", []byte("hosts: files dns\n"), 0o644, Root),
		t.Dir("/tmp", 0o1777, Root),
	)
}

// distrolessOSRelease is static-debian12's /etc/os-release.
const distrolessOSRelease = `PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
`

// distroless adds what gcr.io/distroless/static-debian12:nonroot carries
// for a static binary: users root, nobody and nonroot (65532) with their
// home directories, /tmp, the CA bundle, nsswitch.conf and the base's
// /etc/os-release (the Flux Operator checks it before installing Flux: it
// supports distroless 12 and later).
func distroless() (*Tree, error) {
	t := NewTree()
	steps := []error{
		systemFiles(t, "nonroot", 65532, "/home/nonroot"),
		t.Dir("/root", 0o700, Root),
		t.Dir("/home/nonroot", 0o700, Owner{65532, 65532}),
		t.Dir("/etc/ssl/certs", 0o755, Root),
		t.File("/etc/os-release", []byte(distrolessOSRelease), 0o644, Root),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return nil, fmt.Errorf("CA bundle (Debian package ca-certificates): %w", err)
	}
	return t, t.File("/etc/ssl/certs/ca-certificates.crt", ca, 0o644, Root)
}

// toolBinary compiles (or finds cached) a program pinned by a tools module
// under test/tools and returns its content: test/tools/build.sh COMPONENT.
func (b *Builder) toolBinary(ctx context.Context, component string) ([]byte, error) {
	script := filepath.Join(b.Root, "test", "tools", "build.sh")
	b.logf("%s: test/tools/build.sh %s (cached by version under %s)", component, component, b.Cache)
	cmd := exec.CommandContext(ctx, "bash", script, component)
	cmd.Env = append(os.Environ(), "PLATFORM_CACHE="+b.Cache)
	cmd.Stderr = b.Log
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", component, script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return os.ReadFile(lines[len(lines)-1])
}

// Pause builds the pod sandbox image: test/oci/pause as /pause, user
// 65535, as registry.k8s.io/pause:3.10 is made.
func (b *Builder) Pause(ctx context.Context) (Built, error) {
	bin, err := b.goBuild(ctx, "pause", b.Root, "./test/oci/pause", []string{"test/oci/pause"}, "-ldflags", "-s -w")
	if err != nil {
		return Built{}, fmt.Errorf("pause: %w", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return Built{}, err
	}
	t := NewTree()
	if err := t.File("/pause", data, 0o755, Root); err != nil {
		return Built{}, err
	}
	img, err := NewImage(v1.Config{
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
		Env:        []string{defaultPath},
	}, LayerSpec{t, "ADD pause /pause"})
	return Built{Name: "pause", Refs: []string{PauseRef}, Image: img}, err
}

// CoreDNS builds the cluster DNS image from CoreDNS's module source
// (test/tools/coredns, built by test/tools/build.sh), laid out as CoreDNS's own Dockerfile does:
// /coredns with cap_net_bind_service, user 65532, WORKDIR /, ports 53.
func (b *Builder) CoreDNS(ctx context.Context) (Built, error) {
	data, err := b.toolBinary(ctx, "coredns")
	if err != nil {
		return Built{}, err
	}
	base, err := distroless()
	if err != nil {
		return Built{}, fmt.Errorf("coredns: %w", err)
	}
	t := NewTree()
	const capNetBindService = 10
	if err := t.FileCaps("/coredns", data, 0o755, Root, capNetBindService); err != nil {
		return Built{}, err
	}
	img, err := NewImage(v1.Config{
		Entrypoint:   []string{"/coredns"},
		User:         "65532:65532",
		WorkingDir:   "/",
		Env:          []string{defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		ExposedPorts: Ports("53/tcp", "53/udp"),
	}, LayerSpec{base, "distroless static-debian12 nonroot files"}, LayerSpec{t, "COPY coredns /coredns (cap_net_bind_service=+ep)"})
	return Built{Name: "coredns", Refs: []string{CoreDNSRef}, Image: img}, err
}

// BackendPackage is the backend's main package in its module.
const BackendPackage = "./cmd/backend"

// BackendBuildFlags are the go build flags of the backend binary beyond
// -trimpath (which every build here uses): no msgpack codec, stripped,
// Version and Commit stamped.
func BackendBuildFlags(version, commit string) []string {
	const pkg = "github.com/sre-platform/platform/apps/backend/internal/buildinfo"
	return []string{"-tags", "nomsgpack", "-ldflags", fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s", pkg, version, pkg, commit)}
}

// BackendConfig is the backend image's runtime config: distroless nonroot's
// environment and home, /backend, user 65532:65532, port 8080, the OCI
// labels and the healthcheck of apps/backend/Dockerfile.
func BackendConfig(version, commit string) v1.Config {
	return v1.Config{
		Entrypoint:   []string{"/backend"},
		User:         "65532:65532",
		WorkingDir:   "/home/nonroot",
		Env:          []string{defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		ExposedPorts: Ports("8080/tcp"),
		Labels: map[string]string{
			"org.opencontainers.image.title":    "backend",
			"org.opencontainers.image.source":   "https://github.com/sre-platform/platform",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": commit,
		},
		Healthcheck: &v1.HealthConfig{
			Test:     []string{"CMD", "/backend", "healthcheck"},
			Interval: 10 * time.Second, Timeout: 3 * time.Second, StartPeriod: 5 * time.Second, Retries: 3,
		},
	}
}

// BackendBinary is where the backend image has its binary.
const BackendBinary = "/backend"

// Backend builds apps/backend as its Dockerfile does (static, -trimpath,
// -tags nomsgpack, -s -w, Version and Commit stamped) on the distroless
// nonroot files: /backend, user 65532:65532, port 8080, its healthcheck.
func (b *Builder) Backend(ctx context.Context) (Built, error) {
	bin, err := b.goBuild(ctx, "backend", filepath.Join(b.Root, "apps", "backend"), BackendPackage,
		[]string{"apps/backend"}, BackendBuildFlags(b.Version, b.Commit)...)
	if err != nil {
		return Built{}, fmt.Errorf("backend: %w", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return Built{}, err
	}
	base, err := distroless()
	if err != nil {
		return Built{}, fmt.Errorf("backend: %w", err)
	}
	t := NewTree()
	if err := t.File(BackendBinary, data, 0o755, Root); err != nil {
		return Built{}, err
	}
	img, err := NewImage(BackendConfig(b.Version, b.Commit), LayerSpec{base, "distroless static-debian12 nonroot files"}, LayerSpec{t, "COPY backend /backend"})
	return Built{Name: "backend", Refs: []string{BackendRepo + ":" + DevTag}, Image: img}, err
}

// frontendDist builds the SPA into apps/frontend/dist with the front end's
// own task (npm ci when needed, type check, vite build, bundle budgets),
// unless the dist there was built from the current sources by this builder.
func (b *Builder) frontendDist(ctx context.Context) (string, error) {
	fe := filepath.Join(b.Root, "apps", "frontend")
	dist := filepath.Join(fe, "dist")
	files, err := b.sourceFiles("apps/frontend")
	if err != nil {
		return "", err
	}
	var inputs []string
	for _, f := range files {
		rel := strings.TrimPrefix(f, "apps/frontend/")
		if strings.HasPrefix(rel, "e2e/") || strings.HasPrefix(rel, "docker/") || strings.Contains(rel, ".spec.") ||
			strings.Contains(rel, ".test.") || rel == "Dockerfile" || rel == "nginx.conf.template" {
			continue
		}
		inputs = append(inputs, f)
	}
	key, err := b.sourceKey([]string{"frontend dist"}, inputs...)
	if err != nil {
		return "", err
	}
	stamp := filepath.Join(b.Cache, "images", "frontend-dist.key")
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key {
		if _, err := os.Stat(filepath.Join(dist, "index.html")); err == nil {
			b.logf("frontend: dist current (key %s)", key[:12])
			return dist, nil
		}
	}
	b.logf("frontend: building the SPA (go tool task frontend:build)")
	start := time.Now()
	if err := b.run(ctx, b.Root, nil, "go", "tool", "task", "frontend:build"); err != nil {
		return "", fmt.Errorf("frontend dist: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(stamp, []byte(key), 0o644); err != nil {
		return "", err
	}
	b.logf("frontend: SPA built in %s", time.Since(start).Round(100*time.Millisecond))
	return dist, nil
}

// sharedLibraries lists what the dynamic loader maps for a binary of this
// machine (ldd), the loader itself included; none for a static binary.
func sharedLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if strings.Contains(string(out), "not a dynamic executable") {
		return nil, nil // static: nothing to add
	}
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, out)
	}
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	if len(libs) == 0 {
		return nil, fmt.Errorf("ldd %s names no libraries", bin)
	}
	return libs, nil
}

// Debian package files the frontend image takes from this machine.
const (
	nginxBin    = "/usr/sbin/nginx"       // nginx
	mimeTypes   = "/etc/nginx/mime.types" // nginx-common
	envsubstBin = "/usr/bin/envsubst"     // gettext-base
	busyboxBin  = "/bin/busybox"          // busybox-static
)

// busyboxApplets are the commands the entrypoint, the config renderer and
// the Dockerfile's healthcheck use, as links to busybox.
var busyboxApplets = []string{"sh", "cat", "env", "grep", "ls", "mkdir", "printf", "rm", "sleep", "tr", "wget"}

// Frontend builds the front end image as apps/frontend/Dockerfile describes:
// the SPA (root-owned, read-only for nginx) under /usr/share/nginx/html, the
// nginx config template and its renderer, the entrypoint, user 101, ports
// 8080 and 8081, SIGQUIT, writable state only under NGINX_RUN_DIR (/tmp).
// nginx is Debian's (with the libraries ldd names), the shell and tools are
// busybox as in the alpine-based nginx-unprivileged image.
func (b *Builder) Frontend(ctx context.Context) (Built, error) {
	dist, err := b.frontendDist(ctx)
	if err != nil {
		return Built{}, err
	}
	for _, f := range []struct{ path, pkg string }{{nginxBin, "nginx"}, {mimeTypes, "nginx-common"}, {envsubstBin, "gettext-base"}, {busyboxBin, "busybox-static"}} {
		if _, err := os.Stat(f.path); err != nil {
			return Built{}, fmt.Errorf("frontend: %s missing: install Debian's %s (go tool task deps -- images)", f.path, f.pkg)
		}
	}
	sys := NewTree()
	for _, l := range [][2]string{{"/bin", "usr/bin"}, {"/sbin", "usr/sbin"}, {"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}} {
		if err := sys.Symlink(l[0], l[1]); err != nil {
			return Built{}, err
		}
	}
	steps := []error{
		systemFiles(sys, "nginx", 101, "/nonexistent"),
		sys.Dir("/var/cache/nginx", 0o755, Owner{101, 101}),
	}
	if err := errors.Join(steps...); err != nil {
		return Built{}, err
	}
	for _, bin := range []string{nginxBin, envsubstBin, busyboxBin} {
		libs, err := sharedLibraries(bin)
		if err != nil {
			return Built{}, fmt.Errorf("frontend: %w", err)
		}
		for _, p := range append(libs, bin) {
			if err := sys.HostFile(p); err != nil {
				return Built{}, fmt.Errorf("frontend: %w", err)
			}
		}
	}
	if err := sys.HostFile(mimeTypes); err != nil {
		return Built{}, fmt.Errorf("frontend: %w", err)
	}
	for _, a := range busyboxApplets {
		if err := sys.Symlink("/usr/bin/"+a, "busybox"); err != nil {
			return Built{}, err
		}
	}

	fe := filepath.Join(b.Root, "apps", "frontend")
	app := NewTree()
	for _, f := range FrontendFiles {
		data, err := os.ReadFile(filepath.Join(fe, f.Src))
		if err != nil {
			return Built{}, fmt.Errorf("frontend: %w", err)
		}
		if err := app.File(f.Dst, data, f.Mode, Root); err != nil {
			return Built{}, err
		}
	}
	// The Dockerfile removes dist/.vite (the manifest the bundle check reads).
	if err := app.HostDir(dist, FrontendSPADir, 0o755, 0o644, func(rel string) bool { return rel == ".vite" }); err != nil {
		return Built{}, fmt.Errorf("frontend: dist: %w", err)
	}
	img, err := NewImage(FrontendConfig(b.Version, b.Commit), LayerSpec{sys, "Debian nginx, envsubst, busybox and their libraries"},
		LayerSpec{app, "COPY entrypoint, config template, SPA (dist)"})
	return Built{Name: "frontend", Refs: []string{FrontendRepo + ":" + DevTag}, Image: img}, err
}

// AppFile is a file an app image takes from its folder in the checkout.
type AppFile struct {
	Src  string // relative to the app's folder (the Dockerfile's context)
	Dst  string
	Mode int64
}

// FrontendFiles are the front end image's files from apps/frontend; the SPA
// goes to FrontendSPADir.
var FrontendFiles = []AppFile{
	{"docker/render-nginx-conf.sh", "/usr/local/bin/render-nginx-conf", 0o755},
	{"docker/entrypoint.sh", "/usr/local/bin/frontend-entrypoint", 0o755},
	{"nginx.conf.template", "/etc/nginx/platform/nginx.conf.template", 0o644},
}

// FrontendSPADir is where the front end image serves the SPA from.
const FrontendSPADir = "/usr/share/nginx/html"

// FrontendConfig is the front end image's runtime config: the entrypoint,
// user 101, ports 8080 and 8081, SIGQUIT, the Dockerfile's ENV defaults,
// OCI labels and healthcheck.
func FrontendConfig(version, commit string) v1.Config {
	return v1.Config{
		Entrypoint: []string{"/usr/local/bin/frontend-entrypoint"},
		User:       "101",
		Env: []string{defaultPath,
			"BACKEND_URL=http://backend:8080", "LISTEN_PORT=8080", "ADMIN_LISTEN_PORT=8081",
			"CLIENT_HEADER_TIMEOUT=10s", "CLIENT_BODY_TIMEOUT=10s", "CONN_LIMIT_PER_CLIENT=32", "REAL_IP_FROM=",
			"NGINX_ROOT=/usr/share/nginx/html", "NGINX_RUN_DIR=/tmp/nginx",
			"NGINX_ERROR_LOG=/dev/stderr", "NGINX_ACCESS_LOG=/dev/stdout"},
		ExposedPorts: Ports("8080/tcp", "8081/tcp"),
		StopSignal:   "SIGQUIT",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "frontend",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": commit,
		},
		Healthcheck: &v1.HealthConfig{
			Test:     []string{"CMD-SHELL", `wget -q -O /dev/null "http://127.0.0.1:${LISTEN_PORT##*:}/nginx-health" || exit 1`},
			Interval: 30 * time.Second, Timeout: 3 * time.Second,
		},
	}
}

// Names lists the images Build knows, in build order.
var Names = []string{"pause", "coredns", "backend", "frontend"}

// Build builds the named image (one of Names or FluxNames).
func (b *Builder) Build(ctx context.Context, name string) (Built, error) {
	switch name {
	case "pause":
		return b.Pause(ctx)
	case "coredns":
		return b.CoreDNS(ctx)
	case "backend":
		return b.Backend(ctx)
	case "frontend":
		return b.Frontend(ctx)
	case "source-controller", "kustomize-controller", "helm-controller", "flux-operator":
		return b.Flux(ctx, name)
	}
	return Built{}, fmt.Errorf("unknown image %q (known: %s)", name, strings.Join(append(slices.Clone(Names), FluxNames...), ", "))
}

// Published is what Publish did with one image.
type Published struct {
	Digest v1.Hash
	// Refs are the references the image is now under; Pushed says whether
	// any of them moved (false: the registry already had it all).
	Refs   []string
	Pushed bool
	// Size is the compressed size of config and layers; ManifestSize the
	// manifest's.
	Size, ManifestSize int64
}

// Publish puts built into reg under its refs and, for the app images (tag
// DevTag), also under ContentTag. References already pointing at the same
// digest are left alone.
func Publish(reg *Registry, built Built) (Published, error) {
	d, err := built.Image.Digest()
	if err != nil {
		return Published{}, err
	}
	m, err := built.Image.Manifest()
	if err != nil {
		return Published{}, err
	}
	raw, err := built.Image.RawManifest()
	if err != nil {
		return Published{}, err
	}
	p := Published{Digest: d, ManifestSize: int64(len(raw)), Size: m.Config.Size}
	for _, l := range m.Layers {
		p.Size += l.Size
	}
	for _, ref := range built.Refs {
		p.Refs = append(p.Refs, ref)
		if strings.HasSuffix(ref, ":"+DevTag) {
			p.Refs = append(p.Refs, strings.TrimSuffix(ref, DevTag)+ContentTag(d))
		}
	}
	for _, ref := range p.Refs {
		if cur, err := reg.Resolve(ref); err == nil && cur == d {
			continue
		}
		if err := reg.Put(ref, built.Image); err != nil {
			return Published{}, err
		}
		p.Pushed = true
	}
	return p, nil
}
