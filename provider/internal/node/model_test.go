package node

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

// A node saved in state before its create has finished (so a later failure
// leaves it tainted, not orphaned) must hold no unknown values: Terraform
// rejects those after an apply. The model starts as a plan does: every
// computed attribute unknown, inputs known.
func TestSettledStateHasNoUnknownValues(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		role k3s.Role
		s    schema.Schema
	}{{k3s.RoleServer, serverSchema()}, {k3s.RoleAgent, agentSchema()}} {
		t.Run(string(tc.role), func(t *testing.T) {
			typ := tc.s.Type().TerraformType(ctx).(tftypes.Object)
			vals := map[string]tftypes.Value{}
			n := 0
			for name, at := range typ.AttributeTypes {
				a := tc.s.Attributes[name]
				switch {
				case name == "kubeconfig" && tc.role == k3s.RoleAgent: // an input there
					vals[name] = tftypes.NewValue(at, "apiVersion: v1")
				case a.IsComputed() && !hasDefault(a) && name != "id": // id: set once the server exists
					vals[name] = tftypes.NewValue(at, tftypes.UnknownValue)
					n++
				default:
					vals[name] = tftypes.NewValue(at, nil)
				}
			}
			if n < 5 {
				t.Fatalf("only %d computed attributes in the schema", n)
			}
			m, d := load(ctx, tc.role, tfsdk.Plan{Schema: tc.s, Raw: tftypes.NewValue(typ, vals)})
			if d.HasError() {
				t.Fatal(d)
			}
			st := tfsdk.State{Schema: tc.s, Raw: tftypes.NewValue(typ, nil)}
			if d := store(ctx, &st, m.settled()); d.HasError() {
				t.Fatal(d)
			}
			_ = tftypes.Walk(st.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (bool, error) {
				if !v.IsKnown() {
					t.Errorf("%s is unknown in the saved state", p)
				}
				return true, nil
			})
			if tc.role == k3s.RoleAgent && m.settled().Kubeconfig.ValueString() != "apiVersion: v1" {
				t.Errorf("agent kubeconfig input changed")
			}
			if !m.Status.IsUnknown() {
				t.Error("settled changed the model it copies")
			}
		})
	}
}

// hasDefault: an optional attribute with a schema default is known in a plan.
func hasDefault(a schema.Attribute) bool {
	f := reflect.ValueOf(a).FieldByName("Default")
	return f.IsValid() && !f.IsNil()
}
