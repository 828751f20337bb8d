package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

// ---------------------------------------------------------------- start

func (e *engine) start() error {
	return e.withLock(e.startLocked)
}

func (e *engine) startLocked() error {
	if pid, ok := e.ownPID(); ok && e.ownAnswers() {
		if err := e.addUser(); err != nil {
			return err
		}
		e.logf("already running (pid %d)", pid)
		e.say("%s", e.exportLine())
		return nil
	}
	if e.otherAnswers() {
		e.logf("a Docker engine already answers (%s); starting none", dockerHostName())
		e.say("# using the Docker engine that already answers")
		return nil
	}
	if why := e.whyNot(); why != "" {
		return errors.New("dockerd: cannot start: " + why)
	}
	inst := exec.Command(e.install[0], e.install[1:]...)
	inst.Stdout, inst.Stderr = e.stderr, e.stderr
	if inst.Run() != nil {
		return errors.New("dockerd: cannot start: installing docker.io failed")
	}
	bin := e.findDockerd()
	if bin == "" {
		return errors.New("dockerd: cannot start: dockerd missing after installing docker.io")
	}
	// Stale state of an engine that died: stop whatever is left of it.
	if exists(e.pidFile) || exists(e.sock) {
		e.stopEngine()
	}
	if err := os.MkdirAll(e.data, 0o755); err != nil {
		return err
	}
	// Own config file: no host /etc/docker/daemon.json is read, and the engine
	// key (otherwise /etc/docker/key.json) stays under the engine's folder.
	key, _ := json.Marshal(filepath.Join(e.dir, "key.json"))
	if err := os.WriteFile(filepath.Join(e.dir, "daemon.json"), []byte(`{ "deprecated-key-path": `+string(key)+" }\n"), 0o644); err != nil {
		return err
	}
	t0 := time.Now()
	logStart := fileSize(e.log)
	for _, driver := range e.drivers {
		if err := e.noteHostDirs(); err != nil {
			return err
		}
		from := fileSize(e.log)
		pid, err := e.launch(bin, driver)
		if err == nil {
			if err := e.addUser(); err != nil {
				return err
			}
			if err := e.recordVerdict("ok"); err != nil {
				return err
			}
			e.logf("up in %.1f s (pid %d, storage driver %s, log %s)", time.Since(t0).Seconds(), pid, driver, e.log)
			e.say("%s", e.exportLine())
			return nil
		}
		why := lastLine(e.log, from, fatalLine)
		if why == "" {
			why = lastLine(e.log, from, nil)
		}
		e.logf("storage driver %s did not start: %s", driver, why)
		e.stopEngine()
	}
	why := lastLine(e.log, logStart, errorLine)
	if why == "" {
		why = "dockerd exited or did not answer"
	}
	if err := e.recordVerdict("fail: " + why); err != nil {
		return err
	}
	return fmt.Errorf("dockerd: failed to start (log: %s)", e.log)
}

var (
	fatalLine = regexp.MustCompile(`failed to start|level=fatal`)
	errorLine = regexp.MustCompile(`level=(fatal|error)|failed to start`)
)

// noteHostDirs records the host folders that do not exist yet, so that stop
// removes them again.
func (e *engine) noteHostDirs() error {
	var b strings.Builder
	for _, d := range append(append([]string{}, e.hostDirs...), e.exec) {
		if !exists(d) {
			b.WriteString(d + "\n")
		}
	}
	return os.WriteFile(e.created, []byte(b.String()), 0o644)
}

// launch runs dockerd in its own session with its output in the log, and
// waits until the socket answers. On failure nothing of it is left running.
func (e *engine) launch(bin, driver string) (int, error) {
	lf, err := os.OpenFile(e.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "\n==== %s dockerd --storage-driver %s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), driver)
	cmd := exec.Command(bin,
		"--data-root", e.data, "--exec-root", e.exec, "--pidfile", e.pidFile,
		"-H", "unix://"+e.sock, "--config-file", filepath.Join(e.dir, "daemon.json"),
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--userland-proxy=false", "--storage-driver", driver, "--shutdown-timeout", "10")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = newSession()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(e.startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return 0, errors.New("dockerd exited")
		default:
		}
		if e.ownAnswers() {
			// dockerd writes the pid file itself; make sure it names this process.
			return pid, writePIDFile(e.pidFile, pid)
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.logf("no answer on %s after %gs", e.sock, e.startTimeout.Seconds())
	if err := writePIDFile(e.pidFile, pid); err != nil {
		return 0, err
	}
	e.stopEngine()
	return 0, errors.New("dockerd did not answer")
}

// ---------------------------------------------------------------- stop

// stopEngine stops the project's dockerd and everything it started, unmounts
// what it left mounted and removes its socket, pid file and the host folders
// it created. It never signals a process that is not this project's.
func (e *engine) stopEngine() {
	pid := 0
	if p, ok := readPIDFile(e.pidFile); ok && e.isOurs(p, "dockerd") {
		pid = p
	} else if exists(e.pidFile) {
		e.logf("stale pid file (pid %s is not this project's dockerd): removed", pidFileText(e.pidFile))
	}
	// containerd started by dockerd, runc shims started by that containerd,
	// and the container processes below the shims (remembered with their
	// start time, which tells them from a later process with the same pid).
	table := procfs.Table(e.proc)
	var helpers []int
	var workloads []procfs.Proc
	for _, p := range table {
		if (p.Comm == "containerd" || strings.HasPrefix(p.Comm, "containerd-shim")) && e.isOurs(p.PID, p.Comm) {
			helpers = append(helpers, p.PID)
			if strings.HasPrefix(p.Comm, "containerd-shim") {
				workloads = append(workloads, procfs.Descendants(table, p.PID)...)
			}
		}
	}
	if pid != 0 {
		// dockerd stops the containers (--shutdown-timeout 10), then its containerd.
		if !signalWait(e.proc, sigTerm, e.stopTimeout, pid) {
			e.logf("dockerd (pid %d) still running after %gs: SIGKILL", pid, e.stopTimeout.Seconds())
			if !signalWait(e.proc, sigKill, 5*time.Second, pid) {
				e.logf("dockerd (pid %d) survived SIGKILL", pid)
			}
		}
		e.logf("stopped dockerd (pid %d)", pid)
	}
	// Whatever is left: container processes first (SIGKILL), then shims and
	// containerd (SIGTERM, then SIGKILL).
	var left []int
	for _, w := range workloads {
		if p, ok := procfs.ReadStat(e.proc, w.PID); ok && p.Start == w.Start && p.State != 'Z' {
			left = append(left, w.PID)
		}
	}
	if len(left) > 0 {
		signalWait(e.proc, sigKill, 5*time.Second, left...)
		e.logf("killed container pids %s", joinPIDs(left))
	}
	left = left[:0]
	for _, h := range helpers {
		if p, ok := procfs.ReadStat(e.proc, h); ok && e.isOurs(h, p.Comm) {
			left = append(left, h)
		}
	}
	if len(left) > 0 {
		if !signalWait(e.proc, sigTerm, 10*time.Second, left...) {
			signalWait(e.proc, sigKill, 5*time.Second, left...)
		}
		e.logf("stopped containerd/shim pids %s", joinPIDs(left))
	}
	// Mounts left below the state folders (netns, overlay, the data-root
	// bind), deepest first.
	for _, m := range e.leftMounts() {
		if err := unmount(m); err != nil {
			e.logf("could not unmount %s", m)
		}
	}
	for _, f := range []string{e.sock, e.pidFile, filepath.Join(e.dir, "docker.sock.lock")} {
		_ = os.Remove(f)
	}
	e.removeCreated()
}

// leftMounts lists the mount points below the engine's folder, its exec
// root or on its data root, deepest first.
func (e *engine) leftMounts() []string {
	f, err := os.Open(filepath.Join(e.proc, "self", "mountinfo"))
	if err != nil {
		return nil
	}
	defer f.Close()
	return ownMounts(f, e.dir, e.exec, e.data)
}

// removeCreated removes the host folders start noted as new, where they are
// left empty.
func (e *engine) removeCreated() {
	b, err := os.ReadFile(e.created)
	if err != nil {
		return
	}
	for _, d := range strings.Split(string(b), "\n") {
		if st, err := os.Stat(d); d == "" || err != nil || !st.IsDir() {
			continue
		}
		// An exec root below the engine's folder is its own state, kept.
		if d == e.exec && strings.HasPrefix(e.exec, e.dir+"/") {
			continue
		}
		removeEmptyDirs(d)
		if exists(d) {
			e.logf("left %s (not empty)", d)
		}
	}
	_ = os.Remove(e.created)
}

func (e *engine) stop(force bool) error {
	return e.withLock(func() error {
		for _, p := range e.forget {
			_ = os.Remove(filepath.Join(e.users, fmt.Sprint(p)))
		}
		if !exists(e.pidFile) && !exists(e.sock) && !exists(e.created) {
			e.logf("not running (nothing started by this project)")
			return nil
		}
		if users := e.liveUsers(); len(users) > 0 && !force {
			if _, ok := e.ownPID(); ok {
				e.logf("still used by shell pid(s) %s; leaving it running (stop --force stops it anyway)", joinPIDs(users))
				return nil
			}
		}
		e.stopEngine()
		return os.RemoveAll(e.users)
	})
}

// ---------------------------------------------------------------- status, can-start

// status prints which engine answers; false when none does.
func (e *engine) status() bool {
	if pid, ok := e.ownPID(); ok && e.ownAnswers() {
		e.say("dockerd: project engine running (pid %d, storage driver %s)", pid, e.storageDriver())
		e.say("%s", e.exportLine())
		return true
	}
	if exists(e.pidFile) {
		e.say("dockerd: stale pid file %s (run: bash hack/dockerd.sh stop)", e.pidFile)
	}
	if e.otherAnswers() {
		e.say("dockerd: a Docker engine already answers (%s)", dockerHostName())
		return true
	}
	e.say("dockerd: no Docker engine answers")
	return false
}

// canStart says whether an engine answers or can be started here. The first
// check with a kernel and dockerd version starts and stops the engine once
// and keeps the verdict.
func (e *engine) canStart() bool {
	if e.ownAnswers() || e.otherAnswers() {
		e.logf("can start: an engine already answers")
		return true
	}
	if why := e.whyNot(); why != "" {
		e.logf("cannot start: %s", why)
		return false
	}
	if e.findDockerd() != "" {
		if _, known := e.cachedVerdict(); !known {
			probe := *e
			probe.stdout, probe.stderr = io.Discard, io.Discard
			if probe.start() == nil {
				_ = probe.stop(true)
			}
			if why := e.whyNot(); why != "" {
				e.logf("cannot start: %s", why)
				return false
			}
		}
	}
	e.logf("can start (root on Debian; docker.io from: go tool task deps -- docker)")
	return true
}
