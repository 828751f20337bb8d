package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/testenv"
)

// The test binary runs main when asked to, so the tests exercise the real
// program in its own process.
func TestMain(m *testing.M) {
	if os.Getenv("PAUSE_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func pause(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PAUSE_RUN_MAIN=1")
	return cmd
}

// handles reports whether pid has installed a handler for sig (SigCgt).
func handles(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err == nil && v&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

func TestExitsZeroOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := pause()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !handles(cmd.Process.Pid, sig) {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("pause never installed a %v handler", sig)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Still running: it only ends on a signal.
		time.Sleep(100 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("pause exited on its own: %v", err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("after %v: %v, want exit 0", sig, err)
		}
		if !strings.Contains(stderr.String(), "Shutting down, got signal: "+sig.String()) {
			t.Errorf("after %v: stderr %q", sig, stderr.String())
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, err := pause("-v").Output()
	if err != nil || string(out) != "pause.go version 3.10\n" {
		t.Errorf("pause -v: %q %v", out, err)
	}
	err = pause("--bogus").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("pause --bogus: %v, want exit status 2", err)
	}
}

// As PID 1 of a PID namespace (as in a pod sharing its process namespace),
// pause inherits orphans and must reap them: a process started in its
// namespace whose parent exits becomes pause's child and, once it exits,
// must not stay a zombie.
func TestReapsOrphansAsPID1(t *testing.T) {
	nsenter, err := exec.LookPath("nsenter")
	testenv.Require(t, err == nil, "nsenter", "apt-get install util-linux")
	testenv.Require(t, os.Getuid() == 0, "root (a new PID namespace)", "run the tests as root")
	cmd := pause()
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); !handles(pid, syscall.SIGCHLD); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("pause never installed its SIGCHLD handler")
		}
	}
	// sh starts two sleeps in the background (their output away from
	// nsenter's pipe, so it returns at once) and exits: they are orphaned
	// inside the namespace and handed to its PID 1.
	out, err := exec.Command(nsenter, "--target", strconv.Itoa(pid), "--pid", "--", "/bin/sh", "-c", "sleep 1 >/dev/null 2>&1 & sleep 1 >/dev/null 2>&1 & exit 0").CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	adopted := false
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		children, zombies := childrenOf(pid)
		adopted = adopted || children > 0
		if adopted && children == 0 {
			return // adopted, exited and reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s pause still has %d children, %d of them zombies (adopted any: %v)", children, zombies, adopted)
		}
	}
}

// childrenOf counts the processes whose parent is pid, and the zombies among them.
func childrenOf(pid int) (children, zombies int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var ppid int
		state := ""
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if v, ok := strings.CutPrefix(line, "State:"); ok {
				state = strings.TrimSpace(v)
			}
		}
		if ppid == pid {
			children++
			if strings.HasPrefix(state, "Z") {
				zombies++
			}
		}
	}
	return children, zombies
}
