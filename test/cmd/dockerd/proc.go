package main

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// procInfo is what /proc/<pid>/stat says about a process.
type procInfo struct {
	pid, ppid int
	comm      string
	state     byte
	start     uint64 // clock ticks after boot: tells a process from a later one with the same pid
}

// readProc reads /proc/<pid>/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so the fields after it are found
// from the last ')'.
func readProc(proc string, pid int) (procInfo, bool) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, false
	}
	return parseStat(pid, string(b))
}

func parseStat(pid int, s string) (procInfo, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	// After the name: state(3) ppid(4) ... starttime(22).
	f := strings.Fields(s[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, ppid: ppid, comm: s[open+1 : end], state: f[0][0], start: start}, true
}

// procTable lists every process procfs shows.
func procTable(proc string) []procInfo {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var ps []procInfo
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(proc, pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// descendants returns the children of pid, their children and so on.
func descendants(table []procInfo, pid int) []procInfo {
	var out []procInfo
	queue := []int{pid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, p := range table {
			if p.ppid == parent && p.pid != pid {
				out = append(out, p)
				queue = append(queue, p.pid)
			}
		}
	}
	return out
}

// alive: the process exists and is not a zombie.
func alive(proc string, pid int) bool {
	p, ok := readProc(proc, pid)
	return ok && p.state != 'Z'
}

// signalWait sends sig to the pids and waits up to timeout for all of them to
// exit; false when one is left.
func signalWait(proc string, sig sysSignal, timeout time.Duration, pids ...int) bool {
	for _, p := range pids {
		_ = kill(p, sig)
	}
	deadline := time.Now().Add(timeout)
	for {
		left := false
		for _, p := range pids {
			if alive(proc, p) {
				left = true
				break
			}
		}
		if !left {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func joinPIDs(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, " ")
}

// ownMounts reads a mountinfo table and returns the mount points below dir or
// exec, or on data, deepest first (stacked mounts appear once per layer).
func ownMounts(r io.Reader, dir, exec, data string) []string {
	all, _ := procfs.MountPoints(r)
	var out []string
	for _, mp := range all {
		if strings.HasPrefix(mp, dir+"/") || strings.HasPrefix(mp, exec+"/") || mp == data {
			out = append(out, mp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
