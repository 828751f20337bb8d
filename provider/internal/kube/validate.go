package kube

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/client-go/tools/clientcmd"
)

// ValidKubeconfig is the plan-time check every `kubeconfig` attribute uses:
// the value loads as a kubeconfig with a current context. Unknown values
// (another resource's output) are checked when they are known.
var ValidKubeconfig validator.String = kubeconfigValidator{}

type kubeconfigValidator struct{}

func (kubeconfigValidator) Description(context.Context) string {
	return "a kubeconfig with a current context"
}

func (v kubeconfigValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (kubeconfigValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := clientcmd.RESTConfigFromKubeConfig([]byte(req.ConfigValue.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid kubeconfig", "the kubeconfig does not load: "+err.Error())
	}
}
