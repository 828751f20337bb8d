package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// engine is the project's Docker engine: where its state lives, the host
// facts that decide whether it can run, and where messages go. newEngine
// fills it from the host; tests point it at a temporary folder and a
// stand-in dockerd.
type engine struct {
	root string // repository root (hack/deps.sh lives there)
	dir  string // <cache>/docker: everything the engine owns

	sock, pidFile, log, data, exec string
	users                          string // one empty file per pid of a shell that called start
	created                        string // host folders that did not exist before start
	verdict                        string // "<kernel> <dockerd version>" then "ok" or "fail: why"

	startTimeout, stopTimeout, lockWait time.Duration
	drivers                             []string // storage drivers, tried in order
	hostDirs                            []string // fixed host paths dockerd/containerd/libmount create

	// Host facts.
	goos        string
	uid         int
	debian      bool          // apt can install docker.io
	kernel      string        // uname -r
	findDockerd func() string // dockerd's path, "" when not installed
	dockerCLI   string        // docker CLI for "does another engine answer", "" when missing
	install     []string      // command that installs docker.io
	proc        string        // procfs mount
	caller      int           // shell registered as a user on start
	forget      []int         // pids whose user registration stop removes

	stdout, stderr io.Writer
}

// execRootLimit: a unix socket path holds at most 107 bytes, and containerd's
// ttrpc socket below the exec root adds up to 35.
const execRootLimit = 107 - 35

func newEngine(root string, getenv func(string) string) (*engine, error) {
	cache := getenv("PLATFORM_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache")
	}
	start, err := seconds(getenv, "DOCKERD_START_TIMEOUT", 30*time.Second)
	if err != nil {
		return nil, err
	}
	stop, err := seconds(getenv, "DOCKERD_STOP_TIMEOUT", 25*time.Second)
	if err != nil {
		return nil, err
	}
	drivers := strings.Fields(getenv("DOCKERD_STORAGE_DRIVERS"))
	if len(drivers) == 0 {
		drivers = []string{"overlay2", "vfs"}
	}
	e := layout(root, filepath.Join(cache, "docker"))
	e.startTimeout, e.stopTimeout, e.lockWait = start, stop, 120*time.Second
	e.drivers = drivers
	e.hostDirs = []string{"/run/docker", "/run/containerd", "/run/mount", "/etc/docker"}
	e.goos, e.uid, e.debian, e.kernel = runtime.GOOS, os.Getuid(), isDebian(), kernelRelease()
	e.findDockerd = func() string {
		if p, err := lookPath("dockerd"); err == nil {
			return p
		}
		if isExecutable("/usr/sbin/dockerd") {
			return "/usr/sbin/dockerd"
		}
		return ""
	}
	if p, err := lookPath("docker"); err == nil {
		e.dockerCLI = p
	}
	e.install = []string{"bash", filepath.Join(root, "hack", "deps.sh"), "docker"}
	e.proc = "/proc"
	e.caller, e.forget = callers(e.proc)
	e.stdout, e.stderr = os.Stdout, os.Stderr
	return e, nil
}

// layout places the engine's files below dir. A deep checkout gets a short
// exec root in /tmp, named after the repository root.
func layout(root, dir string) *engine {
	e := &engine{root: root, dir: dir}
	e.sock = filepath.Join(dir, "docker.sock")
	e.pidFile = filepath.Join(dir, "dockerd.pid")
	e.log = filepath.Join(dir, "dockerd.log")
	e.data = filepath.Join(dir, "data")
	e.exec = filepath.Join(dir, "exec")
	e.users = filepath.Join(dir, "users")
	e.created = filepath.Join(dir, "host-created")
	e.verdict = filepath.Join(dir, "verdict")
	if len(e.exec) > execRootLimit {
		sum := sha256.Sum256([]byte(root))
		e.exec = "/tmp/platform-docker." + hex.EncodeToString(sum[:])[:12]
	}
	return e
}

func (e *engine) logf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "dockerd: "+format+"\n", a...)
}

func (e *engine) say(format string, a ...any) {
	fmt.Fprintf(e.stdout, format+"\n", a...)
}

func (e *engine) exportLine() string { return "export DOCKER_HOST=unix://" + e.sock }

// ---------------------------------------------------------------- verdict

// verdictKey names the host the verdict is about: kernel release and the
// dockerd version ("none" when dockerd is not installed).
func (e *engine) verdictKey() string {
	v := "none"
	if d := e.findDockerd(); d != "" {
		out, _ := exec.Command(d, "--version").Output()
		v = strings.ReplaceAll(strings.TrimRight(string(out), "\n"), " ", "_")
	}
	return e.kernel + " " + v
}

// cachedVerdict returns the kept verdict ("ok" or "fail: why") when it was
// made with this kernel and dockerd version.
func (e *engine) cachedVerdict() (string, bool) {
	b, err := os.ReadFile(e.verdict)
	if err != nil {
		return "", false
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || lines[0] != e.verdictKey() {
		return "", false
	}
	return lines[1], true
}

func (e *engine) recordVerdict(v string) error {
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(e.verdict, []byte(e.verdictKey()+"\n"+v+"\n"), 0o644)
}

// whyNot says why no engine can be started here ("" when one can).
func (e *engine) whyNot() string {
	switch {
	case e.goos != "linux":
		return "not Linux (dockerd runs on Linux only)"
	case e.uid != 0:
		return "not root (dockerd needs root; rootless Docker is not set up by this project)"
	case e.findDockerd() == "" && !e.debian:
		return "dockerd is not installed and this is not Debian (install Docker with your OS packages)"
	}
	if v, ok := e.cachedVerdict(); ok && v != "ok" {
		return fmt.Sprintf("dockerd does not start on this host: %s (log: %s; delete %s to retry)",
			strings.TrimPrefix(v, "fail: "), e.log, e.verdict)
	}
	return ""
}

// ---------------------------------------------------------------- engine API

// dial reaches the engine's API on sock.
func apiClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
}

// ownAnswers: the project's socket answers the engine's ping.
func (e *engine) ownAnswers() bool {
	if st, err := os.Stat(e.sock); err != nil || st.Mode()&os.ModeSocket == 0 {
		return false
	}
	c := apiClient(e.sock)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// storageDriver asks the project's engine which storage driver it runs.
func (e *engine) storageDriver() string {
	c := apiClient(e.sock)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://docker/info")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var info struct{ Driver string }
	if json.NewDecoder(resp.Body).Decode(&info) != nil || info.Driver == "" {
		return "?"
	}
	return info.Driver
}

// otherAnswers: an engine answers the docker CLI as configured (DOCKER_HOST
// or its context).
func (e *engine) otherAnswers() bool {
	if e.dockerCLI == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, e.dockerCLI, "info").Run() == nil
}

func dockerHostName() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "default context"
}

// ---------------------------------------------------------------- pids

// ownPID returns the pid of the dockerd that start started, if it still runs.
func (e *engine) ownPID() (int, bool) {
	pid, ok := readPIDFile(e.pidFile)
	if !ok || !e.isOurs(pid, "dockerd") {
		return 0, false
	}
	return pid, true
}

// isOurs: pid runs comm and its command line names this project's socket or
// exec root (guards against a recycled pid and against other engines).
func (e *engine) isOurs(pid int, comm string) bool {
	p, ok := procfs.ReadStat(e.proc, pid)
	if !ok || p.Comm != comm || p.State == 'Z' {
		return false
	}
	cl, err := os.ReadFile(filepath.Join(e.proc, fmt.Sprint(pid), "cmdline"))
	if err != nil {
		return false
	}
	s := strings.ReplaceAll(string(cl), "\x00", " ")
	return strings.Contains(s, e.sock) || strings.Contains(s, e.exec+"/")
}

// addUser registers the calling shell, so that another shell's stop leaves
// the engine running while it lives.
func (e *engine) addUser() error {
	if err := os.MkdirAll(e.users, 0o755); err != nil {
		return err
	}
	if e.caller <= 1 {
		return nil
	}
	return os.WriteFile(filepath.Join(e.users, fmt.Sprint(e.caller)), nil, 0o644)
}

// liveUsers returns the registered shells still alive; dead ones are dropped.
func (e *engine) liveUsers() []int {
	ents, err := os.ReadDir(e.users)
	if err != nil {
		return nil
	}
	var live []int
	for _, ent := range ents {
		var pid int
		if _, err := fmt.Sscan(ent.Name(), &pid); err == nil && pid > 1 && procfs.Alive(e.proc, pid) {
			live = append(live, pid)
			continue
		}
		_ = os.Remove(filepath.Join(e.users, ent.Name()))
	}
	return live
}

// ---------------------------------------------------------------- lock

// withLock runs f holding <dir>/lock, so that two starts or stops never
// interleave.
func (e *engine) withLock(f func() error) error {
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(e.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	deadline := time.Now().Add(e.lockWait)
	for !tryLock(lf) {
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd: another start/stop holds %s", lf.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return f()
}

// ---------------------------------------------------------------- files

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// lastLine returns the last line of file p after offset from that matches re
// (any line when re is nil), cut to 300 characters.
func lastLine(p string, from int64, re *regexp.Regexp) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "==== ") {
			continue
		}
		if re == nil || re.MatchString(l) {
			last = l
		}
	}
	if r := []rune(last); len(r) > 300 {
		last = string(r[:300])
	}
	return last
}

func readPIDFile(p string) (int, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, false
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 1 {
		return 0, false
	}
	return pid, true
}

func pidFileText(p string) string {
	b, _ := os.ReadFile(p)
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "?"
}

func writePIDFile(p string, pid int) error {
	return os.WriteFile(p, []byte(fmt.Sprintln(pid)), 0o644)
}

// removeEmptyDirs removes d and the folders below it that are (or become)
// empty, deepest first; files are never removed.
func removeEmptyDirs(d string) {
	ents, err := os.ReadDir(d)
	if err != nil {
		return
	}
	for _, ent := range ents {
		if ent.IsDir() {
			removeEmptyDirs(filepath.Join(d, ent.Name()))
		}
	}
	_ = os.Remove(d) // fails when not empty
}
