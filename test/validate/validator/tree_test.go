package validator

// Tests of the repository's own GitOps tree (not the corpus): properties a
// cluster must have that no single policy rule can state in general.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	realOnce sync.Once
	realRep  *Report
	realErr  error
)

// realTree validates the repository's tree once per test binary.
func realTree(t *testing.T) *Report {
	t.Helper()
	root := repoRoot(t)
	realOnce.Do(func() {
		realRep, realErr = Run(Options{Root: root, CacheDir: filepath.Join(root, ".cache", "validate"),
			Extra: []string{"flux/infrastructure/observability/opentelemetry-collector"}})
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	for _, f := range realRep.Findings {
		t.Errorf("finding in the repository's tree: %s", f)
	}
	return realRep
}

func hasKind(objs []Object, kind string) bool {
	for _, o := range objs {
		if o.Kind() == kind {
			return true
		}
	}
	return false
}

// ghcrSecretName is the pull Secret modules/flux-bootstrap creates in
// flux-system (the default of its ghcr.secret_name input).
func ghcrSecretName(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "modules", "flux-bootstrap", "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`secret_name\s*=\s*optional\(string,\s*"([^"]+)"\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("modules/flux-bootstrap/variables.tf: no default for ghcr.secret_name")
	}
	return string(m[1])
}

const ownImages = "ghcr.io/sre-platform/"

// On every Hetzner cluster (the ones with image automation, whose Terraform
// root creates the GHCR pull Secret in flux-system) the scans read GHCR with
// that Secret and every pod of this repository's images pulls with a copy of
// it in its own namespace.
func TestGHCRPullCredentialsAreWired(t *testing.T) {
	rep := realTree(t)
	secret := ghcrSecretName(t)
	checked := 0
	for _, c := range rep.Clusters {
		if !hasKind(c.Rendered, "ImagePolicy") {
			continue
		}
		checked++
		copies := map[string]bool{} // namespaces with a ResourceSet copy of flux-system/<secret>
		saPull := map[string]bool{} // "ns/sa" that lists <secret>
		for _, o := range c.Rendered {
			switch o.Kind() {
			case "ResourceSet":
				res, _ := get(o.Map, "spec", "resources").([]any)
				for _, r := range res {
					rm, _ := r.(map[string]any)
					if rm["kind"] == "Secret" && str(rm, "metadata", "name") == secret &&
						str(rm, "metadata", "annotations", "fluxcd.controlplane.io/copyFrom") == "flux-system/"+secret &&
						str(rm, "type") == "kubernetes.io/dockerconfigjson" {
						copies[str(rm, "metadata", "namespace")] = true
					}
				}
			case "ServiceAccount":
				l, _ := o.Map["imagePullSecrets"].([]any)
				for _, e := range l {
					if str(e.(map[string]any), "name") == secret {
						saPull[o.Namespace()+"/"+o.Name()] = true
					}
				}
			case "ImageRepository":
				if strings.HasPrefix(str(o.Map, "spec", "image"), ownImages) && str(o.Map, "spec", "secretRef", "name") != secret {
					t.Errorf("cluster %s: %s scans %s without spec.secretRef.name %q", c.Name, o.ID(), str(o.Map, "spec", "image"), secret)
				}
			}
		}
		for _, o := range c.Rendered {
			ps, ok := podSpecOf(o)
			if !ok {
				continue
			}
			cs, _ := ps.spec["containers"].([]any)
			own := false
			for _, x := range cs {
				image, _ := x.(map[string]any)["image"].(string)
				own = own || strings.HasPrefix(image, ownImages)
			}
			if !own {
				continue
			}
			sa, _ := ps.spec["serviceAccountName"].(string)
			if !saPull[o.Namespace()+"/"+sa] {
				t.Errorf("cluster %s: %s runs %s* but its ServiceAccount %q does not list imagePullSecrets %q", c.Name, o.ID(), ownImages, sa, secret)
			}
			if !copies[o.Namespace()] {
				t.Errorf("cluster %s: namespace %s has no ResourceSet copying flux-system/%s", c.Name, o.Namespace(), secret)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cluster with image automation found")
	}
}

// envOf returns the value of an environment variable of the first container.
func envOf(o Object, name string) (string, bool) {
	ps, ok := podSpecOf(o)
	if !ok {
		return "", false
	}
	cs, _ := ps.spec["containers"].([]any)
	if len(cs) == 0 {
		return "", false
	}
	l, _ := cs[0].(map[string]any)["env"].([]any)
	for _, e := range l {
		em, _ := e.(map[string]any)
		if em["name"] == name {
			v, _ := em["value"].(string)
			return v, true
		}
	}
	return "", false
}

var reTracingSwitch = regexp.MustCompile(`(?m)^(\s*)#\s*(- \.\./\.\./infrastructure/observability/tracing)\s*$`)

// The documented tracing switch is one line per cluster, and it works: with
// it, the cluster installs the collector and every backend exports to it with
// a protocol and port the collector receives (the OTLP rule checks that);
// without it, tracing is off.
// offlineCluster is the sandbox's entry point (flux/clusters/sandbox): the
// apps only, without what needs charts or CRDs from the internet
// (kube-prometheus-stack, the OpenTelemetry Collector, Traefik) and without
// notification-controller, whose image cannot be built offline.
const offlineCluster = "sandbox"

func TestTracingSwitch(t *testing.T) {
	off := realTree(t)
	for _, c := range off.Clusters {
		for _, o := range c.Rendered {
			if o.Kind() == "Deployment" && o.Name() == "backend" {
				if v, ok := envOf(o, "OTEL_EXPORTER_OTLP_ENDPOINT"); !ok || v != "" {
					t.Errorf("cluster %s, switch off: %s has OTEL_EXPORTER_OTLP_ENDPOINT %q (set %v), want it empty", c.Name, o.ID(), v, ok)
				}
			}
		}
	}

	root := t.TempDir()
	for _, d := range []string{"flux", "docs"} {
		copyTree(t, filepath.Join(repoRoot(t), d), filepath.Join(root, d))
	}
	entries, _ := filepath.Glob(filepath.Join(root, "flux", "clusters", "*", "kustomization.yaml"))
	for _, f := range entries {
		if filepath.Base(filepath.Dir(f)) == offlineCluster {
			continue
		}
		b, _ := os.ReadFile(f)
		on := reTracingSwitch.ReplaceAll(b, []byte("$1$2"))
		if string(on) == string(b) {
			rel, _ := filepath.Rel(root, f)
			t.Errorf("%s: no commented tracing switch line (# - ../../infrastructure/observability/tracing)", rel)
			continue
		}
		if err := os.WriteFile(f, on, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Run(Options{Root: root, CacheDir: filepath.Join(repoRoot(t), ".cache", "validate")})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("switch on: %s", f)
	}
	for _, c := range rep.Clusters {
		if c.Name == offlineCluster {
			continue
		}
		var endpoint string
		collector, backends := false, 0
		for _, o := range c.Rendered {
			switch {
			case o.Kind() == "ConfigMap" && o.Namespace() == "flux-system" && o.Name() == "tracing":
				endpoint = str(o.Map, "data", "OTEL_EXPORTER_OTLP_ENDPOINT")
			case o.Kind() == "HelmRelease" && str(o.Map, "spec", "chart", "spec", "chart") == "opentelemetry-collector":
				collector = true
			}
		}
		for _, o := range c.Rendered {
			if o.Kind() != "Deployment" || o.Name() != "backend" {
				continue
			}
			backends++
			if v, _ := envOf(o, "OTEL_EXPORTER_OTLP_ENDPOINT"); v == "" || v != endpoint {
				t.Errorf("cluster %s, switch on: %s exports to %q, want the switch's endpoint %q", c.Name, o.ID(), v, endpoint)
			}
		}
		if !collector || endpoint == "" || backends == 0 {
			t.Errorf("cluster %s, switch on: collector %v, endpoint %q, %d backends", c.Name, collector, endpoint, backends)
		}
	}
}

// Prometheus scrapes each backend pod on its own port (the monitor rule checks
// that the ServiceMonitor resolves to a container port); here: the pods it
// reaches are the backend's, the backend admits the observability namespace on
// that port, and nothing in the tree routes /metrics or /chaos/ through the
// frontend's nginx.
func TestBackendScrapedDirectly(t *testing.T) {
	rep := realTree(t)
	for _, c := range rep.Clusters {
		if c.Name == offlineCluster {
			continue // no Prometheus Operator: its ServiceMonitor is patched out
		}
		var backends []Object
		for _, o := range c.Rendered {
			if o.Kind() == "Deployment" && o.Name() == "backend" {
				backends = append(backends, o)
			}
		}
		for _, b := range backends {
			ns := b.Namespace()
			podLabels, _ := get(b.Map, "spec", "template", "metadata", "labels").(map[string]any)
			scraped := false
			for _, m := range c.Rendered {
				if m.Kind() != "ServiceMonitor" || m.Namespace() != ns {
					continue
				}
				sel, _ := get(m.Map, "spec", "selector", "matchLabels").(map[string]any)
				for _, s := range c.Rendered {
					labels, _ := get(s.Map, "metadata", "labels").(map[string]any)
					if s.Kind() != "Service" || s.Namespace() != ns || !labelsMatch(sel, labels) {
						continue
					}
					podSel, _ := get(s.Map, "spec", "selector").(map[string]any)
					if !labelsMatch(podSel, podLabels) {
						t.Errorf("cluster %s: %s selects %s, whose pods are not the backend's", c.Name, m.ID(), s.ID())
						continue
					}
					eps, _ := get(m.Map, "spec", "endpoints").([]any)
					for _, e := range eps {
						if str(e.(map[string]any), "path") == "/metrics" {
							scraped = true
						}
					}
				}
			}
			if !scraped {
				t.Errorf("cluster %s: no ServiceMonitor scrapes /metrics of %s", c.Name, b.ID())
			}
			admitted := false
			for _, np := range c.Rendered {
				if np.Kind() != "NetworkPolicy" || np.Namespace() != ns || !labelsMatch(get(np.Map, "spec", "podSelector", "matchLabels").(map[string]any), podLabels) {
					continue
				}
				rules, _ := get(np.Map, "spec", "ingress").([]any)
				for _, r := range rules {
					rm, _ := r.(map[string]any)
					from, _ := rm["from"].([]any)
					for _, f := range from {
						if str(f.(map[string]any), "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "observability" {
							admitted = true
						}
					}
				}
			}
			if !admitted {
				t.Errorf("cluster %s: no NetworkPolicy admits the observability namespace to %s", c.Name, b.ID())
			}
		}
	}
	// Nothing applied routes the backend's private paths through a public entry.
	for _, c := range rep.Clusters {
		for _, o := range c.Rendered {
			b, _ := yamlText(o)
			for _, p := range []string{"/chaos", "/readyz/enable", "/readyz/disable"} {
				if strings.Contains(b, p) {
					t.Errorf("cluster %s: %s (%s) mentions %s", c.Name, o.ID(), o.File, p)
				}
			}
			if o.Kind() == "Ingress" && strings.Contains(b, "/metrics") {
				t.Errorf("cluster %s: %s exposes /metrics", c.Name, o.ID())
			}
		}
	}
}

func yamlText(o Object) (string, error) {
	b, err := yaml.Marshal(o.Map)
	return string(b), err
}

// The identities a keyless signature of this repository's workflows carries.
const (
	ghIssuer        = "https://token.actions.githubusercontent.com"
	promoteIdentity = "https://github.com/sre-platform/platform/.github/workflows/promote-production.yml@refs/heads/main"
)

func matches(t *testing.T, pattern, s string) bool {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Errorf("regexp %q: %v", pattern, err)
		return false
	}
	return re.MatchString(s)
}

// Production runs only what the protected promotion signed: the Kustomization
// that applies production workloads depends on a gate whose OCIRepositories
// verify, for the very tags the workloads run, a keyless signature of
// promote-production.yml on main (and of nothing else); the ImagePolicy that
// moves those tags sorts on the promotion's run number and accepts no tag the
// ordinary image builds make.
func TestProductionRunsOnlyVerifiedReleases(t *testing.T) {
	rep := realTree(t)
	root := repoRoot(t)
	notPromote := []string{
		"https://github.com/sre-platform/platform/.github/workflows/images.yml@refs/heads/main",
		"https://github.com/sre-platform/platform/.github/workflows/promote-production.yml@refs/heads/feature",
		"https://github.com/fork/platform/.github/workflows/promote-production.yml@refs/heads/main",
		promoteIdentity + "x",
	}
	checked := 0
	for _, c := range rep.Clusters {
		ks := map[string]Object{}
		for _, o := range c.Rendered {
			if o.Kind() == "Kustomization" && groupOf(o.APIVersion()) == "kustomize.toolkit.fluxcd.io" {
				ks[o.Name()] = o
			}
		}
		for _, k := range ks {
			objs, err := build(root, normPath(str(k.Map, "spec", "path")))
			if err != nil {
				t.Fatal(err)
			}
			images := map[string]string{} // repository -> tag of the production workloads
			for _, o := range objs {
				if _, ok := podSpecOf(o); ok && o.Namespace() == "production" {
					ps, _ := podSpecOf(o)
					cs, _ := ps.spec["containers"].([]any)
					for _, x := range cs {
						image, _ := x.(map[string]any)["image"].(string)
						images[imageRepo(image)] = strings.TrimPrefix(image, imageRepo(image)+":")
					}
				}
			}
			if len(images) == 0 {
				continue
			}
			checked++
			gates := map[string]Object{} // oci://repo -> verifying OCIRepository
			deps, _ := get(k.Map, "spec", "dependsOn").([]any)
			for _, d := range deps {
				gate, ok := ks[str(d.(map[string]any), "name")]
				if !ok || get(gate.Map, "spec", "wait") != true {
					continue
				}
				gobjs, err := build(root, normPath(str(gate.Map, "spec", "path")))
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range gobjs {
					if o.Kind() == "OCIRepository" && str(o.Map, "spec", "verify", "provider") == "cosign" && get(o.Map, "spec", "verify", "secretRef") == nil {
						gates[str(o.Map, "spec", "url")] = o
					}
				}
			}
			for repo, tag := range images {
				g, ok := gates["oci://"+repo]
				if !ok {
					t.Errorf("cluster %s: %s runs %s in production, but none of its dependsOn (wait: true) verifies oci://%s with a keyless cosign signature", c.Name, k.ID(), repo, repo)
					continue
				}
				if got := str(g.Map, "spec", "ref", "tag"); got != tag {
					t.Errorf("cluster %s: %s verifies tag %q, production runs %q", c.Name, g.ID(), got, tag)
				}
				ids, _ := get(g.Map, "spec", "verify", "matchOIDCIdentity").([]any)
				accepts := func(subject string) bool {
					for _, id := range ids {
						im := id.(map[string]any)
						if matches(t, str(im, "issuer"), ghIssuer) && matches(t, str(im, "subject"), subject) {
							return true
						}
					}
					return false
				}
				if !accepts(promoteIdentity) {
					t.Errorf("cluster %s: %s does not accept signatures of %s", c.Name, g.ID(), promoteIdentity)
				}
				for _, s := range notPromote {
					if accepts(s) {
						t.Errorf("cluster %s: %s accepts a signature of %s", c.Name, g.ID(), s)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cluster applies production workloads")
	}

	// The production ImagePolicies: scan the release repositories and rank by the
	// promotion's run number; the tags of ordinary builds never qualify.
	for _, c := range rep.Clusters {
		for _, o := range c.Rendered {
			if o.Kind() != "ImagePolicy" || !strings.HasSuffix(o.Name(), "-production") {
				continue
			}
			pattern := str(o.Map, "spec", "filterTags", "pattern")
			if str(o.Map, "spec", "filterTags", "extract") != "$run" || get(o.Map, "spec", "policy", "numerical") == nil {
				t.Errorf("cluster %s: %s does not rank by the promotion run number ($run, numerical)", c.Name, o.ID())
			}
			for tag, want := range map[string]bool{
				"production-42-0152e44":            true,
				"main-0152e44-1764108000":          false,
				"develop-0152e44-1764108000":       false,
				"production-0152e44-9999999999":    false, // the former timestamp scheme
				"production-0-0152e44":             false,
				"production-1000000000-0152e44":    false,
				"production-42-0152e44-9999999999": false,
			} {
				if got := matches(t, pattern, tag); got != want {
					t.Errorf("cluster %s: %s pattern %q matches %q = %v, want %v", c.Name, o.ID(), pattern, tag, got, want)
				}
			}
		}
	}
}
