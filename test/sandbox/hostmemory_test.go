package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestRecordedHost: what real nodes recorded is read back; nothing recorded
// is an empty record, a damaged file an error.
func TestRecordedHost(t *testing.T) {
	dir := t.TempDir()
	if rec, err := RecordedHost(dir); err != nil || len(rec.Netns)+len(rec.Cgroups) != 0 {
		t.Errorf("nothing recorded: %+v %v", rec, err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "host-state.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"netns":["sbx-a-1"],"cgroups":["/sbx-a-1"]}`)
	if rec, err := RecordedHost(dir); err != nil || !slices.Equal(rec.Netns, []string{"sbx-a-1"}) || !slices.Equal(rec.Cgroups, []string{"/sbx-a-1"}) {
		t.Errorf("recorded: %+v %v", rec, err)
	}
	write(`{`)
	if _, err := RecordedHost(dir); err == nil {
		t.Error("a damaged host-state.json is not an error")
	}
}
