package flux_test

import (
	"testing"

	"github.com/sre-platform/platform/test/fluxoperator"
	"github.com/sre-platform/platform/test/testenv"
)

// buildOperatorManifest returns the operator's install.yaml for the default
// release, assembled from the flux-operator module's config/ the way its
// config/default kustomization does and cached under
// .cache/flux-operator/<version>/ (test/fluxoperator, the same code as
// `go run ./test/cmd/flux-operator-manifest`).
func buildOperatorManifest(t *testing.T) string {
	t.Helper()
	p, err := fluxoperator.Ensure(testenv.CacheDir(), fluxoperator.DefaultVersion)
	testenv.Require(t, err == nil, "the flux-operator "+fluxoperator.DefaultVersion+" install manifest ("+errString(err)+")",
		"go run ./test/cmd/flux-operator-manifest")
	return p
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
