// Command sandbox runs the Hetzner Cloud API emulator with the k3s boot
// simulation on its power hooks, in one process:
//
//	sandbox --state-dir .cache/sandbox/state --listen 127.0.0.1:8480 \
//	    --admin-listen 127.0.0.1:8481 --token sandbox:<64 chars>
//
// Servers created through the API boot k3s from their cloud-init: the first
// server of a cluster gets a real kube-apiserver on <ipv4>:6443. State
// (emulator and clusters) survives restarts. The admin listener serves the
// emulator's /admin API and GET /sandbox/clusters.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sre-platform/platform/test/hcloudemu"
	"github.com/sre-platform/platform/test/sandbox"
)

func main() {
	var (
		stateDir    = flag.String("state-dir", ".cache/sandbox/state", "state directory (emulator state and cluster data)")
		listen      = flag.String("listen", "127.0.0.1:8480", "Hetzner API listen address (serves /v1)")
		adminListen = flag.String("admin-listen", "127.0.0.1:8481", "admin listen address (/admin, /sandbox/clusters)")
		speed       = flag.Float64("speed", 1, "emulator speed factor (1 realistic: server boot ≈ 10 s; 10 = ten times faster)")
		pool        = flag.String("ipv4-pool", "127.0.0.0/8", "public IPv4 pool (every server listens on <ip>:6443)")
		kubeBin     = flag.String("kube-bin-dir", "", "directory with kube-apiserver and etcd (default: $PLATFORM_KUBE_BIN_DIR, $KUBEBUILDER_ASSETS, .cache/kube/"+sandbox.KubeVersion+")")
		heartbeat   = flag.Duration("heartbeat", 10*time.Second, "node heartbeat interval")
		grace       = flag.Duration("node-grace", 40*time.Second, "missed-heartbeat time before a Node goes NotReady")
		apiMem      = flag.String("apiserver-memlimit", "", "GOMEMLIMIT of each kube-apiserver (default 400MiB)")
		lbEvery     = flag.Duration("lb-sync", 2*time.Second, "how often load balancer forwards follow the emulator state")
		nodes       = flag.String("nodes", "api", "node mode: api (Nodes registered through the API, no pod runs) or real (kubelet, containerd, CNI and kube-proxy per node in its own network namespace)")
		registryDir = flag.String("registry-dir", "", "real nodes: OCI registry directory served to every node as the mirror of docker.io, ghcr.io and registry.k8s.io (default: $PLATFORM_CACHE/registry when it exists)")
		gitDir      = flag.String("git-dir", "", "real nodes: directory of bare Git repositories served read-only to every node and pod on http://"+sandbox.NodeGitIP+"/<name>.git (`up` publishes the checkout there)")
		runtimeDir  = flag.String("runtime-dir", "/run/sbx", "real nodes: short directory for sockets, kubelet roots and pod namespaces (removed at stop)")
		tokens      hcloudemu.TokenFlags
	)
	cleanHost := flag.Bool("clean-host", false, "remove what real nodes of a killed sandbox on --state-dir left on the host (namespaces, cgroups, mounts, runtime directories), then exit")
	flag.Var(&tokens, "token", "project:token[:ro] for the Hetzner API (repeatable)")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	if *cleanHost {
		if err := sandbox.CleanHost(filepath.Join(*stateDir, "clusters")); err != nil {
			log.Fatalf("sandbox: cleaning the host: %v", err)
		}
		return
	}
	pfx, err := netip.ParsePrefix(*pool)
	if err != nil {
		log.Fatalf("--ipv4-pool: %v", err)
	}
	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		log.Fatal(err)
	}
	mode, err := sandbox.ParseNodeMode(*nodes)
	if err != nil {
		log.Fatalf("--nodes: %v", err)
	}
	var registry, git http.Handler
	if mode == sandbox.NodesReal {
		if registry, err = sandbox.OpenImageRegistry(*registryDir); err != nil {
			log.Fatal(err)
		}
		if *gitDir != "" {
			if git, err = sandbox.NewGitServer(*gitDir); err != nil {
				log.Fatal(err)
			}
		}
	}
	sb, err := sandbox.New(sandbox.Config{StateDir: filepath.Join(*stateDir, "clusters"),
		ControlPlane:      sandbox.ControlPlaneOptions{BinDir: *kubeBin, APIServerMemLimit: *apiMem},
		HeartbeatInterval: *heartbeat, NodeGrace: *grace, Nodes: mode, RuntimeDir: *runtimeDir, Registry: registry, Git: git})
	if err != nil {
		log.Fatal(err)
	}
	lbs := &sandbox.EmulatorLoadBalancers{Logf: log.Printf, Nodes: sb}
	// The resolver needs the emulator, and the emulator needs the hook:
	// install the hook once both exist so restored servers see it.
	emu, err := hcloudemu.New(hcloudemu.Config{StateDir: filepath.Join(*stateDir, "emulator"), Speed: *speed,
		IPv4Pool: pfx, Tokens: tokens})
	if err != nil {
		sb.Close()
		log.Fatal(err)
	}
	lbs.Emu = emu
	sb.SetLoadBalancers(lbs)
	// Servers deleted while the sandbox was stopped take their clusters along.
	ids := map[int64]bool{}
	for _, d := range emu.Dump("") {
		for _, s := range d.Servers {
			var v struct {
				ID int64 `json:"id"`
			}
			if b, err := json.Marshal(s); err == nil && json.Unmarshal(b, &v) == nil {
				ids[v.ID] = true
			}
		}
	}
	sb.Prune(func(id int64) bool { return ids[id] })

	apiLn, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", *adminListen)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", emu.AdminHandler())
	mux.HandleFunc("GET /sandbox/clusters", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"clusters": sb.Clusters()})
	})
	api := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(apiLn) }()
	go func() { _ = admin.Serve(adminLn) }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	emu.SetPowerHook(sb)
	lbDone := make(chan struct{})
	go func() { defer close(lbDone); lbs.Forward(ctx, *lbEvery) }()

	ep := map[string]any{"api": "http://" + apiLn.Addr().String() + "/v1", "admin": "http://" + adminLn.Addr().String(),
		"pid": os.Getpid(), "started": time.Now().UTC()}
	b, _ := json.MarshalIndent(ep, "", "  ")
	if err := os.WriteFile(filepath.Join(*stateDir, "endpoints.json"), b, 0o600); err != nil {
		log.Fatal(err)
	}
	log.Printf("sandbox: Hetzner API %s, admin %s, state %s, speed %g", ep["api"], ep["admin"], *stateDir, *speed)

	<-ctx.Done()
	log.Printf("sandbox: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = api.Shutdown(sctx)
	_ = admin.Shutdown(sctx)
	if err := emu.Close(); err != nil {
		log.Printf("sandbox: closing emulator: %v", err)
	}
	<-lbDone
	if err := sb.Close(); err != nil {
		log.Printf("sandbox: %v", err)
	}
	_ = os.Remove(filepath.Join(*stateDir, "endpoints.json"))
	log.Printf("sandbox: stopped")
}
