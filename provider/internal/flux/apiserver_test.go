package flux_test

import (
	"testing"

	"github.com/sre-platform/platform/provider/internal/acctest"
)

// startControlPlane is a real etcd + kube-apiserver on loopback for one test
// (acctest.StartControlPlane). No controller-manager runs: nothing schedules
// pods, and namespaces stay Terminating once deleted.
func startControlPlane(t *testing.T) *acctest.ControlPlane {
	t.Helper()
	return acctest.StartControlPlane(t)
}
