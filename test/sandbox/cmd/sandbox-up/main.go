// Command sandbox-up finishes `go tool task up` (hack/sandbox.sh) once
// environments/sandbox is applied: through the kubeconfig Terraform rendered
// it waits until the named nodes are Ready, then prints the nodes and the
// FluxInstance, so no kubectl is needed.
//
//	sandbox-up --kubeconfig .cache/sandbox/kubeconfig --nodes sandbox-cp-1,sandbox-workers-1
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var fluxInstances = schema.GroupVersionResource{Group: "fluxcd.controlplane.io", Version: "v1", Resource: "fluxinstances"}

func main() {
	kubeconfig := flag.String("kubeconfig", ".cache/sandbox/kubeconfig", "admin kubeconfig of the sandbox cluster")
	nodes := flag.String("nodes", "", "comma-separated node names that must be Ready (terraform output node_names)")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long to wait for the nodes")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("sandbox-up: ")
	var want []string
	for _, n := range strings.Split(*nodes, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want = append(want, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *kubeconfig, want); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, kubeconfig string, want []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.Timeout = 10 * time.Second
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	var nodes *corev1.NodeList
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
	if err := w.Flush(); err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	fi, err := dyn.Resource(fluxInstances).Namespace("flux-system").Get(ctx, "flux", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		fmt.Println("FluxInstance flux-system/flux: not found")
		return nil
	case err != nil:
		fmt.Printf("FluxInstance flux-system/flux: %v\n", err)
		return nil
	}
	fmt.Println(describeFluxInstance(fi))
	return nil
}

func describeFluxInstance(fi *unstructured.Unstructured) string {
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedString(fi.Object, path...)
		return s
	}
	ready := "not reported yet (the Flux Operator has not reconciled it: with API-only nodes no pod runs; with real nodes the operator pod must be running first)"
	conds, _, _ := unstructured.NestedSlice(fi.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			ready = fmt.Sprintf("%v (%v)", m["status"], m["reason"])
		}
	}
	return fmt.Sprintf("FluxInstance flux-system/flux: Flux %s, sync %s %s %s path %s; Ready: %s",
		str("spec", "distribution", "version"), str("spec", "sync", "kind"), str("spec", "sync", "url"),
		str("spec", "sync", "ref"), str("spec", "sync", "path"), ready)
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
