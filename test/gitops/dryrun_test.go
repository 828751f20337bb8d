package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sre-platform/platform/test/sandbox"
	"github.com/sre-platform/platform/test/testenv"
)

// fixture is shared by the tests of this package: one render of the tree,
// one control plane with the CRDs installed.
type fixture struct {
	dir     string
	cp      *sandbox.ControlPlane
	cluster *Cluster
	envs    []*Env
	crds    []Doc
	log     []string // setup figures, logged by the first test
	logged  bool
	err     error
}

var (
	fxOnce sync.Once
	fx     *fixture
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		if fx.cp != nil {
			fx.cp.Stop()
		}
		_ = os.RemoveAll(fx.dir)
	}
	os.Exit(code)
}

// setup gates the tests (they start kube-apiserver and etcd) and returns the
// shared fixture.
func setup(t *testing.T) *fixture {
	t.Helper()
	if os.Getenv("PLATFORM_GITOPS_DRYRUN") != "1" {
		t.Skip("SKIP: starts kube-apiserver and etcd processes; runs with PLATFORM_GITOPS_DRYRUN=1 (test/plan/gitops.yaml, after go tool task kube:build)")
	}
	bins, err := sandbox.FindKubeBinaries("")
	testenv.Require(t, err == nil, "kube-apiserver and etcd (.cache/kube/"+sandbox.KubeVersion+")", "go tool task kube:build")
	fxOnce.Do(func() { fx = newFixture(bins) })
	if !fx.logged {
		fx.logged = true
		for _, l := range fx.log {
			t.Log(l)
		}
	}
	if fx.err != nil {
		t.Fatal(fx.err)
	}
	return fx
}

func newFixture(bins string) *fixture {
	f := &fixture{}
	logf := func(format string, a ...any) { f.log = append(f.log, fmt.Sprintf(format, a...)) }
	f.dir, f.err = os.MkdirTemp("", "gitops-dryrun-")
	if f.err != nil {
		return f
	}
	// Render with the validator, the way `go tool task validate` runs it
	// (same -extra folders), so the dry-run sees exactly what it checked.
	began := time.Now()
	render := filepath.Join(f.dir, "render")
	cmd := exec.Command("go", "tool", "task", "validate", "--", "-render", render)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1 && fileExists(filepath.Join(render, "crds.yaml")):
		// Findings of the offline checks fail their own tier-0 step; the dry-run still runs.
		logf("offline validator reported problems (its own step fails on them):\n%s", out)
	default:
		f.err = fmt.Errorf("go tool task validate -- -render: %v\n%s", err, out)
		return f
	}
	logf("rendered in %s: %s", time.Since(began).Round(10*time.Millisecond), lastLine(string(out), "rendered "))
	files, _ := filepath.Glob(filepath.Join(render, "clusters", "*.yaml"))
	extras, _ := filepath.Glob(filepath.Join(render, "extra", "*.yaml"))
	sort.Strings(files)
	sort.Strings(extras)
	for _, p := range append(files, extras...) {
		env, err := ReadEnvFile(p)
		if err != nil {
			f.err = fmt.Errorf("%s: %w", p, err)
			return f
		}
		f.envs = append(f.envs, env)
	}
	if len(files) == 0 {
		f.err = fmt.Errorf("the validator rendered no cluster under %s", render)
		return f
	}
	crds, err := ReadEnvFile(filepath.Join(render, "crds.yaml"))
	if err != nil {
		f.err = err
		return f
	}
	f.crds = crds.Docs

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began = time.Now()
	f.cp, f.err = sandbox.StartLoopbackControlPlane(ctx, filepath.Join(f.dir, "cp"), sandbox.ControlPlaneOptions{BinDir: bins})
	if f.err != nil {
		return f
	}
	logf("kube-apiserver %s ready on %s in %s", sandbox.KubeVersion, f.cp.URL(), time.Since(began).Round(10*time.Millisecond))
	cfg, err := f.cp.AdminConfig()
	if err == nil {
		cfg.QPS = -1 // no client-side throttling: one client, a loopback server
		f.cluster, err = NewCluster(cfg)
	}
	if err != nil {
		f.err = err
		return f
	}
	began = time.Now()
	if f.err = f.cluster.InstallCRDs(ctx, f.crds); f.err != nil {
		return f
	}
	var names []string
	for _, d := range f.crds {
		names = append(names, d.Obj.GetName())
	}
	logf("installed %d CRDs, all Established, in %s: %s", len(f.crds), time.Since(began).Round(10*time.Millisecond), strings.Join(names, ", "))
	return f
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func lastLine(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestServerSideDryRun: every object of every environment is accepted by
// kube-apiserver in a server-side apply with dryRun=All.
func TestServerSideDryRun(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()

	plan := PlanNamespaces(f.envs)
	if err := f.cluster.CreateNamespaces(ctx, plan.All); err != nil {
		t.Fatal(err)
	}
	t.Logf("namespaces created first (bare; the tree's Namespace objects are dry-run over them): %s", strings.Join(plan.All, ", "))
	missing := map[string][]Failure{}
	for _, m := range plan.Missing {
		missing[m.Env] = append(missing[m.Env], m)
	}

	var summary []string
	total := 0
	for _, env := range f.envs {
		t.Run(strings.ReplaceAll(env.Name, "/", "_"), func(t *testing.T) {
			if p := plan.Provided[env.Name]; len(p) > 0 {
				t.Logf("namespaces not declared in %s, provided outside the tree: %s", env.Name, strings.Join(p, "; "))
			}
			for _, m := range missing[env.Name] {
				t.Error(m)
			}
			r := f.cluster.DryRun(ctx, env)
			for _, n := range r.Notes {
				t.Logf("changed before sending: %s", n)
			}
			for _, fl := range r.Failures {
				t.Error(fl)
			}
			t.Logf("%s: %d/%d objects accepted (server-side apply, dryRun=All, fieldValidation=Strict) in %s",
				env.Name, r.Accepted, r.Objects, r.Took.Round(time.Millisecond))
			if r.Objects == 0 {
				t.Errorf("%s rendered no objects", env.Name)
			}
			summary = append(summary, fmt.Sprintf("%s %d", env.Name, r.Objects))
			total += r.Objects
		})
	}
	t.Logf("dry-run: %d objects (%s), excluded: none, in %s", total, strings.Join(summary, ", "), time.Since(began).Round(time.Millisecond))
}

// negative holds objects each rejected for one reason, next to two that are
// fine. The expected message is what kube-apiserver says.
const negative = `# environment: negative
---
# source: negative/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: dryrun-negative
---
# source: negative/ok.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
  namespace: dryrun-negative
data:
  k: v
---
# source: negative/cel.yaml
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: cel-violation
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  interval: 10m
  policy:
    semver:
      range: ">=1.0.0"
---
# source: negative/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: bad-port
  namespace: dryrun-negative
spec:
  selector:
    app: x
  ports:
    - name: http
      port: 70000
---
# source: negative/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: unknown-field
  namespace: dryrun-negative
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/app:1.0.0
          livenessProbe:
            httpGet: {paht: /healthz, port: 8080}
---
# source: negative/nowhere.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: in-missing-namespace
  namespace: not-created
---
# source: negative/widget.yaml
apiVersion: example.com/v1
kind: Widget
metadata:
  name: no-crd
`

// TestDryRunReportsRejections proves the check can fail: objects that the
// CRD schema, a CEL rule or built-in validation rejects are reported with
// environment, kind, namespace/name, source file and the API server's message.
func TestDryRunReportsRejections(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := ParseEnv([]byte(negative))
	if err != nil {
		t.Fatal(err)
	}
	// A real rendered object with a field its CRD does not declare.
	var ks *Doc
	for _, d := range f.envs[0].Docs {
		if d.Obj.GetKind() == "Kustomization" && strings.HasPrefix(d.Obj.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") {
			ks = &Doc{Source: d.Source, Obj: d.Obj.DeepCopy()}
			break
		}
	}
	if ks == nil {
		t.Fatalf("environment %s renders no Flux Kustomization", f.envs[0].Name)
	}
	ks.Obj.Object["spec"].(map[string]any)["pathh"] = "./typo"
	env.Docs = append(env.Docs, *ks)
	// A rendered k3s upgrade Plan with a field the tree's own Plan CRD
	// (installed from crds.yaml) does not declare.
	var upgrade *Doc
	for _, e := range f.envs {
		for _, d := range e.Docs {
			if upgrade == nil && d.Obj.GetKind() == "Plan" && d.Obj.GetAPIVersion() == "upgrade.cattle.io/v1" {
				upgrade = &Doc{Source: d.Source, Obj: d.Obj.DeepCopy()}
			}
		}
	}
	if upgrade == nil {
		t.Fatal("no environment renders a k3s upgrade Plan")
	}
	upgrade.Obj.SetNamespace("dryrun-negative")
	upgrade.Obj.Object["spec"].(map[string]any)["cordonn"] = true
	env.Docs = append(env.Docs, *upgrade)

	plan := PlanNamespaces([]*Env{env})
	if len(plan.Missing) != 1 || !strings.Contains(plan.Missing[0].String(), `ConfigMap not-created/in-missing-namespace (negative/nowhere.yaml): namespace "not-created" is neither declared`) {
		t.Errorf("namespace plan: want exactly the ConfigMap in not-created reported, got %v", plan.Missing)
	}
	if err := f.cluster.CreateNamespaces(ctx, []string{"flux-system", "dryrun-negative"}); err != nil {
		t.Fatal(err)
	}
	r := f.cluster.DryRun(ctx, env)
	want := map[string]string{
		"negative: ImagePolicy flux-system/cel-violation (negative/cel.yaml): ":                                       "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
		"negative: Service dryrun-negative/bad-port (negative/service.yaml): ":                                        "spec.ports[0].port: Invalid value: 70000",
		"negative: Deployment dryrun-negative/unknown-field (negative/deployment.yaml): ":                             `.spec.template.spec.containers[name="app"].livenessProbe.httpGet.paht: field not declared in schema`,
		"negative: ConfigMap not-created/in-missing-namespace (negative/nowhere.yaml): ":                              `NotFound: namespaces "not-created" not found`,
		"negative: Widget no-crd (negative/widget.yaml): ":                                                            "no API serves example.com/v1, Kind=Widget",
		fmt.Sprintf("negative: Kustomization %s/%s (%s): ", ks.Obj.GetNamespace(), ks.Obj.GetName(), ks.Source):       ".spec.pathh: field not declared in schema",
		fmt.Sprintf("negative: Plan %s/%s (%s): ", upgrade.Obj.GetNamespace(), upgrade.Obj.GetName(), upgrade.Source): ".spec.cordonn: field not declared in schema",
	}
	got := map[string]string{}
	for _, fl := range r.Failures {
		t.Logf("reported: %s", fl)
		s := fl.String()
		matched := false
		for prefix, msg := range want {
			if strings.HasPrefix(s, prefix) && strings.Contains(s, msg) {
				got[prefix] = s
				matched = true
			}
		}
		if !matched {
			t.Errorf("unexpected failure: %s", s)
		}
	}
	for prefix, msg := range want {
		if got[prefix] == "" {
			t.Errorf("missing failure: %s…%s", prefix, msg)
		}
	}
	if r.Accepted != 2 || r.Objects != len(env.Docs) {
		t.Errorf("accepted %d of %d objects, want 2 (the Namespace and the ConfigMap) of %d", r.Accepted, r.Objects, len(env.Docs))
	}
	// dryRun=All persists nothing.
	cm := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	if _, err := f.cluster.Dyn.Resource(cm).Namespace("dryrun-negative").Get(ctx, "fine", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap dryrun-negative/fine after the dry-run: want NotFound, got %v", err)
	}
}
