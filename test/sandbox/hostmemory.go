package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// HostMemory is what a running sandbox takes on the host, summed over its
// processes: the sandbox program and every process descending from it (the
// clusters' kube-apiserver and etcd), and every process in the cgroups its
// real nodes recorded under stateDir (containerd, shims, the pods'
// containers, kubelet, kube-proxy). Each process counts once. RSS counts
// pages several processes share once per process; PSS divides them (see
// NodeMemory).
func HostMemory(sandboxPID int, stateDir string) (NodeMemory, error) {
	if !procfs.Alive("/proc", sandboxPID) {
		return NodeMemory{}, fmt.Errorf("sandbox process %d not found", sandboxPID)
	}
	pids := map[int]bool{sandboxPID: true}
	for _, p := range procfs.Descendants(procfs.Table("/proc"), sandboxPID) {
		pids[p.PID] = true
	}
	files, _ := filepath.Glob(filepath.Join(stateDir, "host-state.json"))
	more, _ := filepath.Glob(filepath.Join(stateDir, "*", "host-state.json"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return NodeMemory{}, err
		}
		var rec hostRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return NodeMemory{}, fmt.Errorf("%s: %w", f, err)
		}
		for _, cg := range rec.Cgroups {
			for _, p := range cgroupPIDs(cg) {
				pids[p] = true
			}
		}
	}
	m := NodeMemory{ByCommand: map[string]ProcessMemory{}}
	for pid := range pids {
		rss, pss, anon := pidMemory(pid)
		if rss == 0 {
			continue // gone, or a kernel thread
		}
		m.RSS += rss
		m.PSS += pss
		m.Anon += anon
		m.Processes++
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		c := m.ByCommand[strings.TrimSpace(string(comm))]
		c.RSS += rss
		c.PSS += pss
		c.Anon += anon
		c.Count++
		m.ByCommand[strings.TrimSpace(string(comm))] = c
	}
	return m, nil
}
