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
