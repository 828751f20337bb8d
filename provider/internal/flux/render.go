package flux

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// RenderPlanned returns the FluxInstance object the resource applies for a
// planned value of platform_flux_instance (the same model and renderer as
// Create and Update). It lets tools render what Terraform would apply
// without a cluster.
func RenderPlanned(ctx context.Context, planned tftypes.Value) (map[string]any, error) {
	var sr resource.SchemaResponse
	NewResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	var m model
	if diags := (tfsdk.Plan{Schema: sr.Schema, Raw: planned}).Get(ctx, &m); diags.HasError() {
		return nil, fmt.Errorf("decoding the planned platform_flux_instance: %v", diags)
	}
	return m.fluxInstance(), nil
}
