package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

type testEngine struct {
	*engine
	tmp, bin string
	out, err *bytes.Buffer
}

// newTestEngine lays the engine out in a temporary folder, with the test
// binary as dockerd (see TestMain) and host facts of a Debian root shell.
// Whatever the test's processes leave running is killed at the end: every
// process whose command line names the temporary folder.
func newTestEngine(t *testing.T) *testEngine {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dockerd", "containerd", "containerd-shim-runc-v2", "app", "docker"} {
		if err := os.Symlink(self, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	e := layout(tmp, filepath.Join(tmp, "cache", "docker"))
	e.startTimeout, e.stopTimeout, e.lockWait = 5*time.Second, 3*time.Second, 300*time.Millisecond
	e.drivers = []string{"overlay2", "vfs"}
	e.hostDirs = []string{filepath.Join(tmp, "host", "run", "docker"), filepath.Join(tmp, "host", "etc", "docker")}
	e.goos, e.uid, e.debian, e.kernel = "linux", 0, true, "6.1.0-test"
	e.findDockerd = func() string { return filepath.Join(bin, "dockerd") }
	e.install = []string{"true"}
	e.proc = "/proc"
	te := &testEngine{engine: e, tmp: tmp, bin: bin, out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	e.stdout, e.stderr = te.out, te.err
	// The stand-in dockerd creates the first host folder, as dockerd creates
	// /run/docker.
	t.Setenv("FAKE_DOCKERD_MKDIR", e.hostDirs[0])
	t.Cleanup(func() {
		for _, p := range procfs.Table("/proc") {
			if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID)); err == nil && bytes.Contains(cl, []byte(tmp)) {
				_ = syscall.Kill(p.PID, syscall.SIGKILL)
			}
		}
	})
	return te
}

// reset empties the captured output.
func (te *testEngine) reset() { te.out.Reset(); te.err.Reset() }

func (te *testEngine) pid(t *testing.T) int {
	t.Helper()
	pid, ok := readPIDFile(te.pidFile)
	if !ok {
		t.Fatalf("no pid file %s", te.pidFile)
	}
	return pid
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

// waitGone waits for the processes to exit (they are signalled by the code
// under test; a zombie counts as gone).
func waitGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range pids {
		for procfs.Alive("/proc", p) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still runs", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// startSleeper starts a process the test owns (a shell that "called start"
// or an unrelated process) and returns its pid.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "300")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	return c
}

func TestStartStatusStop(t *testing.T) {
	te := newTestEngine(t)
	if err := te.start(); err != nil {
		t.Fatalf("start: %v\n%s", err, te.err)
	}
	mustContain(t, "start stdout", te.out.String(), "export DOCKER_HOST=unix://"+te.sock)
	if !regexp.MustCompile(`^dockerd: up in [0-9.]+ s \(pid [0-9]+, storage driver overlay2, log .*dockerd\.log\)\n$`).MatchString(te.err.String()) {
		t.Errorf("start stderr = %q, want one progress line", te.err)
	}
	pid := te.pid(t)
	if !te.isOurs(pid, "dockerd") {
		t.Fatalf("pid file names %d, not the started dockerd", pid)
	}
	b, _ := os.ReadFile(te.verdict)
	if want := "6.1.0-test Docker_version_20.10.24+fake,_build_test\nok\n"; string(b) != want {
		t.Errorf("verdict = %q, want %q", b, want)
	}
	created, _ := os.ReadFile(te.created)
	mustContain(t, "host-created", string(created), te.hostDirs[0], te.hostDirs[1])

	te.reset()
	if !te.status() {
		t.Errorf("status: false, want true (%s)", te.out)
	}
	mustContain(t, "status", te.out.String(), fmt.Sprintf("dockerd: project engine running (pid %d, storage driver overlay2)", pid), "export DOCKER_HOST=")

	te.reset()
	if err := te.start(); err != nil {
		t.Fatalf("second start: %v", err)
	}
	mustContain(t, "second start", te.err.String(), fmt.Sprintf("dockerd: already running (pid %d)", pid))
	if te.pid(t) != pid {
		t.Errorf("second start replaced the engine")
	}

	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mustContain(t, "stop", te.err.String(), fmt.Sprintf("dockerd: stopped dockerd (pid %d)", pid))
	waitGone(t, pid)
	for _, f := range []string{te.sock, te.pidFile, te.created, te.hostDirs[0], te.users} {
		if exists(f) {
			t.Errorf("%s left after stop", f)
		}
	}
	if !exists(te.exec) || !exists(te.data) {
		t.Errorf("stop removed the engine's own state (exec root, data root)")
	}

	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if got := te.err.String(); got != "dockerd: not running (nothing started by this project)\n" {
		t.Errorf("second stop = %q", got)
	}
	te.reset()
	if te.status() {
		t.Errorf("status after stop: true")
	}
	if got := te.out.String(); got != "dockerd: no Docker engine answers\n" {
		t.Errorf("status after stop = %q", got)
	}
}

func TestStartFallsBackToVFS(t *testing.T) {
	te := newTestEngine(t)
	t.Setenv("FAKE_DOCKERD_FAIL", "overlay2")
	if err := te.start(); err != nil {
		t.Fatalf("start: %v\n%s", err, te.err)
	}
	mustContain(t, "start", te.err.String(),
		"dockerd: storage driver overlay2 did not start: failed to start daemon: error initializing graphdriver: driver not supported: overlay2\n",
		"storage driver vfs")
	te.reset()
	te.status()
	mustContain(t, "status", te.out.String(), "storage driver vfs)")
	if err := te.stop(true); err != nil {
		t.Fatal(err)
	}
}

func logRuns(t *testing.T, te *testEngine) int {
	t.Helper()
	b, _ := os.ReadFile(te.log)
	return strings.Count(string(b), "\n==== ")
}

// A host where dockerd does not start is tried once per kernel and dockerd
// version; later checks answer from the kept verdict without starting it.
func TestVerdictIsCachedPerKernelAndVersion(t *testing.T) {
	te := newTestEngine(t)
	t.Setenv("FAKE_DOCKERD_FAIL", "overlay2 vfs")

	want := "dockerd: cannot start: dockerd does not start on this host: failed to start daemon: error initializing graphdriver: driver not supported: vfs (log: " +
		te.log + "; delete " + te.verdict + " to retry)\n"
	// The first check tries both drivers once and keeps the failure.
	if te.canStart() {
		t.Fatalf("can-start with a dockerd that does not start: true")
	}
	if got := te.err.String(); got != want {
		t.Errorf("can-start = %q\nwant        %q", got, want)
	}
	// The second answers from the verdict.
	te.reset()
	if te.canStart() {
		t.Fatalf("second can-start: true")
	}
	if got := te.err.String(); got != want {
		t.Errorf("second can-start = %q\nwant        %q", got, want)
	}
	if n := logRuns(t, te); n != 2 {
		t.Errorf("dockerd ran %d times, want 2 (one probe, two drivers)", n)
	}
	te.reset()
	err := te.start()
	if err == nil || err.Error() != "dockerd: cannot start: dockerd does not start on this host: failed to start daemon: error initializing graphdriver: driver not supported: vfs (log: "+te.log+"; delete "+te.verdict+" to retry)" {
		t.Errorf("start with a failed verdict: %v", err)
	}
	if n := logRuns(t, te); n != 2 {
		t.Errorf("start with a failed verdict ran dockerd again (%d runs)", n)
	}

	// A new kernel: probed again.
	te.kernel = "6.2.0-test"
	te.reset()
	if te.canStart() {
		t.Errorf("can-start on the new kernel: true")
	}
	if n := logRuns(t, te); n != 4 {
		t.Errorf("dockerd ran %d times after a kernel change, want 4", n)
	}

	// A new dockerd that starts: probed, started and stopped, verdict ok.
	t.Setenv("FAKE_DOCKERD_FAIL", "")
	t.Setenv("FAKE_DOCKERD_VERSION", "20.10.25+fake, build test")
	te.reset()
	if !te.canStart() {
		t.Fatalf("can-start with a working dockerd: false (%s)", te.err)
	}
	if got := te.err.String(); got != "dockerd: can start (root on Debian; docker.io from: go tool task deps -- docker)\n" {
		t.Errorf("can-start = %q", got)
	}
	b, _ := os.ReadFile(te.verdict)
	if want := "6.2.0-test Docker_version_20.10.25+fake,_build_test\nok\n"; string(b) != want {
		t.Errorf("verdict = %q, want %q", b, want)
	}
	if exists(te.pidFile) || exists(te.sock) {
		t.Errorf("the probe left its engine running")
	}
	// Kept: no further run.
	runs := logRuns(t, te)
	te.reset()
	if !te.canStart() || logRuns(t, te) != runs {
		t.Errorf("can-start with an ok verdict ran dockerd again or refused: %s", te.err)
	}
}

func TestMissingPrerequisiteIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*engine)
		why  string
	}{
		{"not linux", func(e *engine) { e.goos = "darwin" }, "not Linux (dockerd runs on Linux only)"},
		{"not root", func(e *engine) { e.uid = 1000 }, "not root (dockerd needs root; rootless Docker is not set up by this project)"},
		{"no dockerd, no apt", func(e *engine) { e.findDockerd = func() string { return "" }; e.debian = false },
			"dockerd is not installed and this is not Debian (install Docker with your OS packages)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t)
			tc.set(te.engine)
			if te.canStart() {
				t.Errorf("can-start: true")
			}
			if got := te.err.String(); got != "dockerd: cannot start: "+tc.why+"\n" {
				t.Errorf("can-start = %q", got)
			}
			err := te.start()
			if err == nil || err.Error() != "dockerd: cannot start: "+tc.why {
				t.Errorf("start: %v", err)
			}
			if exists(te.log) {
				t.Errorf("dockerd was run")
			}
		})
	}
	t.Run("install fails", func(t *testing.T) {
		te := newTestEngine(t)
		te.install = []string{"false"}
		if err := te.start(); err == nil || err.Error() != "dockerd: cannot start: installing docker.io failed" {
			t.Errorf("start: %v", err)
		}
	})
	t.Run("dockerd missing after install", func(t *testing.T) {
		te := newTestEngine(t)
		te.findDockerd = func() string { return "" }
		if err := te.start(); err == nil || err.Error() != "dockerd: cannot start: dockerd missing after installing docker.io" {
			t.Errorf("start: %v", err)
		}
	})
}

func TestAnotherEngineAnswers(t *testing.T) {
	te := newTestEngine(t)
	te.dockerCLI = filepath.Join(te.bin, "docker")
	t.Setenv("FAKE_DOCKER_INFO", "ok")
	t.Setenv("DOCKER_HOST", "unix:///elsewhere/docker.sock")
	if err := te.start(); err != nil {
		t.Fatal(err)
	}
	if got := te.out.String(); got != "# using the Docker engine that already answers\n" {
		t.Errorf("start stdout = %q", got)
	}
	mustContain(t, "start", te.err.String(), "dockerd: a Docker engine already answers (unix:///elsewhere/docker.sock); starting none")
	if exists(te.log) {
		t.Errorf("dockerd was run")
	}
	te.reset()
	if !te.status() || !strings.Contains(te.out.String(), "a Docker engine already answers") {
		t.Errorf("status = %q", te.out)
	}
	te.reset()
	if !te.canStart() || te.err.String() != "dockerd: can start: an engine already answers\n" {
		t.Errorf("can-start = %q", te.err)
	}
}

// An engine that died leaves its pid file, socket, containerd, shim and
// container processes: status says so and the next start cleans up first.
func TestStaleStateOfADeadEngine(t *testing.T) {
	te := newTestEngine(t)
	t.Setenv("FAKE_DOCKERD_TREE", "1")
	if err := te.start(); err != nil {
		t.Fatalf("start: %v\n%s", err, te.err)
	}
	old := te.pid(t)
	tree := waitTree(t, old)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old)

	te.reset()
	if te.status() {
		t.Errorf("status with a dead engine: true")
	}
	mustContain(t, "status", te.out.String(), "dockerd: stale pid file "+te.pidFile+" (run: bash hack/dockerd.sh stop)")

	te.reset()
	if err := te.start(); err != nil {
		t.Fatalf("start over stale state: %v\n%s", err, te.err)
	}
	mustContain(t, "start", te.err.String(),
		fmt.Sprintf("dockerd: stale pid file (pid %d is not this project's dockerd): removed", old),
		fmt.Sprintf("dockerd: killed container pids %d", tree["app"]),
		"dockerd: stopped containerd/shim pids ",
		"dockerd: up in ")
	waitGone(t, tree["containerd"], tree["containerd-shim"], tree["app"])
	if te.pid(t) == old {
		t.Errorf("pid file still names the dead engine")
	}
	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	// The new engine's tree is gone too: dockerd stopped its containerd, the
	// shim and its container were stopped by the command.
	te2 := waitTreeGone(t, te.tmp)
	if te2 != "" {
		t.Errorf("left running after stop: %s", te2)
	}
}

// waitTree waits until the stand-in dockerd has started containerd, shim and
// app, and returns their pids by command name.
func waitTree(t *testing.T, dockerd int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]int{}
		for _, p := range procfs.Descendants(procfs.Table("/proc"), dockerd) {
			got[p.Comm] = p.PID
		}
		if len(got) == 3 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("process tree below dockerd: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitTreeGone describes the processes whose command line names dir, after
// giving them a moment to exit ("" when none is left).
func waitTreeGone(t *testing.T, dir string) string {
	t.Helper()
	var left []string
	for i := 0; i < 50; i++ {
		left = left[:0]
		for _, p := range procfs.Table("/proc") {
			cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
			if err == nil && p.State != 'Z' && bytes.Contains(cl, []byte(dir)) {
				left = append(left, fmt.Sprintf("%d %s", p.PID, p.Comm))
			}
		}
		if len(left) == 0 {
			return ""
		}
		time.Sleep(100 * time.Millisecond)
	}
	return strings.Join(left, ", ")
}

// A pid file naming someone else's process: never signalled.
func TestStopSignalsOnlyItsOwnProcesses(t *testing.T) {
	te := newTestEngine(t)
	if err := os.MkdirAll(te.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An unrelated process under the recorded pid (a recycled pid).
	other := startSleeper(t)
	if err := writePIDFile(te.pidFile, other.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// A dockerd that is not this project's (another socket), whose
	// containerd is also not ours.
	foreign := exec.Command(filepath.Join(te.bin, "dockerd"), "-H", "unix://"+filepath.Join(t.TempDir(), "d.sock"),
		"--pidfile", filepath.Join(t.TempDir(), "pid"), "--exec-root", filepath.Join(t.TempDir(), "exec"))
	foreign.Env = append(os.Environ(), "FAKE_DOCKERD_TREE=1")
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = foreign.Process.Kill(); _ = foreign.Wait() })
	foreignTree := waitTree(t, foreign.Process.Pid)

	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "stop", te.err.String(), fmt.Sprintf("dockerd: stale pid file (pid %d is not this project's dockerd): removed", other.Process.Pid))
	if strings.Contains(te.err.String(), "stopped") || strings.Contains(te.err.String(), "killed") {
		t.Errorf("stop signalled something: %q", te.err)
	}
	time.Sleep(200 * time.Millisecond)
	for name, pid := range map[string]int{"sleep": other.Process.Pid, "dockerd": foreign.Process.Pid,
		"containerd": foreignTree["containerd"], "shim": foreignTree["containerd-shim"], "app": foreignTree["app"]} {
		if !procfs.Alive("/proc", pid) {
			t.Errorf("stop ended the foreign %s (pid %d)", name, pid)
		}
	}
	if exists(te.pidFile) {
		t.Errorf("stale pid file kept")
	}
}

// While a shell that called start lives, another shell's stop leaves the
// engine running; --force, or that shell's exit, stops it.
func TestStopLeavesEngineToLiveUsers(t *testing.T) {
	te := newTestEngine(t)
	shell := startSleeper(t)
	te.caller = shell.Process.Pid
	if err := te.start(); err != nil {
		t.Fatalf("start: %v\n%s", err, te.err)
	}
	pid := te.pid(t)
	if !exists(filepath.Join(te.users, fmt.Sprint(shell.Process.Pid))) {
		t.Fatalf("caller %d not registered", shell.Process.Pid)
	}
	te.caller, te.forget = os.Getpid(), []int{os.Getpid()}
	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	if got, want := te.err.String(), fmt.Sprintf("dockerd: still used by shell pid(s) %d; leaving it running (stop --force stops it anyway)\n", shell.Process.Pid); got != want {
		t.Errorf("stop = %q, want %q", got, want)
	}
	if !procfs.Alive("/proc", pid) {
		t.Fatalf("engine stopped under a live user")
	}
	// The user's shell ends: the next stop stops the engine.
	_ = shell.Process.Kill()
	_ = shell.Wait()
	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "stop", te.err.String(), fmt.Sprintf("stopped dockerd (pid %d)", pid))
	waitGone(t, pid)

	// --force with a live user.
	shell2 := startSleeper(t)
	te.caller = shell2.Process.Pid
	if err := te.start(); err != nil {
		t.Fatal(err)
	}
	pid = te.pid(t)
	te.reset()
	if err := te.stop(true); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "stop --force", te.err.String(), fmt.Sprintf("stopped dockerd (pid %d)", pid))
	waitGone(t, pid)
	if exists(te.users) {
		t.Errorf("users left after stop --force")
	}

	// The caller's own registration is forgotten by its own stop.
	te.caller, te.forget = shell2.Process.Pid, []int{shell2.Process.Pid}
	if err := te.start(); err != nil {
		t.Fatal(err)
	}
	pid = te.pid(t)
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	te := newTestEngine(t)
	t.Setenv("FAKE_DOCKERD_STUBBORN", "1")
	te.stopTimeout = 500 * time.Millisecond
	if err := te.start(); err != nil {
		t.Fatal(err)
	}
	pid := te.pid(t)
	te.reset()
	if err := te.stop(false); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "stop", te.err.String(),
		fmt.Sprintf("dockerd: dockerd (pid %d) still running after 0.5s: SIGKILL\n", pid),
		fmt.Sprintf("dockerd: stopped dockerd (pid %d)\n", pid))
	waitGone(t, pid)
}

// A dockerd that never answers is stopped after the start timeout, for each
// driver, and the verdict says it did not start.
func TestStartTimesOut(t *testing.T) {
	te := newTestEngine(t)
	t.Setenv("FAKE_DOCKERD_MUTE", "1")
	te.startTimeout = 500 * time.Millisecond
	err := te.start()
	if err == nil || err.Error() != "dockerd: failed to start (log: "+te.log+")" {
		t.Fatalf("start: %v", err)
	}
	if n := strings.Count(te.err.String(), "dockerd: no answer on "+te.sock+" after 0.5s\n"); n != 2 {
		t.Errorf("start stderr = %q, want two timeouts", te.err)
	}
	b, _ := os.ReadFile(te.verdict)
	mustContain(t, "verdict", string(b), "\nfail: dockerd exited or did not answer\n")
	if left := waitTreeGone(t, te.tmp); left != "" {
		t.Errorf("left running: %s", left)
	}
	if exists(te.pidFile) || exists(te.created) {
		t.Errorf("state left after a failed start")
	}
}

func TestStartWaitsForTheLock(t *testing.T) {
	te := newTestEngine(t)
	if err := os.MkdirAll(te.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(te.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !tryLock(f) {
		t.Fatal("could not take the lock")
	}
	for name, op := range map[string]func() error{"start": te.start, "stop": func() error { return te.stop(false) }} {
		if err := op(); err == nil || err.Error() != "dockerd: another start/stop holds "+filepath.Join(te.dir, "lock") {
			t.Errorf("%s under a held lock: %v", name, err)
		}
	}
	if exists(te.log) {
		t.Errorf("dockerd ran under a held lock")
	}
}

func TestLayoutShortensDeepExecRoot(t *testing.T) {
	e := layout("/src/platform", "/src/platform/.cache/docker")
	if e.exec != "/src/platform/.cache/docker/exec" {
		t.Errorf("exec = %s", e.exec)
	}
	deep := "/" + strings.Repeat("d", 80)
	e = layout(deep, deep+"/.cache/docker")
	if !regexp.MustCompile(`^/tmp/platform-docker\.[0-9a-f]{12}$`).MatchString(e.exec) {
		t.Errorf("deep exec = %s", e.exec)
	}
	if e2 := layout(deep, deep+"/.cache/docker"); e2.exec != e.exec {
		t.Errorf("exec root not stable: %s, %s", e.exec, e2.exec)
	}
	if e3 := layout(deep+"x", deep+"x/.cache/docker"); e3.exec == e.exec {
		t.Errorf("two checkouts share %s", e.exec)
	}
}

func TestOwnMounts(t *testing.T) {
	mi := `22 1 0:21 / /proc rw - proc proc rw
101 22 0:50 / /r/.cache/docker/data rw - ext4 /dev/sda rw
102 101 0:51 / /r/.cache/docker/data/overlay2/abc/merged rw - overlay overlay rw
103 22 0:52 / /r/.cache/docker/exec/netns/x rw - nsfs nsfs rw
104 22 0:53 / /r/.cache/docker/data\040two rw - tmpfs tmpfs rw
105 22 0:54 / /r/.cache/dockerx/y rw - tmpfs tmpfs rw
106 101 0:51 / /r/.cache/docker/data/overlay2/abc/merged rw - overlay overlay rw
`
	got := ownMounts(strings.NewReader(mi), "/r/.cache/docker", "/r/.cache/docker/exec", "/r/.cache/docker/data")
	want := []string{
		"/r/.cache/docker/data/overlay2/abc/merged",
		"/r/.cache/docker/data/overlay2/abc/merged",
		"/r/.cache/docker/exec/netns/x",
		"/r/.cache/docker/data two",
		"/r/.cache/docker/data",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ownMounts =\n%q\nwant\n%q", got, want)
	}
}

func TestRun(t *testing.T) {
	te := newTestEngine(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, usage},
		{[]string{"stop", "-f"}, 2, usage},
		{[]string{"status"}, 3, "dockerd: no Docker engine answers"},
		{[]string{"stop"}, 0, "dockerd: not running (nothing started by this project)"},
		{[]string{"can-start"}, 0, "dockerd: can start"},
	} {
		te.reset()
		if code := run(te.engine, tc.args); code != tc.code {
			t.Errorf("run %q = %d, want %d", tc.args, code, tc.code)
		}
		mustContain(t, fmt.Sprintf("run %q", tc.args), te.out.String()+te.err.String(), tc.out)
	}
	// can-start probed (start + stop) and kept the verdict; nothing runs.
	if left := waitTreeGone(t, te.tmp); left != "" {
		t.Errorf("left running: %s", left)
	}
}
