package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/sre-platform/platform/test/testenv"
)

// TestKind is the kind suite: environments/local applied with Terratest on
// this machine's Docker engine (a uniquely named kind cluster, the ingress on
// free loopback ports), an idempotent re-apply, then the full-cluster checks
// (nodes Ready with roles, FluxInstance Ready, the develop apps available,
// the backend's /api/info through the ingress, the backend's Prometheus target
// up), and a destroy after which kind knows no cluster of that name.
//
// Gated: kind needs a Docker engine that allows privileged containers, which
// cannot be probed without pulling an image, so the suite runs only when
// PLATFORM_KIND=1 says so (`go tool task test:kind` sets it) and `docker
// info` answers.
func TestKind(t *testing.T) {
	kindGate(t)
	requireTime(t, 50*time.Minute)

	name := uniqueName("e2e")
	ports := freePorts(t, 2)
	httpPort, httpsPort := ports[0], ports[1]
	vars := map[string]any{
		"cluster_name":       name,
		"workers":            1, // the nodes checked below: <name>-control-plane, <name>-worker
		"ingress_http_port":  httpPort,
		"ingress_https_port": httpsPort,
	}
	gitVars(vars)
	opts := rootOptions(t, "local", vars, nil)
	opts.VarFiles = []string{filepath.Join(opts.TerraformDir, "local.tfvars")}
	opts.SetVarsAfterVarFiles = true
	t.Logf("kind cluster %s, ingress on 127.0.0.1:%d (http) and :%d (https)", name, httpPort, httpsPort)

	// Destroy always: on the normal path (to check what it leaves), when a
	// check fails (defer) and when the test panics (Cleanup).
	var once sync.Once
	destroy := func() {
		once.Do(func() {
			start := time.Now()
			if _, err := terraform.DestroyContextE(t, context.Background(), opts); err != nil {
				t.Errorf("terraform destroy: %v", err)
			} else {
				t.Logf("destroy: %s", time.Since(start).Round(time.Second))
			}
			kindSweep(t, name)
		})
	}
	t.Cleanup(destroy)
	defer destroy()

	start := time.Now()
	terraform.InitAndApplyAndIdempotentContext(t, t.Context(), opts)
	t.Logf("apply + idempotent plan: %s", time.Since(start).Round(time.Second))

	if ep := terraform.OutputContext(t, t.Context(), opts, "endpoint"); !strings.HasPrefix(ep, "https://127.0.0.1:") {
		t.Errorf("endpoint output %q, want https://127.0.0.1:<port>", ep)
	}
	if u := terraform.OutputContext(t, t.Context(), opts, "ingress_http_url"); u != fmt.Sprintf("http://127.0.0.1:%d", httpPort) {
		t.Errorf("ingress_http_url output %q, want http://127.0.0.1:%d", u, httpPort)
	}
	if p := terraform.OutputContext(t, t.Context(), opts, "flux_cluster_path"); p != "flux/clusters/local" {
		t.Errorf("flux_cluster_path output %q, want flux/clusters/local", p)
	}

	env := map[string]string{"platform.sre/environment": "local"}
	checkFullCluster(t, fullCluster{
		flux:       "local",
		kubeconfig: sensitiveOutput(t, opts, "kubeconfig"),
		nodes: map[string]nodeWant{
			name + "-control-plane": {controlPlane: true, labels: merge(env, map[string]string{"ingress-ready": "true"})},
			name + "-worker":        {labels: env},
		},
		ingressBase: func(_ context.Context, _ kubernetes.Interface, scheme string) (string, error) {
			if scheme == "https" {
				return fmt.Sprintf("https://127.0.0.1:%d", httpsPort), nil
			}
			return fmt.Sprintf("http://127.0.0.1:%d", httpPort), nil
		},
		ingressHint: func(ctx context.Context, kc kubernetes.Interface) string {
			return kindIngressHint(ctx, kc, httpPort, httpsPort)
		},
	})

	destroy()
}

// kindGate skips unless PLATFORM_KIND=1 and `docker info` answers, naming
// whichever is missing.
func kindGate(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Getenv("PLATFORM_KIND") != "1" {
		missing = append(missing, "PLATFORM_KIND is not 1 (set it where privileged containers run; go tool task test:kind does)")
	}
	if err := dockerInfo(); err != nil {
		missing = append(missing, "`docker info` fails: "+err.Error())
	}
	testenv.Gate(t, len(missing) == 0, "kind",
		"kind needs a Docker engine that allows privileged containers: "+strings.Join(missing, "; "))
}

// dockerInfo asks the Docker engine for its version, returning the CLI's
// last line of complaint when it does not answer.
func dockerInfo() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("no docker CLI on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if msg := strings.TrimSpace(lines[len(lines)-1]); msg != "" {
		return errors.New(msg)
	}
	if err == nil {
		err = errors.New("no server version")
	}
	return err
}

// kindSweep checks that kind knows no cluster of this name any more; one
// that survived the destroy is deleted and fails the test.
func kindSweep(t *testing.T, name string) {
	t.Helper()
	p := cluster.NewProvider()
	names, err := p.List()
	if err != nil {
		t.Errorf("listing kind clusters after destroy: %v", err)
		return
	}
	if !slices.Contains(names, name) {
		t.Logf("kind: no cluster %s left", name)
		return
	}
	t.Errorf("kind cluster %s still exists after destroy: deleting it", name)
	if err := p.Delete(name, filepath.Join(t.TempDir(), "kubeconfig")); err != nil {
		t.Errorf("deleting kind cluster %s: %v (delete it by hand: kind delete cluster --name %s)", name, err, name)
	}
}

// kindIngressHint explains an ingress failure on kind: the host ports reach
// the control-plane node's container ports node_http_port/node_https_port
// (modules/kind-cluster), which must be where Traefik listens on the node.
func kindIngressHint(ctx context.Context, kc kubernetes.Interface, httpPort, httpsPort int) string {
	facts, err := loadGitOpsFacts(testenv.RepoRoot(), "local")
	if err != nil {
		return ""
	}
	svc, err := traefikService(ctx, kc, facts)
	if err != nil {
		return fmt.Sprintf("Traefik Service %s/%s: %v", facts.TraefikNamespace, facts.TraefikService, err)
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s %d (nodePort %d)", p.Name, p.Port, p.NodePort))
	}
	return fmt.Sprintf("127.0.0.1:%d and :%d reach the control-plane node's container ports node_http_port/node_https_port "+
		"(modules/kind-cluster; 80/443 unless environments/local sets them); Traefik's Service %s/%s is %s with ports %s: "+
		"the ingress answers only when those node ports are where Traefik listens on the node (fixed NodePorts, or host ports)",
		httpPort, httpsPort, svc.Namespace, svc.Name, svc.Spec.Type, strings.Join(ports, ", "))
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for len(ports) < n {
		if p := testenv.FreePort(t); !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
