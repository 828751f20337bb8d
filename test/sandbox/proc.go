package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// KubeVersion is the Kubernetes release the sandbox runs (built by
// test/tools/kube).
const KubeVersion = "v1.34.4"

// FindKubeBinaries returns a directory holding kube-apiserver and etcd:
// dir when given, else $PLATFORM_KUBE_BIN_DIR, else $KUBEBUILDER_ASSETS (as
// envtest downloads them), else <cache>/kube/<version> where cache is
// $PLATFORM_CACHE or <repo>/.cache.
func FindKubeBinaries(dir string) (string, error) {
	var candidates []string
	if dir != "" {
		candidates = []string{dir}
	} else {
		for _, env := range []string{"PLATFORM_KUBE_BIN_DIR", "KUBEBUILDER_ASSETS"} {
			if v := os.Getenv(env); v != "" {
				candidates = append(candidates, v)
			}
		}
		candidates = append(candidates, filepath.Join(cacheDir(), "kube", KubeVersion))
	}
	for _, d := range candidates {
		if isExec(filepath.Join(d, "kube-apiserver")) && isExec(filepath.Join(d, "etcd")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("kube-apiserver and etcd not found in %s (build them: go tool task kube:build)", strings.Join(candidates, ", "))
}

func cacheDir() string {
	if c := os.Getenv("PLATFORM_CACHE"); c != "" {
		return c
	}
	if r := os.Getenv("PLATFORM_ROOT"); r != "" {
		return filepath.Join(r, ".cache")
	}
	// Walk up from the working directory to the repository root.
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/sre-platform/platform\n")) {
			return filepath.Join(d, ".cache")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, ".cache")
		}
	}
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// proc is a child process (etcd or kube-apiserver) with its log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProc(name, bin string, args, env []string, logPath string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "---- %s start %s\n", name, time.Now().Format(time.RFC3339))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and escalates to SIGKILL after grace (kube-apiserver
// can hang on SIGTERM while clients are connected).
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// logTail returns the last lines of the process log (for error messages).
func (p *proc) logTail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exitError describes why a process ended.
func (p *proc) exitError() error {
	if !p.exited() {
		return nil
	}
	if p.err != nil {
		return fmt.Errorf("%s exited: %w", p.name, p.err)
	}
	return errors.New(p.name + " exited")
}

// rss returns the resident set size of the process in bytes (Linux).
func (p *proc) rss() int64 {
	if p == nil || p.exited() {
		return 0
	}
	return pidRSS(p.pid())
}

// pidRSS is the resident set size of a process in bytes (0 when gone).
func pidRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &kb); err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
