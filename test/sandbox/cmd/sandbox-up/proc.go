package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

const proc = "/proc"

// livePID returns the pid of the running service: pidFile holds a number,
// that process runs (a zombie does not count) and its executable is exe. A
// rebuilt binary leaves the running one as "<exe> (deleted)", which still
// counts. A stale pid file, or a pid the kernel has since given to another
// program, gives false.
func livePID(pidFile, exe string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != s {
		return 0, false
	}
	if !procfs.Alive(proc, pid) {
		return 0, false
	}
	got, err := os.Readlink(filepath.Join(proc, s, "exe"))
	if err != nil {
		return 0, false
	}
	got = strings.TrimSuffix(got, " (deleted)")
	// The kernel names the executable by its real path.
	if dir, err := filepath.EvalSymlinks(filepath.Dir(exe)); err == nil {
		exe = filepath.Join(dir, filepath.Base(exe))
	}
	return pid, got == exe
}

// stopProcs stops the processes by pid: SIGTERM to all, a wait of up to
// timeout for them to exit (a zombie, left for its parent or init to reap,
// counts as gone), then SIGKILL to what is left, each named on w. A process is
// only signalled while its pid still belongs to it (same start time), so a
// pid reused meanwhile is never hit. It returns the pids it had to kill.
func stopProcs(ps []procfs.Proc, timeout time.Duration, w io.Writer) []int {
	running := func(ps []procfs.Proc) (left []procfs.Proc) {
		for _, p := range ps {
			if now, ok := procfs.ReadStat(proc, p.PID); ok && now.Start == p.Start && now.State != 'Z' {
				left = append(left, p)
			}
		}
		return left
	}
	signal := func(ps []procfs.Proc, sig syscall.Signal) []procfs.Proc {
		ps = running(ps)
		for _, p := range ps {
			_ = syscall.Kill(p.PID, sig)
		}
		return ps
	}
	waitGone := func(ps []procfs.Proc, d time.Duration) []procfs.Proc {
		for end := time.Now().Add(d); len(ps) > 0 && time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
			ps = running(ps)
		}
		return ps
	}
	ps = waitGone(signal(ps, syscall.SIGTERM), timeout)
	var killed []int
	for _, p := range ps {
		fmt.Fprintf(w, "sandbox: pid %d did not stop within %gs, sending SIGKILL\n", p.PID, timeout.Seconds())
		killed = append(killed, p.PID)
	}
	// SIGKILL cannot be caught: what is left after it is a process still in
	// the kernel (uninterruptible sleep), which goes when it returns.
	waitGone(signal(ps, syscall.SIGKILL), 5*time.Second)
	return killed
}
