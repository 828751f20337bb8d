// Package plantest drives a provider server the way Terraform does for
// `terraform plan -refresh=false` over existing state: upgrade the state
// from the version it was written at, then plan it against a configuration
// that still says what it said. Tests use it to prove that state written by
// an earlier provider version plans without a change.
package plantest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Result is what the plan says.
type Result struct {
	Prior, Planned  tftypes.Value
	RequiresReplace []*tftypes.AttributePath
	Diagnostics     []*tfprotov6.Diagnostic
}

// Changed lists the top-level attributes whose planned value differs from
// the upgraded prior state.
func (r Result) Changed() []string {
	var prior, planned map[string]tftypes.Value
	_ = r.Prior.As(&prior)
	_ = r.Planned.As(&planned)
	var out []string
	for k, v := range prior {
		if !v.Equal(planned[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Warnings returns the summaries of the warning diagnostics.
func (r Result) Warnings() []string {
	var out []string
	for _, d := range r.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityWarning {
			out = append(out, d.Summary)
		}
	}
	return out
}

// UpgradeAndPlan upgrades raw (the resource's state JSON as Terraform stored
// it at schema version) and plans it. The configuration is the upgraded state
// with every computed attribute, and every optional one that has a default or
// is computed, unset, except those named in set (the configuration sets
// them to their value in state).
func UpgradeAndPlan(t testing.TB, srv tfprotov6.ProviderServer, typeName string, version int64, raw []byte, set ...string) Result {
	t.Helper()
	ctx := context.Background()
	sch, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	fail(t, "schema", sch.Diagnostics)
	rs := sch.ResourceSchemas[typeName]
	if rs == nil {
		t.Fatalf("no resource %s", typeName)
	}
	typ := rs.ValueType()

	up, err := srv.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
		TypeName: typeName, Version: version, RawState: &tfprotov6.RawState{JSON: raw}})
	if err != nil {
		t.Fatal(err)
	}
	fail(t, "upgrade", up.Diagnostics)
	prior, err := up.UpgradedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}

	var priorVals map[string]tftypes.Value
	if err := prior.As(&priorVals); err != nil {
		t.Fatal(err)
	}
	vals := maps.Clone(priorVals) // As shares the value's own map
	attrTypes := typ.(tftypes.Object).AttributeTypes
	for _, a := range rs.Block.Attributes {
		if a.Computed && !slices.Contains(set, a.Name) {
			vals[a.Name] = tftypes.NewValue(attrTypes[a.Name], nil)
		}
	}
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: typeName, PriorState: up.UpgradedState, ProposedNewState: up.UpgradedState, Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	fail(t, "plan", plan.Diagnostics)
	planned, err := plan.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	return Result{Prior: prior, Planned: planned, RequiresReplace: plan.RequiresReplace, Diagnostics: plan.Diagnostics}
}

func fail(t testing.TB, step string, diags []*tfprotov6.Diagnostic) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Fatalf("%s: %s", step, fmt.Sprint(d.Summary, ": ", d.Detail))
		}
	}
}
