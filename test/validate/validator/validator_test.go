package validator

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot finds the repository root (for the shared CRD cache under .cache/).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "flux", "clusters")); err == nil {
			return d
		}
	}
	t.Fatal("repository root not found")
	return ""
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tree lays out testdata/good and, over it, the files of one broken case.
func tree(t *testing.T, brokenCase string) string {
	dst := t.TempDir()
	copyTree(t, filepath.Join("..", "testdata", "good"), dst)
	if brokenCase != "" {
		copyTree(t, filepath.Join("..", "testdata", "broken", brokenCase), dst)
	}
	return dst
}

func run(t *testing.T, root string) *Report {
	t.Helper()
	rep, err := Run(Options{Root: root, CacheDir: filepath.Join(repoRoot(t), ".cache", "validate")})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Warnings {
		t.Errorf("warning: %s", w)
	}
	return rep
}

func TestGoodTree(t *testing.T) {
	rep := run(t, tree(t, ""))
	for _, f := range rep.Findings {
		t.Errorf("unexpected finding: %s", f)
	}
	if len(rep.Clusters) != 1 || rep.Clusters[0].Objects != 5 || rep.Clusters[0].Kustomizations != 3 {
		t.Errorf("clusters = %+v, want one with 3 Flux Kustomizations and 5 objects", rep.Clusters)
	}
}

// Each broken case must fail with exactly this message (file, object, field path, reason).
var brokenCases = []struct{ name, want string }{
	{"unknown-field", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].livenessProbe.httpGet.paht: unknown field`},
	{"wrong-type", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers.ports.containerPort: wrong type: got string, want int32`},
	{"crd-unknown-field", `flux/clusters/test/ks.yaml: Kustomization flux-system/infra: spec.pathh: unknown field`},
	{"crd-wrong-type", `flux/clusters/test/ks.yaml: Kustomization flux-system/infra: spec.wait: Invalid value: "string": spec.wait in body must be of type boolean: "string"`},
	{"cel-violation", `flux/infra/images.yaml: ImagePolicy flux-system/app: spec: Invalid value: spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'`},
	{"plaintext-secret", `flux/apps/secret.yaml: Secret test/db: plaintext Secret: Secrets must be committed SOPS-encrypted`},
	{"secret-generator", `flux/apps/kustomization.yaml: Secret test/db-`},
	{"sops-without-decryption", `flux/clusters/test/ks.yaml: Kustomization flux-system/apps: spec.decryption.provider: must be sops: path ./flux/apps holds the SOPS-encrypted Secret test/hcloud`},
	{"missing-probe", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].readinessProbe: missing: every long-running container needs liveness and readiness probes`},
	{"missing-limits", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].resources.limits.memory: missing`},
	{"writable-root", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: must be true`},
	{"token-automount", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.automountServiceAccountToken: must be false`},
	{"latest-tag", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].image: "ghcr.io/example/app:latest" uses the mutable tag "latest": pin a version`},
	{"untagged-image", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].image: "ghcr.io/example/app" has no tag (that means latest): pin a version`},
	{"missing-depends-on", `flux/clusters/test/ks.yaml: Kustomization flux-system/apps: spec.dependsOn[0].name: Kustomization flux-system/infrastructure does not exist in cluster test`},
	{"missing-path", `flux/clusters/test/ks.yaml: Kustomization flux-system/apps: spec.path: "./flux/applications" does not exist`},
	{"bad-setter-marker", `flux/apps/deployment.yaml:18: setter marker "flux-system:app-nope" points at ImagePolicy flux-system/app-nope, which no cluster defines`},
	{"malformed-setter-marker", `flux/apps/deployment.yaml:18: setter marker "app": want <namespace>:<imagepolicy>[:tag|:name|:digest]`},
	{"marker-tag-mismatch", `flux/apps/deployment.yaml:18: setter marker "flux-system:app": tag "develop-abc1234-1764108000" does not match filterTags.pattern`},
	{"alert-without-runbook", `flux/infra/rules.yaml: PrometheusRule test/app: spec.groups[0].rules[1].annotations.runbook_url: missing: alert AppSlow needs a runbook under docs/runbooks/`},
	{"replicas-with-hpa", `flux/apps/deployment.yaml: Deployment test/app: spec.replicas: must not be set: HorizontalPodAutoscaler test/app owns the replica count (flux/apps/hpa.yaml), and every Flux reconcile would reset it`},
	{"dangling-pull-secret", `flux/apps/serviceaccount.yaml: ServiceAccount test/default: imagePullSecrets[0].name: Secret test/registry-auth does not exist in this cluster`},
	{"scan-without-credentials", `flux/infra/images.yaml: ImageRepository flux-system/app: spec.secretRef: missing: Deployment test/app pulls ghcr.io/example/app with credentials, so the scan needs them too`},
	{"monitor-port-missing", `flux/apps/servicemonitor.yaml: ServiceMonitor test/app: spec.endpoints[0].port: Service test/app has no port named "metrics"`},
	{"otlp-port-mismatch", `flux/apps/deployment.yaml: Deployment test/app: spec.template.spec.containers[0].env[0].value: sends OTLP http/protobuf to port 4317, but HelmRelease test/opentelemetry-collector receives http/protobuf on port 4318 (flux/apps/collector.yaml)`},
	{"ingress-admin-port", `flux/apps/ingress.yaml: Ingress test/app: spec.rules[0].http.paths[0].backend.service.port: Service test/app port "web" leads to container port "admin" of Deployment test/app, served only inside the cluster: an Ingress must not expose it`},
	{"ingress-service-exposes-admin", `flux/apps/service.yaml: Service test/app: spec.ports[ops]: Service test/app (behind Ingress test/app) also exposes port 8081, which leads to container port "admin" of Deployment test/app, served only inside the cluster: give the admin listener a Service of its own`},
	{"tls-without-hsts", `flux/apps/ingress.yaml: Ingress test/app: metadata.annotations.traefik.ingress.kubernetes.io/router.middlewares: missing: Traefik terminates TLS for this Ingress, so it must reference a Middleware with headers.stsSeconds >= 31536000 (HSTS)`},
	{"hsts-too-short", `flux/apps/ingress.yaml: Ingress test/app: metadata.annotations.traefik.ingress.kubernetes.io/router.middlewares: test-hsts@kubernetescrd sends HSTS for 300 s, less than 31536000 (one year)`},
	{"flux-monitor-port", `flux/infra/podmonitor.yaml: PodMonitor observability/flux-controllers: spec.podMetricsEndpoints[0].port: Deployment flux-system/image-automation-controller exposes no container port named "metrics"`},
	{"autoscaler-nodes", `flux/apps/autoscaler.yaml: Deployment test/cluster-autoscaler: spec.template.spec.containers[0].args[2]: --nodes=3:2:cx32:fsn1:demo-burst: need 0 <= min <= max and max >= 1 (min 3, max 2)`},
	{"unknown-kind", `flux/infra/widget.yaml: Widget w: apiVersion: unknown kind example.com/v1/Widget: neither a Kubernetes type nor a known CRD`},
	{"plan-unsubstituted", `flux/infra/plan.yaml: Plan system-upgrade/k3s-server: spec.version: "${K3S_VERSION}" holds a variable no Flux post-build substitution replaced`},
	{"plan-bad-version", `flux/infra/plan.yaml: Plan system-upgrade/k3s-server: spec.version: "v1.34.4-k3s1" is not a k3s release such as v1.34.4+k3s1`},
	{"crd-not-structural", `flux/infra/crd.yaml: CustomResourceDefinition widgets.example.com: spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value`},
	{"probes-exempt-without-reason", `flux/apps/deployment.yaml: Deployment test/app: metadata.annotations.sre-platform.io/no-probes: must say why the workload cannot be probed (at least 20 characters), not "n/a"`},
}

func TestBrokenCorpus(t *testing.T) {
	dirs, _ := os.ReadDir(filepath.Join("..", "testdata", "broken"))
	covered := map[string]bool{}
	for _, c := range brokenCases {
		covered[c.name] = true
	}
	for _, d := range dirs {
		if !covered[d.Name()] {
			t.Errorf("testdata/broken/%s has no expected message in brokenCases", d.Name())
		}
	}
	for _, c := range brokenCases {
		t.Run(c.name, func(t *testing.T) {
			rep := run(t, tree(t, c.name))
			var got []string
			found := false
			for _, f := range rep.Findings {
				got = append(got, f.String())
				found = found || strings.HasPrefix(f.String(), c.want)
			}
			if !found {
				t.Errorf("no finding starts with\n  %s\ngot:\n  %s", c.want, strings.Join(got, "\n  "))
			}
		})
	}
}

func TestEnvsubst(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": ""}
	for in, want := range map[string]string{
		"${A}":            "a",
		"$A/x":            "a/x",
		"${MISSING}":      "",
		"${MISSING:=d}":   "d",
		"${EMPTY:=d}":     "d",
		"${EMPTY=d}":      "",
		"${MISSING-d}":    "d",
		"${A:-d}":         "a",
		"$${A}":           "${A}",
		"k8s=$(POD_NAME)": "k8s=$(POD_NAME)",
	} {
		if got := envsubst(in, vars); got != want {
			t.Errorf("envsubst(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNodeGroupProblem(t *testing.T) {
	for v, want := range map[string]string{
		"0:5:cx42:fsn1:develop-burst": "",
		"1:1:CPX51:FSN1:pool1":        "",
		"0:5:cx42:fsn1":               "five fields",
		"a:5:cx42:fsn1:g":             "whole numbers",
		"0:0:cx42:fsn1:g":             "max >= 1",
		"-1:2:cx42:fsn1:g":            "0 <= min",
		"0:2:cx 42:fsn1:g":            "server type",
		"0:2:cx42::g":                 "location",
		"0:2:cx42:fsn1:-g":            "group name",
	} {
		got := nodeGroupProblem(v)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("nodeGroupProblem(%q) = %q, want one containing %q", v, got, want)
		}
	}
}

func TestAutoscalerNodesListedTwice(t *testing.T) {
	o := Object{File: "a.yaml", Map: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "ca", "namespace": "kube-system"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "ca", "args": []any{"--cloud-provider=hetzner", "--nodes=0:2:cx32:fsn1:g", "--nodes=1:3:cx42:fsn1:g"}},
			// Another provider's arguments are none of this check's business.
			map[string]any{"name": "other", "args": []any{"--cloud-provider=aws", "--nodes=x"}},
		}}}}}}
	got := checkAutoscalerNodes(o)
	if len(got) != 1 || got[0].Field != "spec.template.spec.containers[0].args[2]" || !strings.Contains(got[0].Msg, "listed twice") {
		t.Fatalf("findings = %v", got)
	}
}
