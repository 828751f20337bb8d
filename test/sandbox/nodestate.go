package sandbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hostState records everything a real node creates outside the state
// directory — network namespaces, cgroups, runtime directories, the host
// sysctls the kubelet rewrites — so that teardown, or the next start after
// a sandbox was killed, can remove it. It lives in <state>/host-state.json.
type hostState struct {
	path string
	mu   sync.Mutex
	rec  hostRecord
}

type hostRecord struct {
	Netns       []string          `json:"netns,omitempty"`
	Cgroups     []string          `json:"cgroups,omitempty"`      // relative to each hierarchy, e.g. /sbx-ab12-3
	RuntimeDirs []string          `json:"runtime_dirs,omitempty"` // sockets, kubelet root, pod netns
	CNIResults  []string          `json:"cni_results,omitempty"`  // network names in libcni's cache
	Sysctls     map[string]string `json:"sysctls,omitempty"`      // original values
}

func openHostState(path string) (*hostState, error) {
	h := &hostState{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &h.rec); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return h, nil
}

func (h *hostState) saveLocked() error {
	b, err := json.MarshalIndent(h.rec, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(h.path, b, 0o600)
}

func addUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func remove(list []string, v string) []string {
	out := list[:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// note records resources before they are created.
func (h *hostState) note(f func(r *hostRecord)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.rec)
	return h.saveLocked()
}

// kubeletSysctls are the host-wide sysctls the kubelet sets at start
// (protectKernelDefaults=false); their values are restored when the last
// real node stops.
var kubeletSysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"}

// saveSysctls records the current values once (the first real node).
func (h *hostState) saveSysctls() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.rec.Sysctls) > 0 {
		return nil
	}
	h.rec.Sysctls = map[string]string{}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			continue
		}
		h.rec.Sysctls[k] = strings.TrimSpace(string(b))
	}
	return h.saveLocked()
}

func (h *hostState) restoreSysctlsLocked() {
	for k, v := range h.rec.Sysctls {
		_ = os.WriteFile("/proc/sys/"+k, []byte(v+"\n"), 0o644)
	}
	h.rec.Sysctls = nil
}

// cleanNode removes one node's host resources (all idempotent).
func (h *hostState) cleanNode(netns, cgroup, runtimeDir, cniNet string) error {
	var errs []error
	if cgroup != "" {
		errs = append(errs, killCgroup(cgroup))
	}
	if runtimeDir != "" {
		removeShimSockets(runtimeDir)
		errs = append(errs, unmountUnder(runtimeDir))
		if err := os.RemoveAll(runtimeDir); err != nil {
			errs = append(errs, err)
		}
		removeContainerLogLinks(containerLogLinks, filepath.Base(runtimeDir))
	}
	if cniNet != "" {
		matches, _ := filepath.Glob("/var/lib/cni/results/" + cniNet + "-*")
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
	if cgroup != "" {
		errs = append(errs, removeCgroup(cgroup))
	}
	if netns != "" {
		errs = append(errs, deleteNetns(netns))
	}
	h.mu.Lock()
	h.rec.Cgroups = remove(h.rec.Cgroups, cgroup)
	h.rec.RuntimeDirs = remove(h.rec.RuntimeDirs, runtimeDir)
	h.rec.CNIResults = remove(h.rec.CNIResults, cniNet)
	h.rec.Netns = remove(h.rec.Netns, netns)
	errs = append(errs, h.saveLocked())
	h.mu.Unlock()
	return errors.Join(errs...)
}

// containerLogLinks is where every kubelet links its containers' logs
// (<pod>_<namespace>_<container>-<id>.log; the path is built into the
// kubelet, not a flag).
const containerLogLinks = "/var/log/containers"

// removeContainerLogLinks removes the kubelet's links in dir that point
// into the pod logs of the node tagged tag (<state>/nodes/<tag>/pod-logs),
// and no other.
func removeContainerLogLinks(dir, tag string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.Contains(target, "/nodes/"+tag+"/pod-logs/") {
			_ = os.Remove(p)
		}
	}
}

// cleanAll removes everything recorded: at start (a killed sandbox) and
// after the last node stopped.
func (h *hostState) cleanAll() error {
	h.mu.Lock()
	rec := h.rec
	h.mu.Unlock()
	var errs []error
	for _, cg := range rec.Cgroups {
		errs = append(errs, killCgroup(cg))
	}
	for _, d := range rec.RuntimeDirs {
		removeShimSockets(d)
		errs = append(errs, unmountUnder(d))
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
		removeContainerLogLinks(containerLogLinks, filepath.Base(d))
	}
	for _, n := range rec.CNIResults {
		matches, _ := filepath.Glob("/var/lib/cni/results/" + n + "-*")
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
	for _, cg := range rec.Cgroups {
		errs = append(errs, removeCgroup(cg))
	}
	for _, n := range rec.Netns {
		errs = append(errs, deleteNetns(n))
	}
	h.mu.Lock()
	h.restoreSysctlsLocked()
	h.rec = hostRecord{}
	errs = append(errs, h.saveLocked())
	h.mu.Unlock()
	return errors.Join(errs...)
}

// removeShimSockets removes the sockets containerd 1.6's runc shims keep
// in /run/containerd/s (named sha256(<containerd address>/<namespace>/<task
// id>)) for the tasks of the node whose runtime directory is runDir; a
// killed shim leaves its socket behind.
func removeShimSockets(runDir string) {
	addr := filepath.Join(runDir, "containerd.sock")
	nss, _ := os.ReadDir(filepath.Join(runDir, "containerd", "io.containerd.runtime.v2.task"))
	for _, ns := range nss {
		tasks, _ := os.ReadDir(filepath.Join(runDir, "containerd", "io.containerd.runtime.v2.task", ns.Name()))
		for _, task := range tasks {
			sum := sha256.Sum256([]byte(filepath.Join(addr, ns.Name(), task.Name())))
			_ = os.Remove(filepath.Join("/run/containerd/s", hex.EncodeToString(sum[:])))
		}
	}
}

// ---- cgroups (v1 hierarchies and the v2 one of a hybrid layout) ----

const cgroupFS = "/sys/fs/cgroup"

// cgroupHierarchies lists the mounted hierarchies (/sys/fs/cgroup/<name>).
func cgroupHierarchies() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		fstype, mp := fields[sep+1], fields[4]
		if (fstype == "cgroup" || fstype == "cgroup2") && strings.HasPrefix(mp, cgroupFS+"/") {
			out = append(out, mp)
		} else if fstype == "cgroup2" && mp == cgroupFS {
			out = append(out, mp)
		}
	}
	return out
}

// makeCgroup creates rel (and the given children) in every hierarchy; in
// cpuset the new groups inherit the parent's CPUs and memory nodes.
func makeCgroup(rel string, children ...string) error {
	for _, hier := range cgroupHierarchies() {
		for _, sub := range append([]string{""}, children...) {
			dir := filepath.Join(hier, rel, sub)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cgroup %s: %w", dir, err)
			}
			if filepath.Base(hier) == "cpuset" {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					if b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f)); err == nil && len(strings.TrimSpace(string(b))) > 0 {
						cur, _ := os.ReadFile(filepath.Join(dir, f))
						if len(strings.TrimSpace(string(cur))) == 0 {
							if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
								return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
							}
						}
					}
				}
			}
		}
	}
	return nil
}

// cgroupPIDs lists every process in rel and below (any hierarchy sees all
// of them; pids is the one every node process is placed in).
func cgroupPIDs(rel string) []int {
	seen := map[int]bool{}
	for _, hier := range cgroupHierarchies() {
		root := filepath.Join(hier, rel)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			// Cgroups go away while the walk runs (their processes exit):
			// one that cannot be read has no process left to list.
			if err != nil || !d.IsDir() {
				return nil //nolint:nilerr // a vanished cgroup lists no process
			}
			b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			if err != nil {
				return nil //nolint:nilerr // a vanished cgroup lists no process
			}
			for _, l := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(l); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	out := make([]int, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// killCgroup SIGKILLs every process of the node's cgroup tree (containerd,
// its shims, the containers, kubelet, kube-proxy: all started by the
// sandbox into that tree) until none is left.
func killCgroup(rel string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := cgroupPIDs(rel)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v survive SIGKILL", rel, pids)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeCgroup removes rel and everything below it, deepest first, in every
// hierarchy.
func removeCgroup(rel string) error {
	var errs []error
	for _, hier := range cgroupHierarchies() {
		root := filepath.Join(hier, rel)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for range 50 {
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ---- mounts ----

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder detaches every mount at or below dir.
func unmountUnder(dir string) error {
	var errs []error
	for range 3 {
		mps := mountsUnder(dir)
		if len(mps) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("umount %s: %w", mp, err))
			}
		}
	}
	if mps := mountsUnder(dir); len(mps) > 0 {
		errs = append(errs, fmt.Errorf("mounts left under %s: %v", dir, mps))
	}
	return errors.Join(errs...)
}

// ---- network namespaces (ip netns: a bind mount under /run/netns) ----

func netnsPath(name string) string { return "/run/netns/" + name }

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func createNetns(name string) error {
	if fileExists(netnsPath(name)) {
		return nil
	}
	if err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	return ipCmd("-n", name, "link", "set", "lo", "up")
}

func deleteNetns(name string) error {
	if !fileExists(netnsPath(name)) {
		return nil
	}
	return ipCmd("netns", "delete", name)
}

// CleanHost removes what real nodes recorded in <stateDir>/host-state.json
// (the StateDir of Config) and left on the host: what a sandbox killed
// with SIGKILL could not clean up. `sandbox --clean-host` runs it before the
// state is deleted. Nothing recorded is not an error.
func CleanHost(stateDir string) error {
	lock, err := lockStateDir(stateDir)
	if err != nil {
		return err
	}
	defer unlockStateDir(lock)
	h, err := openHostState(filepath.Join(stateDir, "host-state.json"))
	if err != nil {
		return err
	}
	return h.cleanAll()
}
