// Command dockerd manages a project-owned Docker engine, for the tests that
// need one (the backend's container smoke test):
//
//	bash hack/dockerd.sh start|stop [--force]|status|can-start
//
// (hack/dockerd.sh builds this command into .cache/bin and runs it; under
// `go run` the exit codes below become 1.)
//
// start: when a Docker engine already answers (`docker info`), use it and
// start nothing. Otherwise (root on Debian only) install docker.io through
// hack/deps.sh and run dockerd in the background with all its state under
// .cache/docker (data root, exec root, pid file, socket, log, key) and no host
// networking change: no bridge, no iptables (containers use --network host).
// Storage driver overlay2, vfs when overlay2 does not start. Prints
// `export DOCKER_HOST=…`.
//
// stop: SIGTERM the dockerd that start started (pid file), SIGKILL after a
// timeout, together with its containerd, shims and container processes;
// unmount what it left mounted, remove the socket and the host folders it
// created. Idempotent. Leaves the engine running while another shell that
// called start is still alive (--force stops it anyway).
//
// status: which engine answers, if any (exit 0 when one does, else 3).
//
// can-start: cheap check for test plans: exit 0 when an engine answers or can
// be started here, else print why and exit 1. The first check on a host with
// dockerd installed starts and stops it once; the verdict is kept per kernel
// and dockerd version in .cache/docker/verdict.
//
// Only processes whose command line names this project's socket or exec root
// are ever signalled. Environment: PLATFORM_ROOT, PLATFORM_CACHE,
// DOCKERD_START_TIMEOUT and DOCKERD_STOP_TIMEOUT (seconds, default 30 and 25),
// DOCKERD_STORAGE_DRIVERS (tried in order, default "overlay2 vfs").
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/internal/procfs"
)

const usage = "usage: bash hack/dockerd.sh start|stop [--force]|status|can-start"

func main() {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerd:", err)
		os.Exit(1)
	}
	e, err := newEngine(root, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerd:", err)
		os.Exit(1)
	}
	os.Exit(run(e, os.Args[1:]))
}

// run executes one subcommand and returns the exit code.
func run(e *engine, args []string) int {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	var err error
	switch {
	case cmd == "start" && len(args) == 1:
		err = e.start()
	case cmd == "stop" && len(args) == 1:
		err = e.stop(false)
	case cmd == "stop" && len(args) == 2 && args[1] == "--force":
		err = e.stop(true)
	case cmd == "status" && len(args) == 1:
		if !e.status() {
			return 3
		}
	case cmd == "can-start" && len(args) == 1:
		if !e.canStart() {
			return 1
		}
	default:
		fmt.Fprintln(e.stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	return 0
}

// repoRoot is PLATFORM_ROOT, else the folder holding the root module's
// go.mod, found from the working directory upwards.
func repoRoot() (string, error) {
	if r := os.Getenv("PLATFORM_ROOT"); r != "" {
		return r, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/sre-platform/platform\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run it inside the repository (no go.mod of github.com/sre-platform/platform above %s) or set PLATFORM_ROOT", wd)
		}
	}
}

// seconds reads a duration in whole or fractional seconds from the
// environment variable name, def when unset.
func seconds(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number of seconds", name, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// callers are the processes that stand for "the shell that called this
// command": the parent, and when the parent is the go command (`go run`),
// its parent too. The first is registered as a user on start; all are
// forgotten on stop.
func callers(proc string) (registered int, forget []int) {
	self, parent := os.Getpid(), os.Getppid()
	registered = parent
	forget = []int{self, parent}
	if p, ok := procfs.ReadStat(proc, parent); ok && p.Comm == "go" {
		registered = p.PPID
		forget = append(forget, p.PPID)
	}
	return registered, forget
}

// isDebian: Debian's apt can install docker.io here.
func isDebian() bool {
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		return false
	}
	_, err := lookPath("apt-get")
	return err == nil
}

// kernelRelease is `uname -r`.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
