// Package provider wires the platform provider: its configuration, the shared
// Hetzner client, and the resources it serves.
package provider

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/sre-platform/platform/provider/internal/cluster"
	"github.com/sre-platform/platform/provider/internal/flux"
	"github.com/sre-platform/platform/provider/internal/hcloudx"
	"github.com/sre-platform/platform/provider/internal/kind"
	"github.com/sre-platform/platform/provider/internal/node"
	"github.com/sre-platform/platform/provider/internal/providerdata"
	"github.com/sre-platform/platform/provider/internal/secret"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/sre-platform/platform"

type platformProvider struct{ version string }

// New returns the provider factory.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &platformProvider{version: version} }
}

type model struct {
	HcloudToken      types.String `tfsdk:"hcloud_token"`
	HcloudEndpoint   types.String `tfsdk:"hcloud_endpoint"`
	PollInterval     types.String `tfsdk:"poll_interval"`
	MaxRetries       types.Int64  `tfsdk:"max_retries"`
	RateLimitMaxWait types.String `tfsdk:"rate_limit_max_wait"`
}

func (p *platformProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "platform"
	resp.Version = p.version
}

func (p *platformProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Builds k3s clusters on Hetzner Cloud with provider-made PKI, and installs Flux.",
		Attributes: map[string]schema.Attribute{
			"hcloud_token": schema.StringAttribute{
				Description: "Hetzner Cloud API token (64 characters). Defaults to the HCLOUD_TOKEN environment variable. Needed only by resources that call the Hetzner API.",
				Optional:    true, Sensitive: true,
				Validators: []validator.String{tokenValidator{}},
			},
			"hcloud_endpoint": schema.StringAttribute{
				Description: "Hetzner Cloud API endpoint. Defaults to HCLOUD_ENDPOINT, else " + hcloudx.DefaultEndpoint + ". Point it at the local emulator for offline use (docs/sandbox.md).",
				Optional:    true,
				Validators:  []validator.String{endpointValidator{}},
			},
			"poll_interval": schema.StringAttribute{
				Description: "First wait between polls of a running action, as a Go duration (100ms to 1m). Polls back off exponentially from it (×1.5, jittered) up to ten times this value. Default `1s`.",
				Optional:    true,
				Validators:  []validator.String{durationValidator{min: 100 * time.Millisecond, max: time.Minute}},
			},
			"max_retries": schema.Int64Attribute{
				Description: "Retries of one API request after a 5xx response, a network error or an attempt without an answer within a minute (0 to 20). Default 5.",
				Optional:    true,
				Validators:  []validator.Int64{int64validator.Between(0, 20)},
			},
			"rate_limit_max_wait": schema.StringAttribute{
				Description: "Longest wait for the rate limit to reset after a 429, as a Go duration (0s to 1h). Default `2m`. Each attempt is bounded (one minute); the chain of attempts and waits only by the resource's operation timeout, so any allowed wait holds.",
				Optional:    true,
				Validators:  []validator.String{durationValidator{min: 0, max: time.Hour}},
			},
		},
	}
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9]{64}$`)

func (p *platformProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m model
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	token := os.Getenv("HCLOUD_TOKEN")
	if !m.HcloudToken.IsNull() && !m.HcloudToken.IsUnknown() {
		token = m.HcloudToken.ValueString()
	}
	endpoint := os.Getenv("HCLOUD_ENDPOINT")
	if !m.HcloudEndpoint.IsNull() && !m.HcloudEndpoint.IsUnknown() {
		endpoint = m.HcloudEndpoint.ValueString()
	}
	if endpoint != "" {
		if err := checkEndpoint(endpoint); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("hcloud_endpoint"), "Invalid Hetzner Cloud endpoint", err.Error())
		}
	}
	if token != "" && !tokenRe.MatchString(token) {
		resp.Diagnostics.AddAttributeError(path.Root("hcloud_token"), "Invalid Hetzner Cloud token",
			"The token (from hcloud_token or HCLOUD_TOKEN) must be exactly 64 letters and digits.")
	}
	poll := durationOr(m.PollInterval, time.Second)
	wait := durationOr(m.RateLimitMaxWait, 2*time.Minute)
	retry := hcloudx.DefaultRetryPolicy()
	retry.MaxRateLimitWait = wait
	if !m.MaxRetries.IsNull() && !m.MaxRetries.IsUnknown() {
		retry.MaxRetries = int(m.MaxRetries.ValueInt64())
	}
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerdata.Data{PollInterval: poll, Version: p.version}
	if token != "" {
		data.Hcloud = hcloudx.NewClient(hcloudx.Config{
			Token: token, Endpoint: endpoint, PollInterval: poll, PollMaxInterval: 10 * poll,
			Retry: retry, Version: p.version,
			Log: func(ctx context.Context, msg string, f map[string]any) { tflog.Debug(ctx, msg, f) },
		})
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *platformProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{cluster.NewResource, node.NewServer, node.NewAgent, flux.NewResource, kind.NewResource,
		secret.NewResource}
}

func (p *platformProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{node.NewAgentCloudInit}
}

func durationOr(v types.String, def time.Duration) time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	d, err := time.ParseDuration(v.ValueString())
	if err != nil {
		return def
	}
	return d
}

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL such as %s", s, hcloudx.DefaultEndpoint)
	}
	return nil
}

type tokenValidator struct{}

func (tokenValidator) Description(context.Context) string {
	return "must be exactly 64 letters and digits"
}
func (v tokenValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (tokenValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !tokenRe.MatchString(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Hetzner Cloud token",
			"hcloud_token must be exactly 64 letters and digits (create one in the Hetzner Cloud console under Security → API tokens).")
	}
}

type endpointValidator struct{}

func (endpointValidator) Description(context.Context) string { return "must be an http(s) URL" }
func (v endpointValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (endpointValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkEndpoint(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Hetzner Cloud endpoint", err.Error())
	}
}

type durationValidator struct{ min, max time.Duration }

func (v durationValidator) Description(context.Context) string {
	return fmt.Sprintf("a Go duration between %s and %s", v.min, v.max)
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d < v.min || d > v.max {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q must be %s, e.g. \"1s\" or \"500ms\".", req.ConfigValue.ValueString(), v.Description(context.Background())))
	}
}
