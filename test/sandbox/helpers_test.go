package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/testenv"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kubeBins gates the tests that start real control planes and returns the
// directory holding kube-apiserver and etcd.
func kubeBins(t testing.TB) string {
	t.Helper()
	if os.Getenv("PLATFORM_SANDBOX_TESTS") != "1" {
		t.Skip("SKIP: starts kube-apiserver and etcd processes; runs with PLATFORM_SANDBOX_TESTS=1 (test/plan/sandbox.yaml)")
	}
	dir, err := FindKubeBinaries("")
	testenv.Require(t, err == nil, "kube-apiserver and etcd (.cache/kube/"+KubeVersion+")", "go tool task kube:build")
	return dir
}

// testSubnet is a random 127.x.y.0/24 so parallel runs do not collide on
// <ip>:6443.
func testSubnet() string {
	return fmt.Sprintf("127.%d.%d", 100+rand.IntN(100), 1+rand.IntN(250))
}

func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}

func nodeReady(ctx context.Context, kc kubernetes.Interface, name string) (*corev1.Node, error) {
	n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return n, nil
			}
			return n, fmt.Errorf("node %s Ready=%s (%s)", name, c.Status, c.Reason)
		}
	}
	return n, fmt.Errorf("node %s has no Ready condition", name)
}

func isUnauthorized(err error) bool {
	var se *apierrors.StatusError
	return errors.As(err, &se) && se.ErrStatus.Code == http.StatusUnauthorized
}

func clientFor(t testing.TB, url string, pki *ClusterPKI, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	cfg, err := ClientConfig(url, pki, user, groups)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
