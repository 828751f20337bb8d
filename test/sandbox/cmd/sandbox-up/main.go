// Command sandbox-up runs the local sandbox behind `go tool task up`,
// `status` and `down` (hack/sandbox.sh builds it into .cache/bin and runs
// it): the Hetzner emulator + k3s boot simulation (test/sandbox/cmd/sandbox)
// as a background service, and the environments/sandbox Terraform root
// applied against it. Everything lives under .cache/sandbox (git-ignored):
// pid file, log, API token, state (emulator + etcd data), Terraform state and
// data dir, the admin kubeconfig.
//
//	sandbox-up up
//	    build kube-apiserver/etcd if needed, start the service (or reuse the
//	    running one), write the Flux Operator manifest
//	    (.cache/flux-operator/<version>/install.yaml), publish the working
//	    tree to the sandbox's Git server (real nodes), terraform apply
//	    environments/sandbox (one server + one agent, Flux waiting for Ready
//	    with real nodes, the apps load balancer; progress lines on the
//	    terminal, the full output in .cache/sandbox/terraform.log), write
//	    .cache/sandbox/kubeconfig (0600), wait for the nodes and for Flux to
//	    deliver the published commit, print the app URL
//	sandbox-up down [--keep]
//	    terraform destroy (when there is state and the service runs), then
//	    stop the service and what it started by PID (SIGTERM, then SIGKILL
//	    after 60 s, 10 s for what it started) and remove .cache/sandbox
//	    (--keep or PLATFORM_SANDBOX_KEEP=1 skips the destroy and keeps
//	    everything for the next up)
//	sandbox-up status
//	    running or not (exit 1 when not), endpoints, clusters with their
//	    nodes and memory (the admin API), kubeconfig path; nodes,
//	    FluxInstance, sources, Kustomizations and Deployments
//
// The steps up and status use on their own:
//
//	sandbox-up publish --checkout . --repo .cache/sandbox/git/platform.git
//	    commit the working tree (uncommitted changes included) onto the
//	    branch `sandbox` of the sandbox's Git server; prints the commit
//	sandbox-up wait --kubeconfig K --nodes a,b [--commit SHA --app-url URL]
//	    wait until the nodes are Ready and print them; with --commit, ask
//	    Flux to reconcile, wait until every Kustomization is Ready at that
//	    commit and the Deployments are available (a failed Kustomization
//	    ends it non-zero with Flux's message), then fetch the app URL
//
// The service is recognised by its pid file and its executable
// (.cache/sandbox/bin/sandbox, also after a rebuild); only processes found
// that way, and the ones it started, are ever signalled.
//
// Environment: PLATFORM_ROOT (default: the working directory),
// PLATFORM_CACHE (<root>/.cache), PLATFORM_SANDBOX_LISTEN (default
// 127.0.0.1:8480), PLATFORM_SANDBOX_ADMIN_LISTEN (127.0.0.1:8481),
// PLATFORM_SANDBOX_SPEED (10), PLATFORM_SANDBOX_IPV4_POOL (127.0.0.0/8:
// servers get 127.0.1.1 upward), PLATFORM_SANDBOX_NODES (real, the default:
// kubelet + containerd per node; needs root, `go tool task deps -- nodes` and
// the images, built here when missing; api: Nodes registered through the API
// only, no pod runs), PLATFORM_KUBE_BIN_DIR / KUBEBUILDER_ASSETS (prebuilt
// kube-apiserver + etcd: no build), PLATFORM_FLUX_OPERATOR_VERSION (v0.59.0),
// PLATFORM_SANDBOX_KEEP (1: down keeps everything).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sre-platform/platform/test/sandbox"
)

const usage = "usage: sandbox-up up|down [--keep]|status|publish|wait [flags] (see the command's doc)"

func main() {
	log.SetFlags(0)
	log.SetPrefix("sandbox-up: ")
	if len(os.Args) < 2 {
		log.Fatal(usage)
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "up", "down", "status":
		os.Exit(lifecycle(cmd, args))
	case "publish":
		if err := publish(args); err != nil {
			log.Fatal(err)
		}
	case "wait":
		if err := wait(args); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("unknown command %q; %s", cmd, usage)
	}
}

// lifecycle runs up, down or status and returns the exit code.
func lifecycle(cmd string, args []string) int {
	s, err := newSandboxEnv(os.Getenv, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// What the steps run (go build, the build scripts, the service) sees the
	// same checkout, cache and toolchain.
	for k, v := range map[string]string{"PLATFORM_ROOT": s.root, "PLATFORM_CACHE": s.cache,
		"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"} {
		_ = os.Setenv(k, v)
	}
	keep := s.keep
	switch {
	case cmd == "down" && len(args) == 1 && args[0] == "--keep":
		keep = true
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: bash hack/sandbox.sh up|down [--keep]|status")
		return 2
	}
	switch cmd {
	case "up":
		err = s.up()
	case "down":
		err = s.down(keep)
	case "status":
		if !s.status() {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func publish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	checkout := fs.String("checkout", ".", "the checkout whose working tree is published")
	repo := fs.String("repo", ".cache/sandbox/git/platform.git", "bare repository the sandbox's Git server serves")
	branch := fs.String("branch", "sandbox", "branch to publish to")
	sopsDir := fs.String("sops-dir", ".cache/sandbox", "the sandbox folder whose age key (age.agekey) and encrypted Secrets join the commit; none when it has no key")
	_ = fs.Parse(args)
	var extra []sandbox.File
	if _, err := os.Stat(filepath.Join(*sopsDir, "age.agekey")); err == nil {
		sops, err := prepareSOPS(*checkout, filepath.Dir(*sopsDir), *sopsDir)
		if err != nil {
			return err
		}
		extra = sops.Files
	}
	commit, err := publishTree(*checkout, *repo, *branch, os.Stderr, extra...)
	if err != nil {
		return err
	}
	fmt.Println(commit)
	return nil
}

// prepareSOPS builds test/tools/sops into <cache>/bin and makes sure dir
// holds the sandbox's age key and its encrypted Secrets (sandbox.PrepareSOPS).
func prepareSOPS(root, cache, dir string) (sandbox.SOPS, error) {
	tool, err := sandbox.BuildSOPSTool(context.Background(), root, filepath.Join(cache, "bin"))
	if err != nil {
		return sandbox.SOPS{}, err
	}
	return sandbox.PrepareSOPS(context.Background(), tool, dir)
}

// publishTree commits the checkout's working tree, with the extra files,
// onto branch of repo, says so on w and returns the commit.
func publishTree(checkout, repo, branch string, w io.Writer, extra ...sandbox.File) (string, error) {
	p, err := sandbox.Publish(context.Background(), checkout, repo, branch, extra...)
	if err != nil {
		return "", err
	}
	what := "published the working tree as"
	if !p.Changed {
		what = "working tree unchanged since the last publish:"
	}
	fmt.Fprintf(w, "sandbox: %s %s on branch %s (on top of HEAD %.12s)\n", what, p.Commit, branch, p.Base)
	return p.Commit, nil
}

func clients(kubeconfig string) (*rest.Config, kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.Timeout = 10 * time.Second
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	return cfg, kc, dyn, err
}

func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", ".cache/sandbox/kubeconfig", "admin kubeconfig of the sandbox cluster")
	nodes := fs.String("nodes", "", "comma-separated node names that must be Ready (terraform output node_names)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the nodes")
	commit := fs.String("commit", "", "published commit Flux must deliver (empty: do not wait for Flux)")
	appURL := fs.String("app-url", "", "with --commit: the app's URL, fetched once delivered")
	fluxTimeout := fs.Duration("flux-timeout", 5*time.Minute, "how long to wait for Flux and the app")
	_ = fs.Parse(args)
	o := waitOptions{kubeconfig: *kubeconfig, timeout: *timeout, commit: *commit, appURL: *appURL, fluxTimeout: *fluxTimeout}
	for _, n := range strings.Split(*nodes, ",") {
		if n = strings.TrimSpace(n); n != "" {
			o.nodes = append(o.nodes, n)
		}
	}
	return waitFor(o)
}

// waitOptions: what waitFor waits for.
type waitOptions struct {
	kubeconfig  string
	nodes       []string      // must be Ready
	timeout     time.Duration // for the nodes
	commit      string        // Flux must deliver it ("": do not wait for Flux)
	appURL      string        // with commit: fetched once delivered
	fluxTimeout time.Duration // for Flux and the app
}

// waitFor waits until the nodes are Ready and prints them; with a commit,
// until Flux delivered it and the app answers.
func waitFor(o waitOptions) error {
	cfg, kc, dyn, err := clients(o.kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := run(ctx, cfg, kc, o.nodes); err != nil {
		return err
	}
	if o.commit == "" {
		d, err := sandbox.ReadDelivery(ctx, kc, dyn)
		if err != nil {
			return err
		}
		d.Write(os.Stdout)
		return nil
	}
	fctx, fcancel := context.WithTimeout(context.Background(), o.fluxTimeout)
	defer fcancel()
	start := time.Now()
	fmt.Printf("Flux: reconciling %.12s (the checkout as published) ...\n", o.commit)
	d, err := sandbox.WaitDelivered(fctx, kc, dyn, o.commit, func(msg string) {
		fmt.Printf("  %5.1fs %s\n", time.Since(start).Seconds(), msg)
	})
	d.Write(os.Stdout)
	if err != nil {
		if errors.Is(err, sandbox.ErrDeliveryFailed) {
			return fmt.Errorf("%v\n(fix the manifests, then `go tool task up` publishes and reconciles again)", err)
		}
		return err
	}
	fmt.Printf("Flux: %.12s delivered in %s\n", o.commit, time.Since(start).Round(100*time.Millisecond))
	if o.appURL == "" {
		return nil
	}
	var body []byte
	for {
		if body, err = sandbox.GetApp(fctx, o.appURL); err == nil {
			break
		}
		select {
		case <-fctx.Done():
			return fmt.Errorf("the app does not answer at %s: %v", o.appURL, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("app: %s answers (%d bytes) %s after the reconcile request\n", o.appURL, len(body), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// clusterStatus prints the nodes, the FluxInstance, sources,
// Kustomizations and Deployments of the cluster kubeconfig reaches.
func clusterStatus(kubeconfig string) error {
	cfg, kc, dyn, err := clients(kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster at %s: %w", cfg.Host, err)
	}
	if err := printNodes(nodes); err != nil {
		return err
	}
	d, err := sandbox.ReadDelivery(ctx, kc, dyn)
	if err != nil {
		return err
	}
	d.Write(os.Stdout)
	return nil
}

func run(ctx context.Context, cfg *rest.Config, kc kubernetes.Interface, want []string) error {
	start := time.Now()
	var nodes *corev1.NodeList
	var err error
	for {
		var missing []string
		nodes, err = kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			ready := map[string]bool{}
			for i := range nodes.Items {
				ready[nodes.Items[i].Name] = isReady(&nodes.Items[i])
			}
			for _, n := range want {
				if !ready[n] {
					missing = append(missing, n)
				}
			}
			if len(missing) == 0 {
				break
			}
			err = fmt.Errorf("not Ready yet: %s", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for nodes at %s: %v", cfg.Host, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("%d node(s) Ready at %s (waited %s)\n", len(want), cfg.Host, time.Since(start).Round(100*time.Millisecond))
	return printNodes(nodes)
}

func printNodes(nodes *corev1.NodeList) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tSTATUS\tVERSION\tINTERNAL-IP\tEXTERNAL-IP")
	for i := range nodes.Items {
		n := &nodes.Items[i]
		status := "NotReady"
		if isReady(n) {
			status = "Ready"
		}
		role := "agent"
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			role = "control-plane"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, role, status, n.Status.NodeInfo.KubeletVersion,
			address(n, corev1.NodeInternalIP), address(n, corev1.NodeExternalIP))
	}
	return w.Flush()
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func address(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "-"
}
