//go:build imagetest

// The image tests compile the backend, CoreDNS (cached by version; several
// minutes cold) and the SPA, so they sit behind the imagetest build tag and
// run in a tier-3 plan step of their own (test/plan/images.yaml,
// go tool task images:test); the unit tier never compiles them.

package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/sre-platform/platform/test/testenv"
)

func testBuilder(t *testing.T, cache string) *Builder {
	t.Helper()
	if cache == "" {
		cache = testenv.CacheDir()
	}
	return &Builder{Root: testenv.RepoRoot(), Cache: cache, Log: testLog{t}, Version: "test", Commit: "abc1234"}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestImages builds every image once and checks, per image, the runtime
// config the Dockerfiles describe, determinism, and that the layers run.
func TestImages(t *testing.T) {
	ctx := t.Context()
	b := testBuilder(t, "")
	built := map[string]Built{}
	for _, n := range Names {
		img, err := b.Build(ctx, n)
		if err != nil {
			t.Fatalf("build %s: %v", n, err)
		}
		built[n] = img
	}

	t.Run("config", func(t *testing.T) {
		for _, tc := range []struct {
			name, user, workdir string
			entrypoint          []string
			ports               []string
			stop                string
		}{
			{"pause", "65535:65535", "", []string{"/pause"}, nil, ""},
			{"coredns", "65532:65532", "/", []string{"/coredns"}, []string{"53/tcp", "53/udp"}, ""},
			{"backend", "65532:65532", "/home/nonroot", []string{"/backend"}, []string{"8080/tcp"}, ""},
			{"frontend", "101", "", []string{"/usr/local/bin/frontend-entrypoint"}, []string{"8080/tcp", "8081/tcp"}, "SIGQUIT"},
		} {
			cf, err := built[tc.name].Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			var ports []string
			for p := range c.ExposedPorts {
				ports = append(ports, p)
			}
			slices.Sort(ports)
			if c.User != tc.user || c.WorkingDir != tc.workdir || !slices.Equal(c.Entrypoint, tc.entrypoint) ||
				!slices.Equal(ports, tc.ports) || c.StopSignal != tc.stop || cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("%s: user %q workdir %q entrypoint %q ports %q stop %q %s/%s; want %q %q %q %q %q linux/amd64",
					tc.name, c.User, c.WorkingDir, c.Entrypoint, ports, c.StopSignal, cf.OS, cf.Architecture,
					tc.user, tc.workdir, tc.entrypoint, tc.ports, tc.stop)
			}
			// runAsNonRoot needs a numeric, non-zero user.
			uid := strings.Split(c.User, ":")[0]
			if uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
				t.Errorf("%s: user %q is not a numeric non-root uid", tc.name, c.User)
			}
		}
		cf, _ := built["backend"].Image.ConfigFile()
		if cf.Config.Labels["org.opencontainers.image.revision"] != "abc1234" || cf.Config.Healthcheck == nil ||
			!slices.Equal(cf.Config.Healthcheck.Test, []string{"CMD", "/backend", "healthcheck"}) {
			t.Errorf("backend labels %v healthcheck %+v", cf.Config.Labels, cf.Config.Healthcheck)
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		// A second builder with an empty cache compiles and bundles again.
		again := testBuilder(t, t.TempDir())
		for _, n := range []string{"pause", "backend", "frontend"} {
			img, err := again.Build(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := digestOf(t, img.Image), digestOf(t, built[n].Image); got != want {
				t.Errorf("%s rebuilt from the same sources: %s, first build %s", n, got, want)
			}
		}
	})

	t.Run("registry", func(t *testing.T) {
		reg, err := OpenRegistry(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range Names {
			p, err := Publish(reg, built[n])
			if err != nil || !p.Pushed {
				t.Fatalf("publish %s: %+v %v", n, p, err)
			}
			if again, err := Publish(reg, built[n]); err != nil || again.Pushed {
				t.Errorf("second publish of %s: pushed=%v %v, want nothing to do", n, again.Pushed, err)
			}
			t.Logf("%s: %s, %.1f MB compressed, manifest %d bytes, refs %v", n, p.Digest, float64(p.Size)/1e6, p.ManifestSize, p.Refs)
		}
		if _, err := reg.Resolve(BackendRepo + ":" + ContentTag(digestOf(t, built["backend"].Image))); err != nil {
			t.Errorf("content tag: %v", err)
		}
		// Debian's containerd pulls (and unpacks) through hosts.toml mirrors,
		// naming the upstream host in ?ns=, as the sandbox's nodes do.
		refs := []string{PauseRef, CoreDNSRef, BackendRepo + ":" + DevTag, FrontendRepo + ":" + DevTag}
		stored := pullWithContainerd(t, reg, refs...)
		for i, n := range Names {
			if got, want := stored[refs[i]], digestOf(t, built[n].Image).String(); got != want {
				t.Errorf("containerd stored %s as %q, want %s", refs[i], got, want)
			}
		}
	})

	t.Run("run", func(t *testing.T) {
		testenv.Require(t, os.Getuid() == 0, "root (the image's files run chrooted as the image's user)", "run the image tests as root")
		t.Run("backend+frontend", func(t *testing.T) { runApps(t, built) })
		t.Run("coredns", func(t *testing.T) { runCoreDNS(t, built) })
		t.Run("pause", func(t *testing.T) { runPause(t, built) })
	})
}

// rootfs unpacks the image's layers into a new directory, keeping modes,
// owners, symbolic links and file capabilities.
func rootfs(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, h.Name)
			switch h.Typeflag {
			case tar.TypeDir:
				err = os.MkdirAll(p, 0o755)
			case tar.TypeReg:
				var data []byte
				if data, err = io.ReadAll(tr); err == nil {
					err = os.WriteFile(p, data, 0o600)
				}
			case tar.TypeSymlink:
				err = os.Symlink(h.Linkname, p)
			default:
				err = fmt.Errorf("unexpected entry type %c", h.Typeflag)
			}
			if err == nil {
				err = os.Lchown(p, h.Uid, h.Gid)
			}
			if err == nil && h.Typeflag != tar.TypeSymlink {
				err = syscall.Chmod(p, uint32(h.Mode)) // keeps the sticky bit
			}
			if x, ok := h.PAXRecords["SCHILY.xattr.security.capability"]; ok && err == nil {
				err = syscall.Setxattr(p, "security.capability", []byte(x), 0)
			}
			if err != nil {
				t.Fatalf("unpack %s: %v", h.Name, err)
			}
		}
		rc.Close()
	}
	return dir
}

// start runs the image's entrypoint (plus args) chrooted into its rootfs
// as the image's user, with the image's environment plus env. The process
// group is stopped with sig (then SIGKILL) at the end of the test.
func start(t *testing.T, img v1.Image, sig syscall.Signal, env []string, args ...string) *proc {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var uid, gid uint32
	ids := strings.Split(cf.Config.User, ":")
	fmt.Sscan(ids[0], &uid)
	gid = uid
	if len(ids) > 1 {
		fmt.Sscan(ids[1], &gid)
	}
	dir := rootfs(t, img)
	argv := append(slices.Clone(cf.Config.Entrypoint), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	// exec resolves argv[0] on the host; inside the chroot it is the image's path.
	cmd.Path = argv[0]
	cmd.Env = append(slices.Clone(cf.Config.Env), env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     dir,
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}},
		Setpgid:    true,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v in %s: %v", argv, dir, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%v output:\n%s", argv, out.String())
		}
	})
	return &proc{cmd: cmd, out: &out, done: done, root: dir}
}

// proc is a process start runs; out is only safe to read after done.
type proc struct {
	root string // the unpacked rootfs
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitGet polls url until it answers, for up to 20 s.
func waitGet(t *testing.T, url string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runApps starts the backend and, in front of it, the frontend, each from
// its image, and talks to both.
func runApps(t *testing.T, built map[string]Built) {
	// Backend: its own binary from the image, as uid 65532, on loopback.
	bport := testenv.FreePort(t)
	backend := start(t, built["backend"].Image, syscall.SIGTERM, []string{
		fmt.Sprintf("LISTEN_ADDR=127.0.0.1:%d", bport), "DRAIN_DELAY=0s", "ENVIRONMENT=images-test"})
	resp := waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", bport))
	if b := body(t, resp); resp.StatusCode != 200 {
		t.Fatalf("backend /healthz: %d %s", resp.StatusCode, b)
	}
	assertUID(t, backend.pid(), 65532)
	// The image's healthcheck command works from inside the image.
	hc := start(t, built["backend"].Image, syscall.SIGTERM, []string{fmt.Sprintf("LISTEN_ADDR=127.0.0.1:%d", bport)}, "healthcheck")
	if err := hc.waitExit(10 * time.Second); err != nil {
		t.Errorf("backend healthcheck: %v", err) // the output is logged at cleanup
	}

	// Frontend: the entrypoint renders the config with busybox + envsubst
	// and starts Debian's nginx, all from the image, as uid 101, able to
	// write only /tmp (and the logs go to files there: no /dev in a chroot).
	pub, adm := testenv.FreePort(t), testenv.FreePort(t)
	frontend := start(t, built["frontend"].Image, syscall.SIGQUIT, []string{
		fmt.Sprintf("BACKEND_URL=http://127.0.0.1:%d", bport),
		fmt.Sprintf("LISTEN_PORT=127.0.0.1:%d", pub), fmt.Sprintf("ADMIN_LISTEN_PORT=127.0.0.1:%d", adm),
		"NGINX_ERROR_LOG=stderr", "NGINX_ACCESS_LOG=/tmp/nginx/access.log"})
	resp = waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/nginx-health", pub))
	if b := body(t, resp); resp.StatusCode != 200 || b != "ok\n" {
		t.Fatalf("frontend /nginx-health: %d %q", resp.StatusCode, b)
	}
	assertUID(t, frontend.pid(), 101)
	resp = waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/stats", pub)) // an SPA route
	if b := body(t, resp); resp.StatusCode != 200 || !strings.Contains(b, `<div id="app">`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("frontend SPA route: %d CSP %q body %.200s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), b)
	}
	resp = waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/api/info", pub))
	if b := body(t, resp); resp.StatusCode != 200 || !strings.Contains(b, "images-test") {
		t.Errorf("frontend /api/info through nginx to the backend: %d %.300s", resp.StatusCode, b)
	}
	resp = waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", pub))
	if b := body(t, resp); resp.StatusCode != 404 {
		t.Errorf("frontend public /healthz: %d %s, want 404 (admin listener only)", resp.StatusCode, b)
	}
	resp = waitGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", adm))
	if b := body(t, resp); resp.StatusCode != 200 {
		t.Errorf("frontend admin /healthz: %d %s", resp.StatusCode, b)
	}
	// nginx wrote its rendered config, pid file and log under /tmp/nginx,
	// the only place its user may write.
	for _, f := range []string{"nginx.conf", "nginx.pid", "access.log"} {
		if _, err := os.Stat(filepath.Join(frontend.root, "tmp/nginx", f)); err != nil {
			t.Errorf("frontend: %v", err)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(frontend.root, "tmp/nginx/access.log")); !strings.Contains(string(log), `"GET /api/info HTTP/1.1" 200`) {
		t.Errorf("frontend access log lacks the proxied request:\n%s", log)
	}

}

// runCoreDNS queries the image's CoreDNS on loopback.
func runCoreDNS(t *testing.T, built map[string]Built) {
	// CoreDNS as uid 65532 binds port 53 through the file capability the
	// image carries (ip_unprivileged_port_start is 1024 here).
	conf := "probe.test:53 {\n    bind 127.88.0.53\n    hosts {\n        10.1.2.3 ok.probe.test\n    }\n}\n"
	coredns := built["coredns"].Image
	dns := startWithFile(t, coredns, "/tmp/Corefile", conf, "-conf", "/tmp/Corefile")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", "127.88.0.53:53")
	}}
	var addrs []string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		addrs, err = r.LookupHost(ctx, "ok.probe.test")
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.3"}) {
		t.Errorf("CoreDNS from the image: %v %v", addrs, err)
	}
	assertUID(t, dns.pid(), 65532)

}

// runPause checks that pause sleeps until SIGTERM and then exits 0.
func runPause(t *testing.T, built map[string]Built) {
	p := start(t, built["pause"].Image, syscall.SIGKILL, nil)
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("pause exited early: %v", err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.waitExit(5 * time.Second); err != nil {
		t.Errorf("pause after SIGTERM: %v", err)
	}
}

// startWithFile is start with one extra file in a layer on top of the image.
func startWithFile(t *testing.T, img v1.Image, path, content string, args ...string) *proc {
	t.Helper()
	tr := NewTree()
	if err := tr.File(path, []byte(content), 0o644, Root); err != nil {
		t.Fatal(err)
	}
	extra, err := tr.Layer()
	if err != nil {
		t.Fatal(err)
	}
	withFile, err := mutate.AppendLayers(img, extra)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, withFile, syscall.SIGTERM, nil, args...)
}

// waitExit waits for the process to end and reports a non-zero exit.
func (p *proc) waitExit(timeout time.Duration) error {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
	if !p.cmd.ProcessState.Success() {
		return errors.New(p.cmd.ProcessState.String())
	}
	return nil
}

func assertUID(t *testing.T, pid, uid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("status of %d: %v", pid, err)
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
			if f[1] != fmt.Sprint(uid) || f[2] != fmt.Sprint(uid) {
				t.Errorf("process %d runs as uid %s/%s, want %d", pid, f[1], f[2], uid)
			}
			return
		}
	}
}

// TestFluxImages builds the Flux images (each 5–7 min cold, cached by
// version afterwards), checks the names the Flux Operator resolves for the
// sandbox's FluxInstance, and runs every binary from its image as the
// image's user.
func TestFluxImages(t *testing.T) {
	ctx := t.Context()
	b := testBuilder(t, "")
	src, err := b.fluxOperatorSource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(src, "config", "data")
	release, err := FluxRelease(dataDir, FluxDistribution)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range FluxNames {
		t.Run(n, func(t *testing.T) {
			built, err := b.Build(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			want := FluxOperatorRef
			user := "65532:65532"
			if n != "flux-operator" {
				tag, err := FluxTag(dataDir, release, n)
				if err != nil {
					t.Fatal(err)
				}
				want, user = FluxRegistry+"/"+n+":"+tag, "65534:65534"
			}
			if built.Refs[0] != want {
				t.Errorf("refs %v, want %s first (what the operator asks for with Flux %s)", built.Refs, want, release)
			}
			p, err := Publish(reg, built)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := reg.Resolve(want); err != nil || d != p.Digest {
				t.Errorf("Resolve(%s) = %s %v, want %s", want, d, err, p.Digest)
			}
			cf, err := built.Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != user || len(cf.Config.Entrypoint) != 1 {
				t.Errorf("user %q entrypoint %q, want %s and the binary", cf.Config.User, cf.Config.Entrypoint, user)
			}
			t.Logf("%s: %s, %.1f MB compressed, refs %v", n, p.Digest, float64(p.Size)/1e6, p.Refs)
			if n == "flux-operator" {
				root := rootfs(t, built.Image)
				if _, err := os.Stat(filepath.Join(root, "data", "flux", release, "source-controller.yaml")); err != nil {
					t.Errorf("operator image lacks its Flux %s manifests: %v", release, err)
				}
				// The operator refuses to install Flux from a container
				// whose os-release is not distroless/RHEL of a supported
				// version ("failed to read /etc/os-release").
				osr, err := os.ReadFile(filepath.Join(root, "etc", "os-release"))
				if err != nil || !strings.Contains(string(osr), `ID="debian"`) || !strings.Contains(string(osr), `VERSION_ID="12"`) {
					t.Errorf("operator image's /etc/os-release = %q (%v), want Debian 12 (distroless)", osr, err)
				}
			}
			testenv.Require(t, os.Getuid() == 0, "root (the image's files run chrooted as the image's user)", "run the image tests as root")
			help := start(t, built.Image, syscall.SIGKILL, nil, "--help")
			if err := help.waitExit(30 * time.Second); err != nil {
				t.Errorf("%s --help from the image: %v", n, err) // the output is logged at cleanup
			} else if !strings.Contains(help.out.String(), "--") {
				t.Errorf("%s --help printed no flags:\n%s", n, help.out)
			}
		})
	}
}

// pullWithContainerd pulls refs through Debian's containerd and ctr with
// hosts.toml mirrors pointing every upstream host at the registry, as the
// sandbox's nodes are configured, and returns what containerd stored.
func pullWithContainerd(t *testing.T, reg *Registry, refs ...string) map[string]string {
	t.Helper()
	_, okd := exec.LookPath("containerd")
	_, okc := exec.LookPath("ctr")
	testenv.Require(t, okd == nil && okc == nil, "containerd and ctr", "go tool task deps -- nodes (Debian's containerd)")
	testenv.Require(t, os.Getuid() == 0, "root (containerd)", "run the image tests as root")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	dir, err := os.MkdirTemp("", "oci-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(dir, "certs.d")
	for _, host := range []string{"ghcr.io", "registry.k8s.io", "docker.io"} {
		toml := fmt.Sprintf("server = \"https://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", host, l.Addr())
		if err := os.MkdirAll(filepath.Join(hosts, host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hosts, host, "hosts.toml"), []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = &logs, &logs
	daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = daemon.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-daemon.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("containerd log:\n%s", logs.String())
		}
		// Unpacked snapshots are plain directories once nothing is mounted.
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove containerd state: %v", err)
		}
	})
	ctr := func(args ...string) (string, error) {
		out, err := exec.Command("ctr", append([]string{"--address", sock, "--namespace", "oci-test"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := ctr("version"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not answer on its socket within 20 s")
		}
	}
	for _, ref := range refs {
		if out, err := ctr("images", "pull", "--hosts-dir", hosts, ref); err != nil {
			t.Fatalf("ctr images pull %s: %v\n%s", ref, err, out)
		}
	}
	out, err := ctr("images", "ls")
	if err != nil {
		t.Fatalf("ctr images ls: %v\n%s", err, out)
	}
	stored := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 3 {
			stored[f[0]] = f[2] // REF TYPE DIGEST …
		}
	}
	return stored
}
