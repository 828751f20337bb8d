package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is what /proc/<pid>/stat says about a process.
type Proc struct {
	PID, PPID int
	Comm      string
	State     byte   // R, S, D, Z, T, ...
	Start     uint64 // clock ticks after boot: tells a process from a later one with the same pid
}

// ReadStat reads <proc>/<pid>/stat (proc is normally "/proc").
func ReadStat(proc string, pid int) (Proc, bool) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return Proc{}, false
	}
	return ParseStat(pid, string(b))
}

// ParseStat parses the text of /proc/<pid>/stat. The command name is in
// parentheses and may itself hold spaces and parentheses, so the fields after
// it are found from the last ')'.
func ParseStat(pid int, s string) (Proc, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Proc{}, false
	}
	// After the name: state(3) ppid(4) ... starttime(22).
	f := strings.Fields(s[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return Proc{}, false
	}
	return Proc{PID: pid, PPID: ppid, Comm: s[open+1 : end], State: f[0][0], Start: start}, true
}

// Table lists every process <proc> shows.
func Table(proc string) []Proc {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var ps []Proc
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if p, ok := ReadStat(proc, pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// Descendants returns the children of pid in table, their children and so
// on, parents before their children.
func Descendants(table []Proc, pid int) []Proc {
	var out []Proc
	queue := []int{pid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, p := range table {
			if p.PPID == parent && p.PID != pid {
				out = append(out, p)
				queue = append(queue, p.PID)
			}
		}
	}
	return out
}

// Alive reports whether pid exists and is not a zombie (a zombie has exited;
// it only waits for its parent, or init, to reap it).
func Alive(proc string, pid int) bool {
	p, ok := ReadStat(proc, pid)
	return ok && p.State != 'Z'
}
