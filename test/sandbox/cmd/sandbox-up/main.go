// Command sandbox-up is the Go half of `go tool task up` and `status`
// (hack/sandbox.sh):
//
//	sandbox-up publish --checkout . --repo .cache/sandbox/git/platform.git
//	    commit the working tree (uncommitted changes included) onto the
//	    branch `sandbox` of the sandbox's Git server; prints the commit
//	sandbox-up wait --kubeconfig K --nodes a,b [--commit SHA --app-url URL]
//	    wait until the nodes are Ready and print them; with --commit, ask
//	    Flux to reconcile, wait until every Kustomization is Ready at that
//	    commit and the Deployments are available (a failed Kustomization
//	    ends it non-zero with Flux's message), then fetch the app URL
//	sandbox-up status --kubeconfig K
//	    the nodes, the FluxInstance, sources, Kustomizations, Deployments
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
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

func main() {
	log.SetFlags(0)
	log.SetPrefix("sandbox-up: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: sandbox-up publish|wait|status [flags] (see the command's doc)")
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "publish":
		err = publish(args)
	case "wait":
		err = wait(args)
	case "status":
		err = status(args)
	default:
		err = fmt.Errorf("unknown command %q: want publish, wait or status", cmd)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func publish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	checkout := fs.String("checkout", ".", "the checkout whose working tree is published")
	repo := fs.String("repo", ".cache/sandbox/git/platform.git", "bare repository the sandbox's Git server serves")
	branch := fs.String("branch", "sandbox", "branch to publish to")
	_ = fs.Parse(args)
	p, err := sandbox.Publish(context.Background(), *checkout, *repo, *branch)
	if err != nil {
		return err
	}
	what := "published the working tree as"
	if !p.Changed {
		what = "working tree unchanged since the last publish:"
	}
	fmt.Fprintf(os.Stderr, "sandbox: %s %s on branch %s (on top of HEAD %.12s)\n", what, p.Commit, *branch, p.Base)
	fmt.Println(p.Commit)
	return nil
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
	var want []string
	for _, n := range strings.Split(*nodes, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want = append(want, n)
		}
	}
	cfg, kc, dyn, err := clients(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, cfg, kc, want); err != nil {
		return err
	}
	if *commit == "" {
		d, err := sandbox.ReadDelivery(ctx, kc, dyn)
		if err != nil {
			return err
		}
		d.Write(os.Stdout)
		return nil
	}
	fctx, fcancel := context.WithTimeout(context.Background(), *fluxTimeout)
	defer fcancel()
	start := time.Now()
	fmt.Printf("Flux: reconciling %.12s (the checkout as published) ...\n", *commit)
	d, err := sandbox.WaitDelivered(fctx, kc, dyn, *commit, func(msg string) {
		fmt.Printf("  %5.1fs %s\n", time.Since(start).Seconds(), msg)
	})
	d.Write(os.Stdout)
	if err != nil {
		if errors.Is(err, sandbox.ErrDeliveryFailed) {
			return fmt.Errorf("%v\n(fix the manifests, then `go tool task up` publishes and reconciles again)", err)
		}
		return err
	}
	fmt.Printf("Flux: %.12s delivered in %s\n", *commit, time.Since(start).Round(100*time.Millisecond))
	if *appURL == "" {
		return nil
	}
	var body []byte
	for {
		if body, err = sandbox.GetApp(fctx, *appURL); err == nil {
			break
		}
		select {
		case <-fctx.Done():
			return fmt.Errorf("the app does not answer at %s: %v", *appURL, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("app: %s answers (%d bytes) %s after the reconcile request\n", *appURL, len(body), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", ".cache/sandbox/kubeconfig", "admin kubeconfig of the sandbox cluster")
	_ = fs.Parse(args)
	cfg, kc, dyn, err := clients(*kubeconfig)
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
