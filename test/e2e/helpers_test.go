// Package e2e holds the Terratest suites: each applies one environment root
// from environments/ with the real terraform CLI, checks the cluster it
// builds through its kubeconfig output, and destroys it.
//
//   - sandbox (TestSandbox): environments/sandbox against the Hetzner
//     emulator + k3s boot simulation started for the test; part of
//     `go tool task test`.
//   - kind (TestKind, `go tool task test:kind`): environments/local on kind.
//   - hcloud (TestHcloud, `go tool task test:hcloud`): environments/develop
//     on real Hetzner Cloud.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sre-platform/platform/test/testenv"
)

// rootOptions are Terratest options for one environment root, run in place
// (modules are referenced relatively) with its .terraform data and its state
// under the test's temp dir, through the project's Terraform CLI config
// (provider mirror + in-repo provider). Secrets go in env (TF_VAR_…), never
// on the command line Terratest logs.
func rootOptions(t testing.TB, env string, vars map[string]any, secrets map[string]string) *terraform.Options {
	t.Helper()
	bin, _ := testenv.RequireTerraform(t)
	work := t.TempDir()
	envVars := map[string]string{
		"TF_CLI_CONFIG_FILE": testenv.TerraformCLIConfig(),
		"TF_DATA_DIR":        filepath.Join(work, ".terraform"),
		"TF_IN_AUTOMATION":   "1",
		"CHECKPOINT_DISABLE": "1",
	}
	for k, v := range secrets {
		envVars["TF_VAR_"+k] = v
	}
	return &terraform.Options{
		TerraformBinary: bin,
		TerraformDir:    filepath.Join(testenv.RepoRoot(), "environments", env),
		Vars:            vars,
		EnvVars:         envVars,
		BackendConfig:   map[string]any{"path": filepath.Join(work, "terraform.tfstate")},
		Reconfigure:     true,
		NoColor:         true,
	}
}

// sensitiveOutput reads an output without logging its value.
func sensitiveOutput(t testing.TB, o *terraform.Options, name string) string {
	t.Helper()
	quiet := *o
	quiet.Logger = logger.Discard
	v, err := terraform.OutputContextE(t, t.Context(), &quiet, name)
	if err != nil || v == "" {
		t.Fatalf("output %s: empty or unreadable (%v)", name, err)
	}
	return v
}

// clients builds typed and dynamic clients from a kubeconfig.
func clients(t testing.TB, kubeconfig string) (kubernetes.Interface, dynamic.Interface, *rest.Config) {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		t.Fatalf("the kubeconfig output does not parse: %v", err)
	}
	cfg.Timeout = 15 * time.Second
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kc, dc, cfg
}

// eventually retries f until it succeeds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyNodes checks that exactly the named nodes exist and are Ready, and
// returns them by name.
func readyNodes(ctx context.Context, kc kubernetes.Interface, want []string) (map[string]corev1.Node, error) {
	l, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	got := map[string]corev1.Node{}
	var names []string
	for _, n := range l.Items {
		got[n.Name] = n
		names = append(names, n.Name)
	}
	slices.Sort(names)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(names, w) {
		return nil, fmt.Errorf("nodes %v, want %v", names, w)
	}
	for _, n := range l.Items {
		if !isReady(&n) {
			return nil, fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	return got, nil
}

var fluxInstanceGVR = schema.GroupVersionResource{Group: "fluxcd.controlplane.io", Version: "v1", Resource: "fluxinstances"}

// fluxInstance reads flux-system/flux.
func fluxInstance(ctx context.Context, dc dynamic.Interface) (*unstructured.Unstructured, error) {
	return dc.Resource(fluxInstanceGVR).Namespace("flux-system").Get(ctx, "flux", metav1.GetOptions{})
}

// fluxReady is nil once the FluxInstance reports Ready=True.
func fluxReady(ctx context.Context, dc dynamic.Interface) error {
	fi, err := fluxInstance(ctx, dc)
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(fi.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			if m["status"] == "True" {
				return nil
			}
			return fmt.Errorf("FluxInstance Ready=%v: %v", m["status"], m["message"])
		}
	}
	return fmt.Errorf("FluxInstance has no Ready condition yet")
}

// uniqueName is a DNS-label cluster name no other run uses at the same time.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%x", prefix, time.Now().UnixNano()&0xffffff)
}

// gate skips a suite unless its switch is on, naming how to turn it on.
func gate(t testing.TB, envVar, how string) {
	t.Helper()
	if os.Getenv(envVar) != "1" {
		t.Skipf("SKIP: %s", how)
	}
}

// checkCloudSecret: the Secret kube-system/hcloud that the module creates
// (modules/hcloud-k3s-cluster cloud_secret) is what the cloud-controller-manager
// and the CSI driver act with. It must hold this run's token and this
// cluster's network ID, or they would route, attach load balancers and create
// volumes somewhere else — which would only show up much later as a timeout.
func checkCloudSecret(t *testing.T, ctx context.Context, kc kubernetes.Interface, token, networkID string) {
	t.Helper()
	sec, err := kc.CoreV1().Secrets("kube-system").Get(ctx, "hcloud", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Secret kube-system/hcloud (created by the apply: modules/hcloud-k3s-cluster cloud_secret): %v", err)
	}
	if got := string(sec.Data["network"]); got != networkID {
		t.Fatalf("Secret kube-system/hcloud names network %q, this cluster's network ID is %s (output network_id)", got, networkID)
	}
	if string(sec.Data["token"]) != token {
		t.Fatal("Secret kube-system/hcloud holds another Hetzner token than the one the root was applied with")
	}
	if m := sec.Labels["app.kubernetes.io/managed-by"]; m != "terraform-provider-platform" {
		t.Errorf("Secret kube-system/hcloud label app.kubernetes.io/managed-by = %q, want terraform-provider-platform", m)
	}
}
