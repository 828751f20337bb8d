package secret_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

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

var secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

const addr = "platform_cluster_secret.test"

// accOnly skips before the control plane starts for nothing.
func accOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("SKIP: acceptance test; set TF_ACC=1 (needs terraform and kube-apiserver + etcd from `go tool task kube:build`)")
	}
	acctest.PreCheck(t)
}

// cfg renders one platform_cluster_secret against the test's control plane.
type cfg struct {
	KubeconfigPath, Namespace, Name, Type string
	Data, Labels                          map[string]string
}

func hclMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "    %q = %q\n", k, m[k])
	}
	b.WriteString("  }")
	return b.String()
}

func (c cfg) String() string {
	ns := c.Namespace
	if ns == "" {
		ns = "kube-system"
	}
	extra := ""
	if c.Type != "" {
		extra += fmt.Sprintf("  type = %q\n", c.Type)
	}
	if c.Labels != nil {
		extra += "  labels = " + hclMap(c.Labels) + "\n"
	}
	return fmt.Sprintf(`
resource "platform_cluster_secret" "test" {
  kubeconfig = file(%q)
  namespace  = %q
  name       = %q
  data       = %s
%s}
`, c.KubeconfigPath, ns, c.Name, hclMap(c.Data), extra)
}

func getSecret(dyn dynamic.Interface, ns, name string) (*unstructured.Unstructured, error) {
	return dyn.Resource(secretGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func decoded(u *unstructured.Unstructured) map[string]string {
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	out := map[string]string{}
	for k, v := range data {
		b, _ := base64.StdEncoding.DecodeString(v)
		out[k] = string(b)
	}
	return out
}

// checkSecret verifies the Secret in the cluster: exactly these keys
// (besides foreign ones other managers own), these labels, the type, and our
// field manager's server-side apply.
func checkSecret(dyn dynamic.Interface, ns, name, typ string, data, labels map[string]string, foreign ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		u, err := getSecret(dyn, ns, name)
		if err != nil {
			return fmt.Errorf("Secret %s/%s: %w", ns, name, err)
		}
		got := decoded(u)
		for _, k := range foreign {
			if _, ok := got[k]; !ok {
				return fmt.Errorf("Secret %s/%s lost the key %q another manager set", ns, name, k)
			}
			delete(got, k)
		}
		if !maps.Equal(got, data) {
			return fmt.Errorf("Secret %s/%s data %v, want %v", ns, name, got, data)
		}
		if s, _, _ := unstructured.NestedString(u.Object, "type"); s != typ {
			return fmt.Errorf("Secret %s/%s type %q, want %q", ns, name, s, typ)
		}
		for k, v := range labels {
			if u.GetLabels()[k] != v {
				return fmt.Errorf("Secret %s/%s labels %v, want %s=%s", ns, name, u.GetLabels(), k, v)
			}
		}
		applied := false
		for _, mf := range u.GetManagedFields() {
			applied = applied || (mf.Manager == "terraform-provider-platform" && mf.Operation == metav1.ManagedFieldsOperationApply)
		}
		if !applied {
			return fmt.Errorf("Secret %s/%s not server-side applied by terraform-provider-platform: %v", ns, name, u.GetManagedFields())
		}
		return nil
	}
}

func checkGone(dyn dynamic.Interface, ns, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if _, err := getSecret(dyn, ns, name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Secret %s/%s still there (err %v)", ns, name, err)
		}
		return nil
	}
}

func TestAccClusterSecret_lifecycle(t *testing.T) {
	accOnly(t)
	cp := acctest.StartControlPlane(t)
	dyn := cp.Dyn
	managed := map[string]string{"app.kubernetes.io/managed-by": "terraform-provider-platform"}
	base := cfg{KubeconfigPath: cp.KubeconfigPath, Name: "hcloud",
		Data: map[string]string{"token": "token-1", "network": "1001"}, Labels: map[string]string{"team": "sre"}}
	updated := base
	updated.Data = map[string]string{"token": "token-2", "extra": "x"}
	renamed := updated
	renamed.Name = "hcloud-renamed"
	secrets := dyn.Resource(secretGVR).Namespace("kube-system")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkGone(dyn, "kube-system", "hcloud"), checkGone(dyn, "kube-system", "hcloud-renamed")),
		Steps: []resource.TestStep{
			{
				Config: base.String(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSecret(dyn, "kube-system", "hcloud", "Opaque", base.Data, map[string]string{"team": "sre", "app.kubernetes.io/managed-by": "terraform-provider-platform"}),
					resource.TestCheckResourceAttr(addr, "id", "kube-system/hcloud"),
					resource.TestCheckResourceAttr(addr, "type", "Opaque"),
					resource.TestCheckResourceAttr(addr, "data.%", "2"),
					resource.TestCheckResourceAttr(addr, "data.token", "token-1"),
				),
			},
			{
				// Data changed in place: a key replaced, one removed, one added.
				Config: updated.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: checkSecret(dyn, "kube-system", "hcloud", "Opaque", updated.Data, managed),
			},
			{
				// Drift: someone edits the token and adds a key of their own.
				PreConfig: func() {
					patch := []byte(`{"data":{"token":"` + base64.StdEncoding.EncodeToString([]byte("edited")) + `","foreign":"eQ=="}}`)
					if _, err := secrets.Patch(context.Background(), "hcloud", types.MergePatchType, patch,
						metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             updated.String(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply takes the token back; the other manager's key stays
				// (and stays out of state: the plan after apply is empty).
				Config: updated.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: checkSecret(dyn, "kube-system", "hcloud", "Opaque", updated.Data, managed, "foreign"),
			},
			{
				// Deleted behind Terraform's back: planned as a create, recreated.
				PreConfig: func() {
					if err := secrets.Delete(context.Background(), "hcloud", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: updated.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: checkSecret(dyn, "kube-system", "hcloud", "Opaque", updated.Data, managed),
			},
			{
				// A new name replaces the Secret.
				Config: renamed.String(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkGone(dyn, "kube-system", "hcloud"),
					checkSecret(dyn, "kube-system", "hcloud-renamed", "Opaque", updated.Data, managed),
					resource.TestCheckResourceAttr(addr, "id", "kube-system/hcloud-renamed"),
				),
			},
		},
	})
}

// An existing Secret is adopted (its other keys stay); one of another type,
// or a missing namespace, fails with a message that says what to do.
func TestAccClusterSecret_adoptAndRefuse(t *testing.T) {
	accOnly(t)
	cp := acctest.StartControlPlane(t)
	dyn := cp.Dyn
	create := func(name, typ string, data map[string]string) {
		enc := map[string]any{}
		for k, v := range data {
			enc[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret", "type": typ, "data": enc,
			"metadata": map[string]any{"name": name, "namespace": "default"},
		}}
		if _, err := dyn.Resource(secretGVR).Namespace("default").Create(context.Background(), u,
			metav1.CreateOptions{FieldManager: "kustomize-controller"}); err != nil {
			t.Fatal(err)
		}
	}
	create("existing", "Opaque", map[string]string{"token": "old", "keep": "k"})
	create("tls", "kubernetes.io/tls", map[string]string{"tls.crt": "c", "tls.key": "k"})
	adopt := cfg{KubeconfigPath: cp.KubeconfigPath, Namespace: "default", Name: "existing", Data: map[string]string{"token": "new"}}
	wrongType := cfg{KubeconfigPath: cp.KubeconfigPath, Namespace: "default", Name: "tls", Data: map[string]string{"token": "t"}}
	noNamespace := cfg{KubeconfigPath: cp.KubeconfigPath, Namespace: "absent", Name: "hcloud", Data: map[string]string{"token": "t"}}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{
				Config: wrongType.String(),
				ExpectError: regexp.MustCompile(`(?s)The Secret exists with another type.*` +
					`default/tls already exists with type kubernetes.io/tls.*type = "kubernetes.io/tls"`),
			},
			{
				Config:      noNamespace.String(),
				ExpectError: regexp.MustCompile(`(?s)Creating the Secret failed.*namespace "absent" does not exist`),
			},
			{
				Config: adopt.String(),
				Check:  checkSecret(dyn, "default", "existing", "Opaque", map[string]string{"token": "new"}, nil, "keep"),
			},
		},
		// Destroy deletes the adopted Secret as a whole.
		CheckDestroy: checkGone(dyn, "default", "existing"),
	})
}

// A cluster that went away: the refresh keeps the last known state with a
// warning, and destroy removes the resource from state with a warning
// instead of failing.
func TestAccClusterSecret_clusterGone(t *testing.T) {
	accOnly(t)
	cp := acctest.StartControlPlane(t)
	c := cfg{KubeconfigPath: cp.KubeconfigPath, Name: "hcloud", Data: map[string]string{"token": "t"}}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{
				Config: c.String(),
				Check:  checkSecret(cp.Dyn, "kube-system", "hcloud", "Opaque", c.Data, nil),
			},
			{
				PreConfig: func() { cp.Stop(t) },
				Config:    c.String(),
				PlanOnly:  true,
			},
		},
		// The post-test destroy must succeed against the stopped cluster (an
		// error there fails the test); nothing is left to look at.
		CheckDestroy: func(*terraform.State) error { return nil },
	})
}
