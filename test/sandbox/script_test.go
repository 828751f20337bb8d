package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/testenv"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestTaskUpDown drives hack/sandbox.sh (what `go tool task up|status|down`
// run) with a temporary cache: up ends with a kubeconfig that answers, down
// leaves no process, listener or file behind.
func TestTaskUpDown(t *testing.T) {
	bins := kubeBins(t)
	root := testenv.RepoRoot()
	cache := t.TempDir()
	port1, _ := freePort()
	port2, _ := freePort()
	subnet := testSubnet()
	env := append(os.Environ(), "PLATFORM_ROOT="+root, "PLATFORM_CACHE="+cache, "PLATFORM_KUBE_BIN_DIR="+bins,
		fmt.Sprintf("PLATFORM_SANDBOX_LISTEN=127.0.0.1:%d", port1), fmt.Sprintf("PLATFORM_SANDBOX_ADMIN_LISTEN=127.0.0.1:%d", port2),
		"PLATFORM_SANDBOX_IPV4_POOL="+subnet+".0/24",
		// API-only nodes: tier 2 has no root, containerd or images (real
		// nodes, the default, run in tier 3).
		"PLATFORM_SANDBOX_NODES=api")
	script := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(root, "hack", "sandbox.sh")}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dir := filepath.Join(cache, "sandbox")
	t.Cleanup(func() { _, _ = script("down") })

	start := time.Now()
	out, err := script("up")
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	t.Logf("up took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	st, err := os.Stat(kubeconfig)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig: %v %v", err, st)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodeReady(context.Background(), kc, "sandbox-cp-1"); err != nil {
		t.Fatalf("kubeconfig does not answer: %v", err)
	}
	if out, err := script("status"); err != nil || !strings.Contains(out, "running") || !strings.Contains(out, "sandbox-cp-1 (server, Ready)") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	// Warm: a second up reuses the running service and cluster.
	start = time.Now()
	if out, err := script("up"); err != nil || !strings.Contains(out, "already running") {
		t.Fatalf("second up: %v\n%s", err, out)
	}
	t.Logf("warm up took %s", time.Since(start).Round(time.Millisecond))

	b, _ := os.ReadFile(filepath.Join(dir, "sandbox.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	pids := []int{pid}
	kids, _ := exec.Command("ps", "-o", "pid=", "--ppid", strconv.Itoa(pid)).Output()
	for _, f := range strings.Fields(string(kids)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) < 3 {
		t.Errorf("want sandbox + etcd + kube-apiserver, got pids %v", pids)
	}
	if out, err := script("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("pid %d still running after down", p)
		}
	}
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", port1), fmt.Sprintf("127.0.0.1:%d", port2), subnet + ".1:6443"} {
		if l, err := listenable(addr); !l {
			t.Errorf("%s still in use after down: %v", addr, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
	if out, err := script("status"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("status after down: %v\n%s", err, out)
	}
}

// alive reports whether pid runs (a zombie waiting for init counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func listenable(addr string) (bool, error) {
	p, err := newTCPProxy(addr, "127.0.0.1:1")
	if err != nil {
		return false, err
	}
	p.Close()
	return true, nil
}
