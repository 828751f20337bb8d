package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// The test binary stands in for the sandbox service and its children when
// SANDBOX_UP_TEST_PROCESS says which:
//
//	sleep     runs until a signal ends it
//	stubborn  ignores SIGTERM
//	service   writes <--state-dir>/endpoints.json like the service, starts a
//	          stubborn child when SANDBOX_UP_TEST_CHILD=1, fails at start
//	          when SANDBOX_UP_TEST_FAIL=1
func TestMain(m *testing.M) {
	switch os.Getenv("SANDBOX_UP_TEST_PROCESS") {
	case "":
		os.Exit(m.Run())
	case "sleep":
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
	case "service":
		fakeService()
	}
	time.Sleep(time.Hour)
}

func fakeService() {
	if os.Getenv("SANDBOX_UP_TEST_FAIL") == "1" {
		fmt.Fprintln(os.Stderr, "listen tcp 127.0.0.1:8480: bind: address already in use")
		os.Exit(1)
	}
	state := ""
	for i, a := range os.Args {
		if a == "--state-dir" && i+1 < len(os.Args) {
			state = os.Args[i+1]
		}
	}
	if os.Getenv("SANDBOX_UP_TEST_CHILD") == "1" {
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "SANDBOX_UP_TEST_PROCESS=stubborn")
		if err := child.Start(); err != nil {
			os.Exit(3)
		}
	}
	fmt.Println("fake service", strings.Join(os.Args[1:], " "))
	if err := os.MkdirAll(state, 0o700); err != nil {
		os.Exit(4)
	}
	if err := os.WriteFile(filepath.Join(state, "endpoints.json"), []byte("{}"), 0o600); err != nil {
		os.Exit(5)
	}
}

// installFake copies the test binary to exe, as a build of the service
// would put it there.
func installFake(t *testing.T, exe string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(exe), 0o700); err != nil {
		t.Fatal(err)
	}
	// A new file, as go build -o writes one: the running copy becomes
	// "<exe> (deleted)".
	_ = os.Remove(exe)
	if err := os.WriteFile(exe, b, 0o700); err != nil {
		t.Fatal(err)
	}
}

// startFake runs exe in the given mode; the cleanup kills it by pid.
func startFake(t *testing.T, exe, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SANDBOX_UP_TEST_PROCESS="+mode)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func writePID(t *testing.T, file string, pid any) {
	t.Helper()
	if err := os.WriteFile(file, fmt.Appendf(nil, "%v\n", pid), 0o600); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func TestLivePID(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "sandbox")
	pidFile := filepath.Join(dir, "sandbox.pid")
	installFake(t, exe)

	if _, ok := livePID(pidFile, exe); ok {
		t.Error("no pid file: live")
	}
	for _, bad := range []string{"", "abc", "-1", "+1", "0", "1 2"} {
		writePID(t, pidFile, bad)
		if pid, ok := livePID(pidFile, exe); ok {
			t.Errorf("pid file %q: live pid %d", bad, pid)
		}
	}

	// Stale: the process is gone.
	gone := exec.Command(exe)
	gone.Env = append(os.Environ(), "SANDBOX_UP_TEST_PROCESS=sleep")
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	_ = gone.Process.Kill()
	_ = gone.Wait()
	writePID(t, pidFile, gone.Process.Pid)
	if _, ok := livePID(pidFile, exe); ok {
		t.Error("exited process: live")
	}

	// Reused: the pid belongs to another program (this test).
	writePID(t, pidFile, os.Getpid())
	if _, ok := livePID(pidFile, exe); ok {
		t.Error("pid of another program: live")
	}

	run := startFake(t, exe, "sleep")
	pid := run.Process.Pid
	writePID(t, pidFile, pid)
	if got, ok := livePID(pidFile, exe); !ok || got != pid {
		t.Errorf("running service: livePID = %d, %v; want %d", got, ok, pid)
	}
	// The same folder through a symbolic link.
	link := filepath.Join(t.TempDir(), "cache")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, ok := livePID(pidFile, filepath.Join(link, "bin", "sandbox")); !ok {
		t.Error("exe named through a symlinked folder: not live")
	}
	// Rebuilt while it runs: /proc/<pid>/exe reads "<exe> (deleted)".
	installFake(t, exe)
	if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); !strings.HasSuffix(l, " (deleted)") {
		t.Fatalf("exe after the rebuild = %q", l)
	}
	if got, ok := livePID(pidFile, exe); !ok || got != pid {
		t.Errorf("rebuilt binary: livePID = %d, %v; want %d", got, ok, pid)
	}

	// A zombie (killed, not reaped by its parent yet) is gone.
	_ = run.Process.Kill()
	eventually(t, "zombie", func() bool { p, _ := procfs.ReadStat(proc, pid); return p.State == 'Z' })
	if _, ok := livePID(pidFile, exe); ok {
		t.Error("zombie: live")
	}
}

func TestStopProcs(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "fake")
	installFake(t, exe)
	stat := func(cmd *exec.Cmd) procfs.Proc {
		t.Helper()
		// The start time is known once the child runs the test binary.
		var p procfs.Proc
		eventually(t, "child stat", func() bool {
			var ok bool
			p, ok = procfs.ReadStat(proc, cmd.Process.Pid)
			return ok
		})
		return p
	}
	var out bytes.Buffer

	// SIGTERM ends it; unreaped, it stays a zombie, which counts as gone:
	// no SIGKILL although the timeout is long.
	polite := startFake(t, exe, "sleep")
	if killed := stopProcs([]procfs.Proc{stat(polite)}, time.Minute, &out); len(killed) != 0 {
		t.Errorf("polite process: killed %v (%s)", killed, out.String())
	}
	if procfs.Alive(proc, polite.Process.Pid) {
		t.Error("polite process still alive")
	}

	stubborn := startFake(t, exe, "stubborn")
	eventually(t, "SIGTERM ignored", func() bool { return ignoresTERM(stubborn.Process.Pid) })
	// A pid whose start time differs belongs to another process: untouched.
	other := stat(stubborn)
	other.Start++
	if killed := stopProcs([]procfs.Proc{other}, 100*time.Millisecond, &out); len(killed) != 0 || !procfs.Alive(proc, stubborn.Process.Pid) {
		t.Fatalf("reused pid: killed %v, alive %v", killed, procfs.Alive(proc, stubborn.Process.Pid))
	}
	out.Reset()
	killed := stopProcs([]procfs.Proc{stat(stubborn)}, 300*time.Millisecond, &out)
	if !slices.Equal(killed, []int{stubborn.Process.Pid}) {
		t.Errorf("stubborn process: killed %v", killed)
	}
	if want := fmt.Sprintf("sandbox: pid %d did not stop within 0.3s, sending SIGKILL\n", stubborn.Process.Pid); out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if procfs.Alive(proc, stubborn.Process.Pid) {
		t.Error("stubborn process alive after SIGKILL")
	}
}

// ignoresTERM: /proc/<pid>/status shows SIGTERM (15) in SigIgn.
func ignoresTERM(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(syscall.SIGTERM-1)) != 0
		}
	}
	return false
}
