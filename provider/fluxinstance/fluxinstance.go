// Package fluxinstance renders, without a cluster, the FluxInstance that
// platform_flux_instance applies for a configuration: the provider validates
// and plans it in process (validators, defaults, plan modifiers), and the
// resource's own renderer turns the plan into the object. The repository's
// reference FluxInstances (flux/clusters/*/flux-system) are generated with it
// (test/cmd/flux-instances).
package fluxinstance

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/sre-platform/platform/provider/internal/flux"
	"github.com/sre-platform/platform/provider/internal/provider"
)

// TypeName is the resource this package renders.
const TypeName = "platform_flux_instance"

func server(ctx context.Context) (tfprotov6.ProviderServer, tftypes.Object, error) {
	srv := providerserver.NewProtocol6(provider.New("render")())()
	resp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		return nil, tftypes.Object{}, err
	}
	if err := diagError(resp.Diagnostics); err != nil {
		return nil, tftypes.Object{}, err
	}
	s, ok := resp.ResourceSchemas[TypeName]
	if !ok {
		return nil, tftypes.Object{}, fmt.Errorf("the provider has no resource %s", TypeName)
	}
	return srv, s.ValueType().(tftypes.Object), nil
}

// ConfigType is the Terraform type of a platform_flux_instance
// configuration (every attribute; unset ones are null).
func ConfigType(ctx context.Context) (tftypes.Object, error) {
	_, typ, err := server(ctx)
	return typ, err
}

// Render validates and plans config (of ConfigType) as a create and returns
// the FluxInstance the resource would apply.
func Render(ctx context.Context, config tftypes.Value) (map[string]any, error) {
	srv, typ, err := server(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := tfprotov6.NewDynamicValue(typ, config)
	if err != nil {
		return nil, err
	}
	vr, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: TypeName, Config: &cfg})
	if err != nil {
		return nil, err
	}
	if err := diagError(vr.Diagnostics); err != nil {
		return nil, err
	}
	prior, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		return nil, err
	}
	pr, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: TypeName, PriorState: &prior, ProposedNewState: &cfg, Config: &cfg,
	})
	if err != nil {
		return nil, err
	}
	if err := diagError(pr.Diagnostics); err != nil {
		return nil, err
	}
	planned, err := pr.PlannedState.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	return flux.RenderPlanned(ctx, planned)
}

func diagError(ds []*tfprotov6.Diagnostic) error {
	var msgs []string
	for _, d := range ds {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			msgs = append(msgs, d.Summary+": "+d.Detail)
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}
