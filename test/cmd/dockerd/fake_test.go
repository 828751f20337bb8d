package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the processes the engine deals with: run under
// the name dockerd (a symlink in a temporary folder), it is a stand-in engine
// that speaks the two API calls the command uses; as containerd, shim and
// app, it is the process tree a real engine leaves behind. Their behaviour
// is steered by FAKE_* environment variables the tests set.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "dockerd":
		os.Exit(fakeDockerd(os.Args[1:]))
	case "containerd":
		os.Exit(fakeParent("containerd-shim-runc-v2", "-address", flagValue(os.Args[1:], "--state")+"/containerd.sock"))
	case "containerd-shim-runc-v2":
		os.Exit(fakeParent("app"))
	case "app":
		time.Sleep(time.Hour)
		os.Exit(0)
	case "docker":
		if os.Getenv("FAKE_DOCKER_INFO") == "ok" {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "Cannot connect to the Docker daemon")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func sibling(name string) string { return filepath.Join(filepath.Dir(os.Args[0]), name) }

// fakeDockerd behaves like dockerd as far as the command can tell: --version,
// its pid file, the exec root, fatal log lines for a storage driver it cannot
// use, /_ping and /info on its socket, and containerd below it.
func fakeDockerd(args []string) int {
	if len(args) == 1 && args[0] == "--version" {
		v := os.Getenv("FAKE_DOCKERD_VERSION")
		if v == "" {
			v = "20.10.24+fake, build test"
		}
		fmt.Println("Docker version " + v)
		return 0
	}
	driver := flagValue(args, "--storage-driver")
	execRoot := flagValue(args, "--exec-root")
	sock := strings.TrimPrefix(flagValue(args, "-H"), "unix://")
	for _, d := range strings.Fields(os.Getenv("FAKE_DOCKERD_FAIL")) {
		if d == driver {
			fmt.Fprintf(os.Stderr, "time=\"2026-01-01T00:00:00Z\" level=error msg=\"%s is not supported here\"\n", driver)
			fmt.Fprintf(os.Stderr, "failed to start daemon: error initializing graphdriver: driver not supported: %s\n", driver)
			return 1
		}
	}
	if err := os.WriteFile(flagValue(args, "--pidfile"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "level=fatal msg=\"pid file:", err, "\"")
		return 1
	}
	for _, d := range append(filepath.SplitList(os.Getenv("FAKE_DOCKERD_MKDIR")), execRoot) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 1
		}
	}
	var containerd *exec.Cmd
	if os.Getenv("FAKE_DOCKERD_TREE") == "1" {
		containerd = exec.Command(sibling("containerd"), "--root", execRoot+"/containerd/daemon", "--state", execRoot+"/containerd")
		if err := containerd.Start(); err != nil {
			return 1
		}
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if os.Getenv("FAKE_DOCKERD_MUTE") != "1" {
		l, err := net.Listen("unix", sock)
		if err != nil {
			fmt.Fprintln(os.Stderr, "level=fatal msg=\"listen:", err, "\"")
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/_ping", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "OK") })
		mux.HandleFunc("/info", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, `{"Driver":%q}`, driver) })
		go func() { _ = http.Serve(l, mux) }()
	}
	for range term {
		if os.Getenv("FAKE_DOCKERD_STUBBORN") == "1" {
			continue
		}
		if containerd != nil {
			_ = containerd.Process.Signal(syscall.SIGTERM)
			_ = containerd.Wait()
		}
		_ = os.Remove(sock)
		return 0
	}
	return 0
}

// fakeParent starts one child and exits on SIGTERM, leaving the child
// running, as a shim whose container was not stopped does.
func fakeParent(child string, args ...string) int {
	c := exec.Command(sibling(child), args...)
	if err := c.Start(); err != nil {
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	<-term
	return 0
}
