package main

import (
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

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
			if procfs.Alive(proc, p) {
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
