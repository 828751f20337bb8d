package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// sandboxEnv is one sandbox as `up`, `down` and `status` see it: where its
// files live (everything under <cache>/sandbox, git-ignored) and how its
// service is started, from the environment the command's doc lists.
type sandboxEnv struct {
	root  string // the checkout: PLATFORM_ROOT, else the working directory
	cache string // PLATFORM_CACHE, else <root>/.cache
	dir   string // <cache>/sandbox: pid file, log, token, state, Terraform state, kubeconfig
	bin   string // <dir>/bin: the sandbox service binary

	listen, adminListen string // PLATFORM_SANDBOX_LISTEN, PLATFORM_SANDBOX_ADMIN_LISTEN
	speed               string // PLATFORM_SANDBOX_SPEED
	nodes               string // PLATFORM_SANDBOX_NODES: real or api
	pool                string // PLATFORM_SANDBOX_IPV4_POOL
	operatorVersion     string // PLATFORM_FLUX_OPERATOR_VERSION
	kubeBinDirs         []string
	keep                bool // PLATFORM_SANDBOX_KEEP

	terraform   string        // the terraform CLI (from PATH)
	startWait   time.Duration // how long a starting service may take to write its endpoints
	stopWait    time.Duration // SIGTERM to SIGKILL for the service
	childWait   time.Duration // ... for what it started and left running
	out, errOut io.Writer

	sopsKey string // the sandbox's age identity once up made it (TF_VAR_sops_age_key): sensitive
}

// Defaults of the environment variables; hack/sandbox.sh and the docs name
// the same.
const (
	defaultListen          = "127.0.0.1:8480"
	defaultAdminListen     = "127.0.0.1:8481"
	defaultSpeed           = "10"
	defaultNodes           = "real"
	defaultPool            = "127.0.0.0/8"
	defaultOperatorVersion = "v0.59.0"
)

func newSandboxEnv(getenv func(string) string, out, errOut io.Writer) (*sandboxEnv, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	root := getenv("PLATFORM_ROOT")
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		root = wd
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(filepath.Join(root, "environments", "sandbox")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("sandbox: %s is not the repository root (no environments/sandbox): run it at the root or set PLATFORM_ROOT", root)
	}
	cache, err := filepath.Abs(or("PLATFORM_CACHE", filepath.Join(root, ".cache")))
	if err != nil {
		return nil, err
	}
	s := &sandboxEnv{
		root: root, cache: cache, dir: filepath.Join(cache, "sandbox"),
		listen: or("PLATFORM_SANDBOX_LISTEN", defaultListen), adminListen: or("PLATFORM_SANDBOX_ADMIN_LISTEN", defaultAdminListen),
		speed: or("PLATFORM_SANDBOX_SPEED", defaultSpeed), nodes: or("PLATFORM_SANDBOX_NODES", defaultNodes),
		pool: or("PLATFORM_SANDBOX_IPV4_POOL", defaultPool), operatorVersion: or("PLATFORM_FLUX_OPERATOR_VERSION", defaultOperatorVersion),
		kubeBinDirs: []string{getenv("PLATFORM_KUBE_BIN_DIR"), getenv("KUBEBUILDER_ASSETS")},
		terraform:   "terraform",
		startWait:   10 * time.Second, stopWait: 60 * time.Second, childWait: 10 * time.Second,
		out: out, errOut: errOut,
	}
	s.bin = filepath.Join(s.dir, "bin")
	if s.nodes != "real" && s.nodes != "api" {
		return nil, fmt.Errorf("sandbox: PLATFORM_SANDBOX_NODES=%q: want real (kubelet + containerd per node) or api (Nodes through the API only)", s.nodes)
	}
	switch k := getenv("PLATFORM_SANDBOX_KEEP"); k {
	case "", "0":
	case "1":
		s.keep = true
	default:
		return nil, fmt.Errorf("sandbox: PLATFORM_SANDBOX_KEEP=%q: want 1 (keep the state) or 0", k)
	}
	return s, nil
}

func (s *sandboxEnv) path(name string) string { return filepath.Join(s.dir, name) }

func (s *sandboxEnv) pidFile() string    { return s.path("sandbox.pid") }
func (s *sandboxEnv) logFile() string    { return s.path("sandbox.log") }
func (s *sandboxEnv) tokenFile() string  { return s.path("token") }
func (s *sandboxEnv) stateDir() string   { return s.path("state") }
func (s *sandboxEnv) kubeconfig() string { return s.path("kubeconfig") }
func (s *sandboxEnv) serviceExe() string { return filepath.Join(s.bin, "sandbox") }
func (s *sandboxEnv) tfRoot() string     { return filepath.Join(s.root, "environments", "sandbox") }

func (s *sandboxEnv) say(format string, a ...any) { fmt.Fprintf(s.out, format+"\n", a...) }
