package kind

import (
	"context"
	"fmt"
	"net"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// imageRe is a loose container image reference: [registry/]path[:tag][@digest].
var imageRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

type ipValidator struct{}

func (ipValidator) Description(context.Context) string { return "an IPv4 or IPv6 address" }
func (v ipValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (ipValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if net.ParseIP(req.ConfigValue.ValueString()) == nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid listen address",
			fmt.Sprintf("%q is not an IP address (e.g. 127.0.0.1 or 0.0.0.0).", req.ConfigValue.ValueString()))
	}
}

type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "a Go duration between 0s and 1h"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseWait(types.StringValue(req.ConfigValue.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration", err.Error())
	}
}
