// Package stateupgrade moves a resource's state to a schema version that
// only added attributes: the prior schema is the current one without them,
// and the upgrade fills them from the prior values, so state written by an
// earlier provider plans without a change.
package stateupgrade

import (
	"context"
	"fmt"
	"maps"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Fill returns the values of the added attributes, given the prior state's
// top-level values by attribute name.
type Fill func(prior map[string]tftypes.Value) (map[string]tftypes.Value, error)

// Added is the upgrader from the version before the attributes named added
// existed to current.
func Added(current schema.Schema, fill Fill, added ...string) resource.StateUpgrader {
	prior := current
	prior.Version = 0
	prior.Attributes = maps.Clone(current.Attributes)
	for _, name := range added {
		delete(prior.Attributes, name)
	}
	return resource.StateUpgrader{
		PriorSchema: &prior,
		StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
			vals := map[string]tftypes.Value{}
			if err := req.State.Raw.As(&vals); err != nil {
				resp.Diagnostics.AddError("Upgrading the state failed", err.Error())
				return
			}
			extra, err := fill(vals)
			if err != nil {
				resp.Diagnostics.AddError("Upgrading the state failed", err.Error())
				return
			}
			for _, name := range added {
				v, ok := extra[name]
				if !ok {
					resp.Diagnostics.AddError("Upgrading the state failed", fmt.Sprintf("no value for the new attribute %q", name))
					return
				}
				vals[name] = v
			}
			typ := current.Type().TerraformType(ctx)
			if err := tftypes.ValidateValue(typ, vals); err != nil {
				resp.Diagnostics.AddError("Upgrading the state failed", err.Error())
				return
			}
			resp.State.Raw = tftypes.NewValue(typ, vals)
		},
	}
}
