package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	http_helper "github.com/gruntwork-io/terratest/modules/http-helper"
	"github.com/gruntwork-io/terratest/modules/retry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/sre-platform/platform/test/testenv"
)

// The "full cluster" checks shared by the kind and Hetzner suites: clusters
// that run real pods, so beyond the API objects the sandbox suite can see,
// they prove that Flux delivered the GitOps tree end to end — the apps run,
// the ingress routes to them from outside, and Prometheus scrapes them.

// nodeWant is what one node must look like.
type nodeWant struct {
	controlPlane bool              // carries the node-role.kubernetes.io/control-plane label (any value)
	labels       map[string]string // labels with these exact values
}

// fullCluster is a cluster under test and what the suite knows about it.
type fullCluster struct {
	// flux is the cluster entry under flux/clusters/ that the FluxInstance
	// syncs (local, develop); the expectations about apps, ingress and
	// monitoring are read from the GitOps tree starting there.
	flux       string
	kubeconfig string
	nodes      map[string]nodeWant
	// ingressBase resolves where the ingress controller answers from this
	// machine for the scheme the apps' Ingress uses ("https://127.0.0.1:8443",
	// "https://<load balancer IP>").
	ingressBase func(ctx context.Context, kc kubernetes.Interface, scheme string) (string, error)
	// ingressHint explains an ingress failure (optional).
	ingressHint func(ctx context.Context, kc kubernetes.Interface) string
	// appsSkip, when not empty, is why the checks that need the apps (apps,
	// ingress, prometheus) cannot run on this cluster; they SKIP with it.
	appsSkip string
}

// Timeouts of the full-cluster checks. Flux's own stages allow up to
// 10 + 20 + 10 + 5 minutes (infra-controllers, observability, infra-configs,
// apps); the first sync on a fresh cluster also pulls every image.
const (
	nodesTimeout      = 5 * time.Minute
	fluxTimeout       = 10 * time.Minute
	appsTimeout       = 35 * time.Minute
	ingressTimeout    = 10 * time.Minute
	prometheusTimeout = 5 * time.Minute
)

// checkFullCluster runs the shared checks in order, each as a subtest. A
// failed check stops the later ones (they depend on it); the caller's
// deferred destroy still runs.
func checkFullCluster(t *testing.T, c fullCluster) {
	t.Helper()
	facts, err := loadGitOpsFacts(testenv.RepoRoot(), c.flux)
	if err != nil {
		t.Fatalf("reading the expectations from the GitOps tree: %v", err)
	}
	t.Logf("expectations from flux/clusters/%s: %s", c.flux, facts)
	kc, dc, _ := clients(t, c.kubeconfig)
	ctx := context.Background()

	steps := []struct {
		name     string
		needApps bool
		run      func(t *testing.T)
	}{
		{"nodes", false, func(t *testing.T) { checkNodes(t, ctx, kc, c.nodes) }},
		{"flux", false, func(t *testing.T) { checkFlux(t, ctx, dc, c.flux) }},
		{"apps", true, func(t *testing.T) { checkApps(t, ctx, kc, dc, facts) }},
		{"ingress", true, func(t *testing.T) { checkIngress(t, ctx, kc, c, facts) }},
		{"prometheus", true, func(t *testing.T) { checkPrometheus(t, ctx, kc, facts) }},
	}
	failed := ""
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			switch {
			case failed != "":
				t.Skipf("SKIP: not run: the %s check failed", failed)
			case s.needApps && c.appsSkip != "":
				t.Skipf("SKIP: %s", c.appsSkip)
			}
			start := time.Now()
			s.run(t)
			t.Logf("%s: ok in %s", s.name, time.Since(start).Round(time.Second))
		})
		if !ok && failed == "" {
			failed = s.name
		}
	}
}

// waitFor polls f every `every` until it succeeds or timeout passes, logging
// each attempt (Terratest retry), and returns the last error on timeout.
func waitFor(t *testing.T, ctx context.Context, what string, timeout, every time.Duration, f func() (string, error)) (string, error) {
	t.Helper()
	var last error
	out, err := retry.DoWithRetryContextE(t, ctx, what, int(timeout/every), every, func() (string, error) {
		out, err := f()
		last = err
		return out, err
	})
	if err != nil {
		return out, fmt.Errorf("%s: not within %s: %w", what, timeout, errors.Join(last, err))
	}
	return out, nil
}

// checkNodes: exactly the expected nodes, all Ready, with their roles and
// labels.
func checkNodes(t *testing.T, ctx context.Context, kc kubernetes.Interface, want map[string]nodeWant) {
	var names []string
	for n := range want {
		names = append(names, n)
	}
	var got map[string]corev1.Node
	if _, err := waitFor(t, ctx, fmt.Sprintf("nodes %v Ready", names), nodesTimeout, 10*time.Second, func() (string, error) {
		var err error
		got, err = readyNodes(ctx, kc, names)
		return "", err
	}); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		labels := got[name].Labels
		_, cp := labels["node-role.kubernetes.io/control-plane"]
		if cp != w.controlPlane {
			t.Errorf("node %s: control-plane role %v, want %v (labels %v)", name, cp, w.controlPlane, labels)
		}
		for k, v := range w.labels {
			if labels[k] != v {
				t.Errorf("node %s: label %s=%q, want %q", name, k, labels[k], v)
			}
		}
	}
}

// checkFlux: the FluxInstance is Ready and syncs this cluster's entry point.
func checkFlux(t *testing.T, ctx context.Context, dc dynamic.Interface, cluster string) {
	if _, err := waitFor(t, ctx, "FluxInstance flux-system/flux Ready", fluxTimeout, 10*time.Second, func() (string, error) {
		return "", fluxReady(ctx, dc)
	}); err != nil {
		t.Fatal(err)
	}
	fi, err := fluxInstance(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedString(fi.Object, "spec", "sync", "path"); p != "flux/clusters/"+cluster {
		t.Errorf("FluxInstance spec.sync.path %q, want flux/clusters/%s", p, cluster)
	}
}

// checkApps: every app Deployment of the environment exists and has all its
// replicas available at its current generation.
func checkApps(t *testing.T, ctx context.Context, kc kubernetes.Interface, dc dynamic.Interface, f gitopsFacts) {
	for _, app := range f.Apps {
		what := fmt.Sprintf("Deployment %s/%s available", f.Namespace, app.Deployment)
		if _, err := waitFor(t, ctx, what, appsTimeout, 20*time.Second, func() (string, error) {
			d, err := kc.AppsV1().Deployments(f.Namespace).Get(ctx, app.Deployment, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			s := d.Status
			if s.ObservedGeneration < d.Generation || want < 1 || s.AvailableReplicas != want || s.UpdatedReplicas != want {
				return "", fmt.Errorf("replicas %d, updated %d, available %d (generation %d observed %d)",
					want, s.UpdatedReplicas, s.AvailableReplicas, d.Generation, s.ObservedGeneration)
			}
			return "", nil
		}); err != nil {
			t.Fatalf("%v\n%s", err, diagnose(ctx, kc, dc, f.Namespace))
		}
	}
}

// checkIngress: the backend answers /api/info ready from outside the cluster
// through the ingress controller and the frontend's public listener (which
// proxies /api/ only), addressed with the Ingress host of the environment's
// overlay.
func checkIngress(t *testing.T, ctx context.Context, kc kubernetes.Interface, c fullCluster, f gitopsFacts) {
	var base string
	if _, err := waitFor(t, ctx, "ingress address", ingressTimeout, 10*time.Second, func() (string, error) {
		var err error
		base, err = c.ingressBase(ctx, kc, f.IngressScheme)
		return base, err
	}); err != nil {
		t.Fatal(err)
	}
	// No certificate can be trusted here: local has no cert-manager and on
	// Hetzner the host's DNS does not point at this cluster, so Traefik
	// serves its default certificate. The check proves routing, not TLS.
	tlsCfg := &tls.Config{ServerName: f.IngressHost, InsecureSkipVerify: true} //nolint:gosec // see above
	url := base + "/api/info"
	body, err := http_helper.HTTPDoWithRetryContextE(t, ctx, "GET", url, nil,
		map[string]string{"Host": f.IngressHost}, 200, int(ingressTimeout/(10*time.Second)), 10*time.Second, tlsCfg)
	if err != nil {
		hint := ""
		if c.ingressHint != nil {
			hint = "\n" + c.ingressHint(ctx, kc)
		}
		t.Fatalf("GET %s (Host: %s): %v%s", url, f.IngressHost, err, hint)
	}
	if !strings.Contains(body, `"ready":true`) {
		t.Errorf("GET %s (Host: %s): body %q, want the backend's info with \"ready\":true", url, f.IngressHost, body)
	}
}

// checkPrometheus: Prometheus has an active target for the backend's Service
// and every one of its series of `up` is 1. Prometheus is reached through the
// API server's service proxy: nothing exposes it outside the cluster.
func checkPrometheus(t *testing.T, ctx context.Context, kc kubernetes.Interface, f gitopsFacts) {
	backend := f.app("backend")
	if backend == nil || backend.Service == "" {
		t.Fatalf("no backend Service among the environment's apps %v", f.Apps)
	}
	query := fmt.Sprintf(`up{namespace=%q,service=%q}`, f.Namespace, backend.Service)
	what := fmt.Sprintf("Prometheus %s/%s: %s == 1", f.PrometheusNamespace, f.PrometheusService, query)
	if _, err := waitFor(t, ctx, what, prometheusTimeout, 15*time.Second, func() (string, error) {
		svc, err := kc.CoreV1().Services(f.PrometheusNamespace).Get(ctx, f.PrometheusService, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if len(svc.Spec.Ports) == 0 {
			return "", fmt.Errorf("Service %s/%s has no ports", svc.Namespace, svc.Name)
		}
		port := svc.Spec.Ports[0].Port
		for _, p := range svc.Spec.Ports {
			if p.Name == "http-web" {
				port = p.Port
			}
		}
		raw, err := kc.CoreV1().Services(f.PrometheusNamespace).
			ProxyGet("http", f.PrometheusService, fmt.Sprint(port), "api/v1/query", map[string]string{"query": query}).
			DoRaw(ctx)
		if err != nil {
			return "", fmt.Errorf("service proxy: %w", err)
		}
		return "", upSeries(raw)
	}); err != nil {
		t.Fatal(err)
	}
}

// upSeries checks a Prometheus instant-query answer: at least one series,
// every value 1.
func upSeries(raw []byte) error {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("query answer %q: %w", raw, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("query failed: %s", r.Error)
	}
	if len(r.Data.Result) == 0 {
		return errors.New("no such target yet (is the ServiceMonitor selected?)")
	}
	for _, s := range r.Data.Result {
		if s.Value[1] != "1" {
			return fmt.Errorf("target %s/%s is down (up=%v)", s.Metric["namespace"], s.Metric["pod"], s.Value[1])
		}
	}
	return nil
}

var (
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	helmReleaseGVR   = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
)

// diagnose summarises why apps are not there: each Flux Kustomization and
// HelmRelease with its Ready condition, and the pods of the namespace that
// are not ready with their containers' waiting reasons.
func diagnose(ctx context.Context, kc kubernetes.Interface, dc dynamic.Interface, namespace string) string {
	var b strings.Builder
	for _, r := range []struct {
		kind string
		gvr  schema.GroupVersionResource
	}{{"Kustomization", kustomizationGVR}, {"HelmRelease", helmReleaseGVR}} {
		l, err := dc.Resource(r.gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Fprintf(&b, "  %ss: %v\n", r.kind, err)
			continue
		}
		for _, o := range l.Items {
			status, msg := "Unknown", "no Ready condition"
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			for _, c := range conds {
				if m, _ := c.(map[string]any); m["type"] == "Ready" {
					status, msg = fmt.Sprint(m["status"]), fmt.Sprint(m["message"])
				}
			}
			fmt.Fprintf(&b, "  %s %s/%s: Ready=%s: %s\n", r.kind, o.GetNamespace(), o.GetName(), status, msg)
		}
	}
	pods, err := kc.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "  pods in %s: %v\n", namespace, err)
	} else {
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Ready {
					continue
				}
				reason := "not ready"
				if w := cs.State.Waiting; w != nil {
					reason = w.Reason + ": " + w.Message
				} else if tm := cs.State.Terminated; tm != nil {
					reason = fmt.Sprintf("terminated %s (exit %d)", tm.Reason, tm.ExitCode)
				}
				fmt.Fprintf(&b, "  pod %s/%s container %s: %s (restarts %d)\n", namespace, p.Name, cs.Name, reason, cs.RestartCount)
			}
		}
	}
	if b.Len() == 0 {
		return "  (no Flux objects, no pods)"
	}
	return "state of the delivery:\n" + b.String()
}

// traefikService reads the ingress controller's Service.
func traefikService(ctx context.Context, kc kubernetes.Interface, f gitopsFacts) (*corev1.Service, error) {
	return kc.CoreV1().Services(f.TraefikNamespace).Get(ctx, f.TraefikService, metav1.GetOptions{})
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
// requireTime fails (before anything is created) when the test binary's
// -timeout would kill the run before it can destroy what it creates: a
// timeout panics the binary, and neither defers nor Cleanups run.
func requireTime(t *testing.T, need time.Duration) {
	t.Helper()
	if dl, ok := t.Deadline(); ok && time.Until(dl) < need {
		t.Fatalf("go test -timeout leaves %s, this suite needs at least %s to apply, check and always destroy: "+
			"run it with -timeout 90m (go tool task test:kind / test:hcloud do)", time.Until(dl).Round(time.Second), need)
	}
}

// envOr returns the environment variable or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// gitVars are the roots' git_url/git_ref, overridable so a suite can test a
// pushed branch: Flux syncs the GitOps tree from the remote repository, not
// from this checkout.
func gitVars(vars map[string]any) {
	if v := os.Getenv("PLATFORM_E2E_GIT_URL"); v != "" {
		vars["git_url"] = v
	}
	if v := os.Getenv("PLATFORM_E2E_GIT_REF"); v != "" {
		vars["git_ref"] = v
	}
}

// ---------------------------------------------------------------- GitOps facts

// gitopsFacts are the names the full-cluster checks look for, read from the
// GitOps tree so that a rename there cannot leave the suites checking
// something else.
type gitopsFacts struct {
	Namespace           string // the environment namespace the cluster's apps run in
	Apps                []appFacts
	IngressHost         string // host of the environment overlay's Ingress
	IngressScheme       string // https when the Ingress routes on Traefik's websecure entrypoint or has TLS
	PrometheusNamespace string
	PrometheusService   string
	TraefikNamespace    string
	TraefikService      string
	TraefikLBName       string // load-balancer.hetzner.cloud/name of the Traefik Service
}

type appFacts struct {
	Name       string // folder under flux/apps
	Deployment string
	Service    string
}

func (f gitopsFacts) app(name string) *appFacts {
	for i := range f.Apps {
		if f.Apps[i].Name == name {
			return &f.Apps[i]
		}
	}
	return nil
}

func (f gitopsFacts) String() string {
	var apps []string
	for _, a := range f.Apps {
		apps = append(apps, fmt.Sprintf("%s (Deployment %s, Service %s)", a.Name, a.Deployment, a.Service))
	}
	return fmt.Sprintf("namespace %s, apps %s, ingress %s://%s, Prometheus %s/%s, Traefik %s/%s",
		f.Namespace, strings.Join(apps, ", "), f.IngressScheme, f.IngressHost,
		f.PrometheusNamespace, f.PrometheusService, f.TraefikNamespace, f.TraefikService)
}

// loadGitOpsFacts follows flux/clusters/<cluster>/apps.yaml to the
// environment bundle it syncs (flux/apps/environments/<env>): its Namespace,
// each app overlay's base Deployment and Service, and the Ingress host after
// the overlay's patches; plus the monitoring stack's Prometheus Service
// (kube-prometheus-stack fullnameOverride) and the Traefik release. It also
// checks that the frontend proxies /api/ to the backend, which the ingress
// check relies on.
func loadGitOpsFacts(root, cluster string) (gitopsFacts, error) {
	var f gitopsFacts
	docs, err := readDocs(filepath.Join(root, "flux/clusters", cluster, "apps.yaml"))
	if err != nil {
		return f, err
	}
	var envDirs []string
	for _, d := range docs {
		if p := str(d, "spec", "path"); d["kind"] == "Kustomization" && strings.HasPrefix(p, "./flux/apps/environments/") {
			envDirs = append(envDirs, strings.TrimPrefix(p, "./"))
		}
	}
	if len(envDirs) != 1 {
		return f, fmt.Errorf("flux/clusters/%s/apps.yaml: want one Kustomization of flux/apps/environments/<env>, found %v", cluster, envDirs)
	}
	envDir := envDirs[0]
	kust, err := readDoc(filepath.Join(root, envDir, "kustomization.yaml"))
	if err != nil {
		return f, err
	}
	resources, _ := kust["resources"].([]any)
	for _, r := range resources {
		rel := fmt.Sprint(r)
		path := filepath.Join(root, envDir, rel)
		if strings.HasSuffix(rel, ".yaml") {
			d, err := readDoc(path)
			if err != nil {
				return f, err
			}
			if d["kind"] == "Namespace" {
				f.Namespace = str(d, "metadata", "name")
			}
			continue
		}
		app, err := loadApp(path)
		if err != nil {
			return f, err
		}
		if app.host != "" {
			if f.IngressHost != "" {
				return f, fmt.Errorf("%s: more than one app has an Ingress (%s, %s)", envDir, f.IngressHost, app.host)
			}
			f.IngressHost, f.IngressScheme = app.host, app.scheme
		}
		f.Apps = append(f.Apps, app.appFacts)
	}
	slices.SortFunc(f.Apps, func(a, b appFacts) int { return strings.Compare(a.Name, b.Name) })
	switch {
	case f.Namespace == "":
		return f, fmt.Errorf("%s: no Namespace among its resources", envDir)
	case f.IngressHost == "":
		return f, fmt.Errorf("%s: no app has an Ingress with a host", envDir)
	case f.app("backend") == nil || f.app("frontend") == nil:
		return f, fmt.Errorf("%s: want apps backend and frontend, found %v", envDir, f.Apps)
	}

	obs, err := readDoc(filepath.Join(root, "flux/infrastructure/observability/base/kustomization.yaml"))
	if err != nil {
		return f, err
	}
	kps, err := readDoc(filepath.Join(root, "flux/infrastructure/observability/base/kube-prometheus-stack.yaml"))
	if err != nil {
		return f, err
	}
	f.PrometheusNamespace = str(obs, "namespace")
	if full := str(kps, "spec", "values", "fullnameOverride"); full != "" {
		f.PrometheusService = full + "-prometheus"
	}
	traefik, err := readDoc(filepath.Join(root, "flux/infrastructure/controllers/traefik/release.yaml"))
	if err != nil {
		return f, err
	}
	f.TraefikNamespace = str(traefik, "metadata", "namespace")
	f.TraefikService = str(traefik, "spec", "releaseName")
	f.TraefikLBName = str(traefik, "spec", "values", "service", "annotations", "load-balancer.hetzner.cloud/name")
	if f.PrometheusNamespace == "" || f.PrometheusService == "" || f.TraefikNamespace == "" || f.TraefikService == "" {
		return f, fmt.Errorf("monitoring or ingress names not found: %s", f)
	}

	nginx, err := os.ReadFile(filepath.Join(root, "apps/frontend/nginx.conf.template"))
	if err != nil {
		return f, err
	}
	if !bytes.Contains(nginx, []byte("location ^~ /api/")) {
		return f, errors.New("apps/frontend/nginx.conf.template: the frontend no longer proxies /api/ to the backend (the ingress check relies on it)")
	}
	return f, nil
}

type appOverlay struct {
	appFacts
	host, scheme string
}

// loadApp reads one app overlay (flux/apps/<app>/<overlay>) and its base.
func loadApp(overlay string) (appOverlay, error) {
	a := appOverlay{appFacts: appFacts{Name: filepath.Base(filepath.Dir(overlay))}}
	base := filepath.Join(filepath.Dir(overlay), "base")
	d, err := readDoc(filepath.Join(base, "deployment.yaml"))
	if err != nil {
		return a, err
	}
	a.Deployment = str(d, "metadata", "name")
	if s, err := readDoc(filepath.Join(base, "service.yaml")); err == nil {
		a.Service = str(s, "metadata", "name")
	}
	ing, err := readDoc(filepath.Join(base, "ingress.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return a, nil
	} else if err != nil {
		return a, err
	}
	rules, _, _ := unstructured.NestedSlice(ing, "spec", "rules")
	if len(rules) > 0 {
		a.host, _, _ = unstructured.NestedString(rules[0].(map[string]any), "host")
	}
	a.scheme = "http"
	tlsList, _, _ := unstructured.NestedSlice(ing, "spec", "tls")
	if len(tlsList) > 0 || str(ing, "metadata", "annotations", "traefik.ingress.kubernetes.io/router.entrypoints") == "websecure" {
		a.scheme = "https"
	}
	// The overlay's JSON patches of the Ingress may replace the host.
	k, err := readDoc(filepath.Join(overlay, "kustomization.yaml"))
	if err != nil {
		return a, err
	}
	patches, _ := k["patches"].([]any)
	for _, p := range patches {
		pm, _ := p.(map[string]any)
		if str(pm, "target", "kind") != "Ingress" {
			continue
		}
		var ops []map[string]any
		if err := yaml.Unmarshal([]byte(str(pm, "patch")), &ops); err != nil {
			continue // a strategic-merge patch: no host replacement to follow
		}
		for _, op := range ops {
			if op["op"] == "replace" && op["path"] == "/spec/rules/0/host" {
				a.host = fmt.Sprint(op["value"])
			}
		}
	}
	return a, nil
}

func readDoc(path string) (map[string]any, error) {
	docs, err := readDocs(path)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: want one YAML document, found %d", path, len(docs))
	}
	return docs[0], nil
}

func readDocs(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []map[string]any
	for _, part := range strings.Split("\n"+string(b), "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(part), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) > 0 {
			docs = append(docs, m)
		}
	}
	return docs, nil
}

func str(m map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(m, path...)
	return s
}

// TestGitOpsFacts keeps the full-cluster expectations readable from the tree
// without a cluster (runs in every `go test`): a rename in flux/ that the
// kind or Hetzner suite would only notice after half an hour fails here.
func TestGitOpsFacts(t *testing.T) {
	for _, cluster := range []string{"local", "develop"} {
		t.Run(cluster, func(t *testing.T) {
			f, err := loadGitOpsFacts(testenv.RepoRoot(), cluster)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(f)
			if f.app("backend").Service == "" {
				t.Error("the backend has no Service (Prometheus selects its target by it)")
			}
			if cluster == "develop" && f.TraefikLBName == "" {
				t.Error("the Traefik Service names no Hetzner load balancer (the Hetzner suite's pre-flight check looks for it)")
			}
		})
	}
}

// TestUpSeries keeps the Prometheus answer parsing of the prometheus check
// honest without a cluster.
func TestUpSeries(t *testing.T) {
	for _, c := range []struct {
		answer, err string
	}{
		{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"backend-1"},"value":[1764108000.1,"1"]}]}}`, ""},
		{`{"status":"success","data":{"resultType":"vector","result":[]}}`, "no such target yet"},
		{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"develop","pod":"backend-1"},"value":[1764108000.1,"0"]}]}}`, "develop/backend-1 is down"},
		{`{"status":"error","error":"parse error"}`, "query failed: parse error"},
		{`<html>`, "query answer"},
	} {
		err := upSeries([]byte(c.answer))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("upSeries(%s) = %v, want %q", c.answer, err, c.err)
		}
	}
}
