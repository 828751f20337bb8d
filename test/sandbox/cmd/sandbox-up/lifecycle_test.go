package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// testSandbox is a sandbox in a temporary checkout and cache, its output in
// buffers, with short stop timeouts.
func testSandbox(t *testing.T, env map[string]string) (*sandboxEnv, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "environments", "sandbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"PLATFORM_ROOT": root, "PLATFORM_CACHE": filepath.Join(root, ".cache")}
	for k, v := range env {
		vars[k] = v
	}
	var out, errOut bytes.Buffer
	s, err := newSandboxEnv(func(k string) string { return vars[k] }, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	s.stopWait, s.childWait, s.startWait = 5*time.Second, 300*time.Millisecond, 20*time.Second
	if err := os.MkdirAll(s.bin, 0o700); err != nil {
		t.Fatal(err)
	}
	return s, &out, &errOut
}

// The service starts in the background, a second start finds it, status
// shows it with the admin API's clusters, it survives a rebuild of its
// binary, and down stops it and the child it left that ignores SIGTERM, by
// PID, and removes the folder.
func TestServiceStartStatusDown(t *testing.T) {
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"clusters":[{"id":"c1","project":"sandbox","endpoint":"https://127.0.1.1:6443","servers":["sandbox-cp-1"],`+
			`"nodes":["sandbox-cp-1 (server, Ready)"],"apiserver_rss_mib":310,"etcd_rss_mib":42}]}`)
	}))
	defer admin.Close()
	s, out, errOut := testSandbox(t, map[string]string{"PLATFORM_SANDBOX_ADMIN_LISTEN": strings.TrimPrefix(admin.URL, "http://")})
	installFake(t, s.serviceExe())
	t.Setenv("SANDBOX_UP_TEST_PROCESS", "service")
	t.Setenv("SANDBOX_UP_TEST_CHILD", "1")

	if err := s.ensureRunning("/kube", "tok"); err != nil {
		t.Fatalf("start: %v\n%s", err, errOut)
	}
	pid, ok := livePID(s.pidFile(), s.serviceExe())
	if !ok {
		t.Fatalf("not running after start:\n%s", out)
	}
	self, _ := procfs.ReadStat(proc, pid)
	started := []procfs.Proc{self}
	t.Cleanup(func() { killSame(started) })
	if want := fmt.Sprintf("sandbox: started (pid %d), Hetzner API http://127.0.0.1:8480/v1, log %s\n", pid, s.logFile()); out.String() != want {
		t.Errorf("start said %q, want %q", out, want)
	}
	logText, _ := os.ReadFile(s.logFile())
	if want := "fake service --state-dir " + s.stateDir() + " --listen 127.0.0.1:8480 --admin-listen " + s.adminListen +
		" --speed 10 --ipv4-pool 127.0.0.0/8 --kube-bin-dir /kube --token sandbox:tok --nodes real --git-dir " + s.path("git"); !strings.Contains(string(logText), want) {
		t.Errorf("log %q lacks the service's command line %q", logText, want)
	}

	out.Reset()
	if err := s.ensureRunning("/kube", "tok"); err != nil || out.String() != fmt.Sprintf("sandbox: already running (pid %d)\n", pid) {
		t.Errorf("second start: %v %q", err, out)
	}

	out.Reset()
	if !s.status() {
		t.Fatalf("status: not running\n%s", out)
	}
	want := fmt.Sprintf(`sandbox: running (pid %d)
  Hetzner API: http://127.0.0.1:8480/v1 (token in %s)
  admin:       http://%s/admin
  log:         %s
  clusters:
    c1 (project sandbox) endpoint https://127.0.1.1:6443, servers sandbox-cp-1, nodes sandbox-cp-1 (server, Ready), RSS apiserver 310 MiB + etcd 42 MiB
`, pid, s.tokenFile(), s.adminListen, s.logFile())
	if out.String() != want {
		t.Errorf("status:\n%s\nwant:\n%s", out, want)
	}

	// The stubborn child the service started.
	var child procfs.Proc
	eventually(t, "the service's child", func() bool {
		kids := procfs.Descendants(procfs.Table(proc), pid)
		if len(kids) == 1 && ignoresTERM(kids[0].PID) {
			child = kids[0]
			started = append(started, child)
			return true
		}
		return false
	})

	installFake(t, s.serviceExe()) // a rebuild while it runs
	out.Reset()
	if err := s.down(false); err != nil {
		t.Fatalf("down: %v\n%s", err, errOut)
	}
	want = fmt.Sprintf(`sandbox: pid %d did not stop within 0.3s, sending SIGKILL
sandbox: stopped pid %d
sandbox: removed %s
`, child.PID, pid, s.dir)
	if out.String() != want {
		t.Errorf("down:\n%s\nwant:\n%s", out, want)
	}
	for _, p := range []int{pid, child.PID} {
		if now, ok := procfs.ReadStat(proc, p); ok && now.State != 'Z' && (p == pid || now.Start == child.Start) {
			t.Errorf("pid %d still running after down", p)
		}
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", s.dir, err)
	}

	out.Reset()
	if err := s.down(false); err != nil || out.String() != "sandbox: not running\n" {
		t.Errorf("second down: %v %q", err, out)
	}
	out.Reset()
	if s.status() || out.String() != "sandbox: not running\n" {
		t.Errorf("status after down: %q", out)
	}
}

func TestServiceFailsToStart(t *testing.T) {
	s, _, errOut := testSandbox(t, nil)
	installFake(t, s.serviceExe())
	t.Setenv("SANDBOX_UP_TEST_PROCESS", "service")
	t.Setenv("SANDBOX_UP_TEST_FAIL", "1")
	err := s.ensureRunning("/kube", "tok")
	if err == nil || err.Error() != "sandbox: failed to start (log: "+s.logFile()+")" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(errOut.String(), "bind: address already in use") {
		t.Errorf("stderr lacks the log's tail: %q", errOut)
	}
}

// A stale pid file: status says so and fails; down --keep removes only the
// pid file and keeps the state.
func TestStalePIDFileAndKeep(t *testing.T) {
	s, out, _ := testSandbox(t, map[string]string{"PLATFORM_SANDBOX_KEEP": "1"})
	if err := os.MkdirAll(s.stateDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	writePID(t, s.pidFile(), os.Getpid()) // a live pid, but not the service
	if err := os.WriteFile(s.path("terraform.tfstate"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.status() {
		t.Error("status: running")
	}
	want := fmt.Sprintf("sandbox: stale pid file %s (process gone)\nsandbox: not running\n  state kept in %s\n", s.pidFile(), s.stateDir())
	if out.String() != want {
		t.Errorf("status:\n%s\nwant:\n%s", out, want)
	}
	out.Reset()
	if err := s.down(s.keep); err != nil {
		t.Fatal(err)
	}
	want = "sandbox: stale pid file removed\nsandbox: not running\nsandbox: state kept in " + s.dir + "\n"
	if out.String() != want {
		t.Errorf("down --keep:\n%s\nwant:\n%s", out, want)
	}
	if exists(s.pidFile()) || !exists(s.stateDir()) || !exists(s.path("terraform.tfstate")) {
		t.Error("down --keep: pid file left or state removed")
	}
	// Without keep, with Terraform state but no service: no destroy.
	out.Reset()
	if err := s.down(false); err != nil {
		t.Fatal(err)
	}
	want = "sandbox: not running, skipping terraform destroy (the emulator state is removed with it)\nsandbox: not running\nsandbox: removed " + s.dir + "\n"
	if out.String() != want {
		t.Errorf("down:\n%s\nwant:\n%s", out, want)
	}
}

func TestEnsureToken(t *testing.T) {
	s, _, _ := testSandbox(t, nil)
	tok, err := s.ensureToken()
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q, %v", tok, err)
	}
	if st, _ := os.Stat(s.tokenFile()); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode())
	}
	if again, _ := s.ensureToken(); again != tok {
		t.Errorf("second token %q, want the first %q", again, tok)
	}
}

func TestNewSandboxEnv(t *testing.T) {
	s, _, _ := testSandbox(t, nil)
	if s.listen != "127.0.0.1:8480" || s.adminListen != "127.0.0.1:8481" || s.speed != "10" || s.nodes != "real" ||
		s.pool != "127.0.0.0/8" || s.operatorVersion != "v0.59.0" || s.keep || s.dir != filepath.Join(s.cache, "sandbox") {
		t.Errorf("defaults: %+v", s)
	}
	s, _, _ = testSandbox(t, map[string]string{"PLATFORM_SANDBOX_NODES": "api", "PLATFORM_SANDBOX_LISTEN": "127.0.0.1:9", "PLATFORM_KUBE_BIN_DIR": "/k"})
	if s.nodes != "api" || s.listen != "127.0.0.1:9" || s.kubeBinDirs[0] != "/k" {
		t.Errorf("from the environment: %+v", s)
	}
	for env, want := range map[string]string{
		"PLATFORM_SANDBOX_NODES": `sandbox: PLATFORM_SANDBOX_NODES="fake": want real (kubelet + containerd per node) or api (Nodes through the API only)`,
		"PLATFORM_SANDBOX_KEEP":  `sandbox: PLATFORM_SANDBOX_KEEP="fake": want 1 (keep the state) or 0`,
	} {
		root := t.TempDir()
		_ = os.MkdirAll(filepath.Join(root, "environments", "sandbox"), 0o755)
		vars := map[string]string{"PLATFORM_ROOT": root, env: "fake"}
		if _, err := newSandboxEnv(func(k string) string { return vars[k] }, nil, nil); err == nil || err.Error() != want {
			t.Errorf("%s=fake: %v", env, err)
		}
	}
	root := t.TempDir()
	if _, err := newSandboxEnv(func(k string) string { return map[string]string{"PLATFORM_ROOT": root}[k] }, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "is not the repository root") {
		t.Errorf("not a checkout: %v", err)
	}
}

func TestKubeBinDirFromEnvironment(t *testing.T) {
	kube := t.TempDir()
	for _, f := range []string{"kube-apiserver", "etcd"} {
		if err := os.WriteFile(filepath.Join(kube, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, _, _ := testSandbox(t, map[string]string{"PLATFORM_KUBE_BIN_DIR": t.TempDir(), "KUBEBUILDER_ASSETS": kube})
	if d, err := s.kubeBinDir(); err != nil || d != kube {
		t.Errorf("kubeBinDir = %q, %v; want %q (the first folder holding both)", d, err, kube)
	}
}

// killSame kills what a failed test left running, by pid while the pid still
// belongs to the same process.
func killSame(ps []procfs.Proc) {
	for _, p := range ps {
		if now, ok := procfs.ReadStat(proc, p.PID); ok && now.Start == p.Start {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}
