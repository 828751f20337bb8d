package sandbox

import (
	"os"
	"os/exec"
	"testing"
)

// TestHostMemory: the sandbox process and its children count (a child
// started here shows up by name); a process that is gone is an error.
func TestHostMemory(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	m, err := HostMemory(os.Getpid(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m.Processes < 2 || m.RSS <= 0 || m.PSS <= 0 || m.PSS > m.RSS {
		t.Errorf("memory %+v: want this process and its child, PSS within RSS", m)
	}
	if c := m.ByCommand["sleep"]; c.Count != 1 || c.RSS <= 0 {
		t.Errorf("the child sleep: %+v", c)
	}
	if _, err := HostMemory(child.Process.Pid+1<<22, t.TempDir()); err == nil {
		t.Error("a missing sandbox process is not an error")
	}
}
