// Package tfval holds the plan-time attribute validators the provider's
// resources share.
package tfval

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/client-go/tools/clientcmd"
)

// StringCheck adapts a func to a validator.String: a failing check becomes
// an attribute error with Summary as its title. Null and unknown values (the
// latter checked once known) pass.
type StringCheck struct {
	Desc, Summary string
	Check         func(string) error
}

// Description says what a valid value is (Desc).
func (v StringCheck) Description(context.Context) string { return v.Desc }

// MarkdownDescription is Description (Desc carries no markup).
func (v StringCheck) MarkdownDescription(ctx context.Context) string { return v.Desc }

// ValidateString runs Check on a known, non-null value.
func (v StringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.Check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.Summary, err.Error())
	}
}

// Kubeconfig is the check every `kubeconfig` attribute uses: the value loads
// as a kubeconfig with a current context.
var Kubeconfig validator.String = StringCheck{
	Desc: "a kubeconfig with a current context", Summary: "Invalid kubeconfig",
	Check: func(s string) error {
		if _, err := clientcmd.RESTConfigFromKubeConfig([]byte(s)); err != nil {
			return fmt.Errorf("the kubeconfig does not load: %w", err)
		}
		return nil
	},
}
