// Package providerdata is what the provider hands to each resource.
package providerdata

import (
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// Data is configured once per provider block.
type Data struct {
	// Hcloud is nil when no token is configured; resources that need the API
	// report that with Require.
	Hcloud       *hcloud.Client
	PollInterval time.Duration
	Version      string
}

// From converts the framework's ProviderData (nil before configuration).
func From(v any, diags *diag.Diagnostics) *Data {
	if v == nil {
		return nil
	}
	d, ok := v.(*Data)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("got %T", v))
		return nil
	}
	return d
}

// RequireHcloud reports a clear error when the API client is missing.
func (d *Data) RequireHcloud(diags *diag.Diagnostics) *hcloud.Client {
	if d == nil || d.Hcloud == nil {
		diags.AddError("Hetzner Cloud token missing",
			"Set hcloud_token in the platform provider block or the HCLOUD_TOKEN environment variable.")
		return nil
	}
	return d.Hcloud
}
