package flux_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/sre-platform/platform/provider/internal/acctest"
)

var (
	fiGVR     = schema.GroupVersionResource{Group: "fluxcd.controlplane.io", Version: "v1", Resource: "fluxinstances"}
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	nsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crbGVR    = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
)

const ageKey = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQY"

const sopsPatch = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-age
`

// accOnly skips before anything heavy starts: terraform-plugin-testing would
// skip later, but the control plane must not start for nothing.
func accOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("SKIP: acceptance test; set TF_ACC=1 (needs terraform and kube-apiserver + etcd from `go tool task kube:build`)")
	}
	acctest.PreCheck(t)
}

type cfg struct {
	KubeconfigPath, ManifestPath string
	Ref                          string
	Components                   []string
	GHCR, Wait                   bool
	CreateTimeout                string
}

func (c cfg) String() string {
	comps := ""
	if c.Components != nil {
		comps = fmt.Sprintf("components = [%s]", `"`+strings.Join(c.Components, `", "`)+`"`)
	}
	ghcr := ""
	if c.GHCR {
		ghcr = `ghcr_credentials = { username = "bot", password = "ghcr-token" }
  distribution = { version = "2.9.x", image_pull_secret = "ghcr-auth" }`
	} else {
		ghcr = `distribution = { version = "2.9.x" }`
	}
	timeout := c.CreateTimeout
	if timeout == "" {
		timeout = "2m"
	}
	return fmt.Sprintf(`
resource "platform_flux_instance" "test" {
  kubeconfig             = file(%q)
  operator_manifest_path = %q
  wait                   = %t
  %s
  %s
  cluster = { size = "medium" }
  sync = {
    kind = "GitRepository"
    url  = "https://git.example.com/platform.git"
    ref  = %q
    path = "flux/clusters/develop"
  }
  kustomize_patches = [{
    target = { kind = "Kustomization", name = "flux-system" }
    patch  = <<-EOT
%s
    EOT
  }]
  storage          = { class = "standard", size = "5Gi" }
  sops_age_key     = %q
  git_credentials  = { token = "git-token" }
  timeouts         = { create = %q, update = "2m", delete = "2m" }
}
`, c.KubeconfigPath, c.ManifestPath, c.Wait, comps, ghcr, c.Ref, indent(sopsPatch, "      "), ageKey, timeout)
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n")
}

func get(dyn dynamic.Interface, gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	if ns == "" {
		return dyn.Resource(gvr).Get(context.Background(), name, metav1.GetOptions{})
	}
	return dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func secretData(dyn dynamic.Interface, name, key string) (string, error) {
	u, err := get(dyn, secretGVR, "flux-system", name)
	if err != nil {
		return "", err
	}
	s, _, _ := unstructured.NestedString(u.Object, "data", key)
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// checkInstalled verifies the objects in the cluster.
func checkInstalled(dyn dynamic.Interface, ref string, components int, ghcr bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, crd := range []string{"fluxinstances", "fluxreports", "resourcesets", "resourcesetinputproviders"} {
			u, err := get(dyn, crdGVR, "", crd+".fluxcd.controlplane.io")
			if err != nil {
				return fmt.Errorf("CRD %s: %w", crd, err)
			}
			if !established(u) {
				return fmt.Errorf("CRD %s not established", crd)
			}
		}
		if _, err := get(dyn, deployGVR, "flux-system", "flux-operator"); err != nil {
			return fmt.Errorf("operator deployment: %w", err)
		}
		if _, err := get(dyn, crbGVR, "", "flux-operator-cluster-admin"); err != nil {
			return fmt.Errorf("operator RBAC: %w", err)
		}
		fi, err := get(dyn, fiGVR, "flux-system", "flux")
		if err != nil {
			return fmt.Errorf("FluxInstance: %w", err)
		}
		spec := fi.Object["spec"].(map[string]any)
		str := func(keys ...string) string { s, _, _ := unstructured.NestedString(spec, keys...); return s }
		for k, want := range map[string]string{
			"sync.ref": ref, "sync.kind": "GitRepository", "sync.pullSecret": "flux-system", "sync.path": "flux/clusters/develop",
			"distribution.version": "2.9.x", "distribution.registry": "ghcr.io/fluxcd", "cluster.size": "medium",
			"cluster.type": "kubernetes", "storage.size": "5Gi",
		} {
			if got := str(strings.Split(k, ".")...); got != want {
				return fmt.Errorf("FluxInstance spec.%s = %q, want %q", k, got, want)
			}
		}
		if comps, _, _ := unstructured.NestedStringSlice(spec, "components"); len(comps) != components {
			return fmt.Errorf("components %v, want %d", comps, components)
		}
		patches, _, _ := unstructured.NestedSlice(spec, "kustomize", "patches")
		if len(patches) != 1 || !strings.Contains(fmt.Sprint(patches[0]), "provider: sops") {
			return fmt.Errorf("kustomize patches %v", patches)
		}
		managed := false
		for _, mf := range fi.GetManagedFields() {
			managed = managed || (mf.Manager == "terraform-provider-platform" && mf.Operation == metav1.ManagedFieldsOperationApply)
		}
		if !managed {
			return fmt.Errorf("FluxInstance not server-side applied by terraform-provider-platform: %v", fi.GetManagedFields())
		}
		if v, err := secretData(dyn, "sops-age", "age.agekey"); err != nil || v != ageKey {
			return fmt.Errorf("sops-age Secret: %v", err)
		}
		if v, err := secretData(dyn, "flux-system", "password"); err != nil || v != "git-token" {
			return fmt.Errorf("git Secret: %v", err)
		}
		_, err = get(dyn, secretGVR, "flux-system", "ghcr-auth")
		switch {
		case ghcr && err != nil:
			return fmt.Errorf("ghcr-auth Secret: %w", err)
		case !ghcr && !apierrors.IsNotFound(err):
			return fmt.Errorf("ghcr-auth Secret must be gone without ghcr_credentials (err %v)", err)
		}
		return nil
	}
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// checkDestroyed verifies the delete order's result: FluxInstance, operator
// and CRDs gone; the namespace gone or Terminating (no namespace controller
// runs here).
func checkDestroyed(dyn dynamic.Interface) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, g := range []struct {
			gvr      schema.GroupVersionResource
			ns, name string
		}{
			{fiGVR, "flux-system", "flux"},
			{crdGVR, "", "fluxinstances.fluxcd.controlplane.io"},
			{crdGVR, "", "resourcesets.fluxcd.controlplane.io"},
			{deployGVR, "flux-system", "flux-operator"},
			{crbGVR, "", "flux-operator-cluster-admin"},
			{secretGVR, "flux-system", "sops-age"},
			{secretGVR, "flux-system", "flux-system"},
		} {
			if _, err := get(dyn, g.gvr, g.ns, g.name); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s/%s still there after destroy (err %v)", g.gvr.Resource, g.ns, g.name, err)
			}
		}
		ns, err := get(dyn, nsGVR, "", "flux-system")
		if err == nil && ns.GetDeletionTimestamp() == nil {
			return fmt.Errorf("namespace flux-system not deleted")
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
}

type stopwatch struct {
	mu    sync.Mutex
	marks map[string]time.Time
}

func (s *stopwatch) mark(name string) resource.TestCheckFunc {
	return func(*terraform.State) error { s.set(name); return nil }
}

func (s *stopwatch) set(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.marks == nil {
		s.marks = map[string]time.Time{}
	}
	s.marks[name] = time.Now()
}

func (s *stopwatch) since(name string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.marks[name]).Round(10 * time.Millisecond)
}

func TestAccFluxInstance_lifecycle(t *testing.T) {
	accOnly(t)
	cp := startControlPlane(t)
	manifest := buildOperatorManifest(t)
	dyn := cp.Dyn
	base := cfg{KubeconfigPath: cp.KubeconfigPath, ManifestPath: manifest, Ref: "refs/heads/main", GHCR: true}
	updated := base
	updated.Ref, updated.GHCR = "refs/heads/release", false
	updated.Components = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}
	var sw stopwatch
	const addr = "platform_flux_instance.test"

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy: func(s *terraform.State) error {
			t.Logf("destroy took %s (terraform plan + apply)", sw.since("last"))
			return checkDestroyed(dyn)(s)
		},
		Steps: []resource.TestStep{
			{
				PreConfig: func() { sw.set("create") },
				Config:    base.String(),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error { t.Logf("create (wait=false) took %s", sw.since("create")); return nil },
					checkInstalled(dyn, "refs/heads/main", 6, true),
					resource.TestCheckResourceAttr(addr, "id", "flux-system/flux"),
					resource.TestCheckResourceAttr(addr, "operator_objects.#", "13"),
					resource.TestCheckResourceAttr(addr, "operator_objects.0", "v1 Namespace flux-system"),
					resource.TestMatchResourceAttr(addr, "operator_manifest_sha256", regexp.MustCompile(`^[0-9a-f]{64}$`)),
					resource.TestCheckResourceAttr(addr, "components.#", "6"),
					resource.TestCheckResourceAttr(addr, "cluster.network_policy", "true"),
				),
			},
			{
				// Drift: someone changes the sync ref in the cluster.
				PreConfig: func() {
					patch := []byte(`{"spec":{"sync":{"ref":"refs/heads/hotfix"}}}`)
					if _, err := dyn.Resource(fiGVR).Namespace("flux-system").Patch(context.Background(), "flux",
						types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             base.String(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply takes the field back (force_conflicts defaults to true).
				Config: base.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: checkInstalled(dyn, "refs/heads/main", 6, true),
			},
			{
				// Update in place: new ref, fewer components, GHCR credentials gone.
				PreConfig: func() { sw.set("update") },
				Config:    updated.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error { t.Logf("update took %s", sw.since("update")); return nil },
					checkInstalled(dyn, "refs/heads/release", 4, false),
				),
			},
			{
				// The FluxInstance deleted behind Terraform's back: planned as
				// a create, and recreated.
				PreConfig: func() {
					if err := dyn.Resource(fiGVR).Namespace("flux-system").Delete(context.Background(), "flux", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: updated.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkInstalled(dyn, "refs/heads/release", 4, false),
					sw.mark("last"),
				),
			},
		},
	})
}

// playOperator stands in for the Flux Operator, which cannot run without a
// kubelet: it puts the operator's finalizer on the FluxInstance and reports
// Ready for every generation it sees, until the test ends.
func playOperator(t *testing.T, dyn dynamic.Interface) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		fis := dyn.Resource(fiGVR).Namespace("flux-system")
		for ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			u, err := fis.Get(ctx, "flux", metav1.GetOptions{})
			if err != nil || u.GetDeletionTimestamp() != nil {
				continue
			}
			if len(u.GetFinalizers()) == 0 {
				u.SetFinalizers([]string{"fluxcd.controlplane.io/finalizer"})
				if u, err = fis.Update(ctx, u, metav1.UpdateOptions{FieldManager: "flux-operator"}); err != nil {
					continue
				}
			}
			if readyGeneration(u) == u.GetGeneration() {
				continue
			}
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
				"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Reconciliation finished",
				"observedGeneration": u.GetGeneration(), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}}, "status", "conditions")
			_, _ = fis.UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: "flux-operator"})
		}
	}()
}

// readyGeneration is the generation the Ready=True condition is for (0: none).
func readyGeneration(u *unstructured.Unstructured) int64 {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			g, _ := m["observedGeneration"].(int64)
			return g
		}
	}
	return 0
}

func TestAccFluxInstance_waitReady(t *testing.T) {
	accOnly(t)
	cp := startControlPlane(t)
	manifest := buildOperatorManifest(t)
	dyn := cp.Dyn
	playOperator(t, dyn)
	base := cfg{KubeconfigPath: cp.KubeconfigPath, ManifestPath: manifest, Ref: "refs/heads/main", Wait: true}
	next := base
	next.Ref = "refs/heads/release"
	var sw stopwatch
	ready := func(*terraform.State) error {
		u, err := get(dyn, fiGVR, "flux-system", "flux")
		if err != nil {
			return err
		}
		if obs := readyGeneration(u); obs != u.GetGeneration() {
			return fmt.Errorf("apply returned before the instance was Ready for generation %d (observed %d)", u.GetGeneration(), obs)
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy: func(s *terraform.State) error {
			t.Logf("destroy (finalizer removed: no operator deployment available) took %s", sw.since("last"))
			return checkDestroyed(dyn)(s)
		},
		Steps: []resource.TestStep{
			{
				PreConfig: func() { sw.set("create") },
				Config:    base.String(),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error { t.Logf("create (wait=true) took %s", sw.since("create")); return nil },
					ready, checkInstalled(dyn, "refs/heads/main", 6, false),
				),
			},
			{
				Config: next.String(),
				Check: resource.ComposeAggregateTestCheckFunc(ready, checkInstalled(dyn, "refs/heads/release", 6, false),
					func(*terraform.State) error {
						// The destroy below must remove this finalizer itself.
						u, err := get(dyn, fiGVR, "flux-system", "flux")
						if err != nil || len(u.GetFinalizers()) == 0 {
							return fmt.Errorf("the stand-in operator's finalizer is missing (err %v)", err)
						}
						return nil
					},
					sw.mark("last")),
			},
		},
	})
}

func TestAccFluxInstance_waitTimeout(t *testing.T) {
	accOnly(t)
	cp := startControlPlane(t)
	manifest := buildOperatorManifest(t)
	c := cfg{KubeconfigPath: cp.KubeconfigPath, ManifestPath: manifest, Ref: "refs/heads/main", Wait: true, CreateTimeout: "5s"}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy:             checkDestroyed(cp.Dyn),
		Steps: []resource.TestStep{{
			Config:      c.String(),
			ExpectError: regexp.MustCompile(`(?s)Flux did not become ready.*no Ready condition`),
		}},
	})
}
