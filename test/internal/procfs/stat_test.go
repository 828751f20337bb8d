package procfs

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	p, ok := ParseStat(42, "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10\n")
	if !ok || p.Comm != "a) b (c)" || p.State != 'S' || p.PPID != 7 || p.Start != 123456 {
		t.Errorf("ParseStat = %+v, %v", p, ok)
	}
	for _, bad := range []string{"1 (x) S 0", "no parentheses", "1 (x) SS 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 5 0"} {
		if _, ok := ParseStat(1, bad); ok {
			t.Errorf("ParseStat(%q) parsed", bad)
		}
	}
	self, ok := ReadStat("/proc", os.Getpid())
	if !ok || self.PPID != os.Getppid() || self.State == 'Z' {
		t.Errorf("ReadStat(self) = %+v, %v", self, ok)
	}
}

func TestDescendantsAndAlive(t *testing.T) {
	table := []Proc{{PID: 1}, {PID: 10, PPID: 1}, {PID: 11, PPID: 10}, {PID: 12, PPID: 11}, {PID: 13, PPID: 1}, {PID: 14, PPID: 10}}
	var got []int
	for _, p := range Descendants(table, 10) {
		got = append(got, p.PID)
	}
	if len(got) != 3 || got[0] != 11 || got[1] != 14 || got[2] != 12 {
		t.Errorf("Descendants(10) = %v, want [11 14 12]", got)
	}

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep: %v", err)
	}
	pid := cmd.Process.Pid
	if !Alive("/proc", pid) {
		t.Fatalf("running child %d not alive", pid)
	}
	found := false
	for _, p := range Descendants(Table("/proc"), os.Getpid()) {
		found = found || p.PID == pid
	}
	if !found {
		t.Errorf("child %d not among this process's descendants", pid)
	}
	_ = cmd.Process.Kill()
	defer func() { _ = cmd.Wait() }()
	// Not reaped (no Wait yet): the zombie counts as gone.
	deadline := time.Now().Add(10 * time.Second)
	for Alive("/proc", pid) {
		if time.Now().After(deadline) {
			t.Fatalf("killed, unreaped child %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p, ok := ReadStat("/proc", pid); !ok || p.State != 'Z' {
		t.Errorf("unreaped child %d: %+v, %v; want a zombie", pid, p, ok)
	}
}
