package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// HostMemory is what a running sandbox takes on the host, summed over its
// processes: the sandbox program and every process descending from it (the
// clusters' kube-apiserver and etcd), and every process in the cgroups its
// real nodes recorded (RecordedHost of stateDir, the StateDir of Config:
// containerd, shims, the pods' containers, kubelet, kube-proxy). Each
// process counts once. RSS counts pages several processes share once per
// process; PSS divides them (see NodeMemory).
func HostMemory(sandboxPID int, stateDir string) (NodeMemory, error) {
	if !procfs.Alive("/proc", sandboxPID) {
		return NodeMemory{}, fmt.Errorf("sandbox process %d not found", sandboxPID)
	}
	pids := []int{sandboxPID}
	for _, p := range procfs.Descendants(procfs.Table("/proc"), sandboxPID) {
		pids = append(pids, p.PID)
	}
	rec, err := RecordedHost(stateDir)
	if err != nil {
		return NodeMemory{}, err
	}
	for _, cg := range rec.Cgroups {
		pids = append(pids, cgroupPIDs(cg)...)
	}
	return memoryOf(pids), nil
}

// HostRecord is what a sandbox's real nodes created outside its state
// directory: network namespaces and cgroups (relative to each hierarchy).
type HostRecord struct {
	Netns, Cgroups []string
}

// RecordedHost reads what real nodes recorded in <stateDir>/host-state.json
// (stateDir is the StateDir of Config); nothing recorded is an empty record.
func RecordedHost(stateDir string) (HostRecord, error) {
	h, err := openHostState(filepath.Join(stateDir, "host-state.json"))
	if err != nil {
		return HostRecord{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return HostRecord{Netns: h.rec.Netns, Cgroups: h.rec.Cgroups}, nil
}

// memoryOf sums the memory of the processes (each counted once; gone ones
// and kernel threads, which have no resident set, are skipped), also by
// process name.
func memoryOf(pids []int) NodeMemory {
	m := NodeMemory{ByCommand: map[string]ProcessMemory{}}
	seen := map[int]bool{}
	for _, pid := range pids {
		if seen[pid] {
			continue
		}
		seen[pid] = true
		rss, pss, anon := pidMemory(pid)
		if rss == 0 {
			continue
		}
		m.RSS += rss
		m.PSS += pss
		m.Anon += anon
		m.Processes++
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		name := strings.TrimSpace(string(comm))
		c := m.ByCommand[name]
		c.RSS += rss
		c.PSS += pss
		c.Anon += anon
		c.Count++
		m.ByCommand[name] = c
	}
	return m
}
