// Package acctest holds what the provider's acceptance tests share: the
// in-process provider factory and the terraform CLI they run.
package acctest

import (
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/sre-platform/platform/provider/internal/provider"
	"github.com/sre-platform/platform/test/testenv"
)

// Factories serves the provider in-process under its local name.
var Factories = map[string]func() (tfprotov6.ProviderServer, error){
	"platform": providerserver.NewProtocol6WithError(provider.New("acctest")()),
}

// PreCheck makes sure the acceptance run has terraform; terraform-plugin-testing
// itself skips every acceptance test unless TF_ACC is set.
func PreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		return
	}
	bin, ok := testenv.LookPath("terraform")
	testenv.Require(t, ok, "terraform CLI", "go tool task tf:check")
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Setenv("TF_ACC_TERRAFORM_PATH", bin)
	}
}
