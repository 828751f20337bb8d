// Package cluster implements platform_k3s_cluster: the cluster's identity —
// server and agent tokens, CAs, service-account key and an admin certificate — generated
// locally, and the kubeconfig rendered from them.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/stateupgrade"
)

// Name rules shared with servers: a DNS label, since it prefixes node names.
var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

type clusterResource struct{}

// NewResource is the factory the provider registers.
func NewResource() resource.Resource { return &clusterResource{} }

var (
	_ resource.Resource                 = &clusterResource{}
	_ resource.ResourceWithModifyPlan   = &clusterResource{}
	_ resource.ResourceWithUpgradeState = &clusterResource{}
)

type model struct {
	ID                     types.String `tfsdk:"id"`
	Name                   types.String `tfsdk:"name"`
	K3sVersion             types.String `tfsdk:"k3s_version"`
	APIEndpoint            types.String `tfsdk:"api_endpoint"`
	CAValidityDays         types.Int64  `tfsdk:"ca_validity_days"`
	AdminValidityDays      types.Int64  `tfsdk:"admin_validity_days"`
	Token                  types.String `tfsdk:"token"`
	AgentToken             types.String `tfsdk:"agent_token"`
	ServerBundle           types.String `tfsdk:"server_bundle"`
	ServerCACertificate    types.String `tfsdk:"server_ca_certificate"`
	ClientCACertificate    types.String `tfsdk:"client_ca_certificate"`
	AdminClientCertificate types.String `tfsdk:"admin_client_certificate"`
	AdminClientKey         types.String `tfsdk:"admin_client_key"`
	CAExpiresAt            types.String `tfsdk:"ca_expires_at"`
	AdminExpiresAt         types.String `tfsdk:"admin_expires_at"`
	Kubeconfig             types.String `tfsdk:"kubeconfig"`
}

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_k3s_cluster"
}

func (r *clusterResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = clusterSchema()
}

// Schema versions: 0 had no agent_token (agents joined with the server token).
const schemaVersion = 1

func clusterSchema() schema.Schema {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return schema.Schema{
		Version: schemaVersion,
		Description: "A k3s cluster's identity: the server token, a separate agent token, the CAs k3s uses (server, " +
			"client, request-header, etcd peer and server), the service-account signing key and an admin client " +
			"certificate, all generated locally (ECDSA P-256). Servers take `server_bundle`, agents `agent_token`; " +
			"the kubeconfig is rendered from this PKI, so no SSH is needed. Rotating the CAs is a replace: " +
			"`terraform apply -replace=...`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "Random cluster ID.", PlanModifiers: keep},
			"name": schema.StringAttribute{
				Required: true, Description: "Cluster name: a DNS label (lowercase letters, digits, '-'; at most 63). Changing it replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(nameRe,
					"must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")},
			},
			"k3s_version": schema.StringAttribute{
				Required: true, Description: "k3s release servers and agents install by default, e.g. `v1.31.4+k3s1` (validated as `vX.Y.Z+k3sN`).",
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^v\d+\.\d+\.\d+\+k3s\d+$`),
					"must be a k3s release of the form vX.Y.Z+k3sN, e.g. v1.31.4+k3s1")},
			},
			"api_endpoint": schema.StringAttribute{
				Optional: true, Description: "Host name or IP of the Kubernetes API (the API load balancer, or a server's IP). Needed for `kubeconfig`.",
				Validators: []validator.String{endpointValidator{}},
			},
			"ca_validity_days": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(3650),
				Description:   "Validity of the CAs in days (365 to 36500). Default 3650. Changing it replaces the cluster's PKI.",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
				Validators:    []validator.Int64{int64validator.Between(365, 36500)},
			},
			"admin_validity_days": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(365),
				Description: "Validity of the admin client certificate in days (1 to 3650). Default 365. Changing it issues a new admin certificate in place.",
				Validators:  []validator.Int64{int64validator.Between(1, 3650)},
			},
			"token": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "k3s secure server token (K10<CA hash>::server:<secret>). It lets its holder join as a server and read the cluster's CA keys: servers get it through `server_bundle`; never give it to an agent."},
			"agent_token": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "k3s secure agent token (K10<CA hash>::node:<secret>) for platform_k3s_agent's `token`: it joins agents only. " +
					"Servers accept it as `agent-token`. Clusters created by provider versions before agent tokens keep agents on the server token " +
					"(this attribute then equals `token`, and plans warn), because their servers were never told an agent token."},
			"server_bundle":         schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep, Description: "Everything a platform_k3s_server needs (server and agent tokens, CAs and keys), as one value."},
			"server_ca_certificate": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "PEM of the CA that signs the API server certificates (clients trust it)."},
			"client_ca_certificate": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "PEM of the CA that signs client certificates."},
			"ca_expires_at":         schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "When the CAs expire (RFC 3339)."},
			"admin_client_certificate": schema.StringAttribute{Computed: true, Sensitive: true,
				Description: "PEM admin client certificate (CN system:admin, O system:masters)."},
			"admin_client_key": schema.StringAttribute{Computed: true, Sensitive: true, Description: "PEM key of the admin client certificate."},
			"admin_expires_at": schema.StringAttribute{Computed: true, Description: "When the admin certificate expires (RFC 3339)."},
			"kubeconfig": schema.StringAttribute{Computed: true, Sensitive: true,
				Description: "Admin kubeconfig for https://<api_endpoint>:6443; null while api_endpoint is unset."},
		},
	}
}

// UpgradeState moves version 0 state (no agent_token) to version 1. Those
// clusters' servers were created without `agent-token`, so they accept
// agents with the server token only: agent_token takes the server token and
// server_bundle stays as it is. Existing servers and agents then render the
// same cloud-init, and the plan is empty (with a warning, see ModifyPlan).
func (r *clusterResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: stateupgrade.Added(clusterSchema(), func(prior map[string]tftypes.Value) (map[string]tftypes.Value, error) {
			return map[string]tftypes.Value{"agent_token": prior["token"]}, nil
		}, "agent_token"),
	}
}

// ModifyPlan keeps generated values stable and marks exactly what an update
// changes: the admin certificate when its validity changes, the kubeconfig
// when the endpoint or the admin certificate changes.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var plan, state model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.Token.IsNull() && state.AgentToken.Equal(state.Token) {
		resp.Diagnostics.AddWarning("Agents of this cluster hold the server token",
			fmt.Sprintf("Cluster %q was created before agents had a token of their own, so its servers accept agents only "+
				"with the server token, and agent_token equals token. Any agent (and any pod that can read the agent's user "+
				"data) can join as a server and read the CA keys. Rebuild the cluster to separate them "+
				"(docs/runbooks/environment-lifecycle.md); new clusters get a separate agent token.", state.Name.ValueString()))
	}
	adminChanges := !plan.AdminValidityDays.Equal(state.AdminValidityDays)
	if !adminChanges {
		plan.AdminClientCertificate = state.AdminClientCertificate
		plan.AdminClientKey = state.AdminClientKey
		plan.AdminExpiresAt = state.AdminExpiresAt
	}
	switch {
	case plan.APIEndpoint.IsUnknown() || adminChanges:
		plan.Kubeconfig = types.StringUnknown()
	case plan.APIEndpoint.IsNull():
		plan.Kubeconfig = types.StringNull()
	case plan.APIEndpoint.Equal(state.APIEndpoint):
		plan.Kubeconfig = state.Kubeconfig
	default:
		plan.Kubeconfig = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	now := time.Now()
	p, err := k3s.GeneratePKI(k3s.PKIOptions{
		ClusterName:   m.Name.ValueString(),
		CAValidity:    days(m.CAValidityDays.ValueInt64()),
		AdminValidity: days(m.AdminValidityDays.ValueInt64()),
		Now:           now,
	})
	if err != nil {
		resp.Diagnostics.AddError("Generating the cluster PKI failed", err.Error())
		return
	}
	token, err := k3s.NewToken(p.ServerCA.CertPEM)
	if err != nil {
		resp.Diagnostics.AddError("Generating the cluster token failed", err.Error())
		return
	}
	agentToken, err := k3s.NewAgentToken(p.ServerCA.CertPEM)
	if err != nil {
		resp.Diagnostics.AddError("Generating the agent token failed", err.Error())
		return
	}
	bundle, err := k3s.NewBundle(m.Name.ValueString(), token, agentToken, p).Encode()
	if err != nil {
		resp.Diagnostics.AddError("Encoding the server bundle failed", err.Error())
		return
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		resp.Diagnostics.AddError("Generating the cluster ID failed", err.Error())
		return
	}
	m.ID = types.StringValue(hex.EncodeToString(id))
	m.Token = types.StringValue(token)
	m.AgentToken = types.StringValue(agentToken)
	m.ServerBundle = types.StringValue(bundle)
	m.ServerCACertificate = types.StringValue(p.ServerCA.CertPEM)
	m.ClientCACertificate = types.StringValue(p.ClientCA.CertPEM)
	m.CAExpiresAt = types.StringValue(now.Add(days(m.CAValidityDays.ValueInt64())).UTC().Format(time.RFC3339))
	setAdmin(&m, p.Admin, now, m.AdminValidityDays.ValueInt64())
	resp.Diagnostics.Append(renderKubeconfig(&m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Read has nothing remote to refresh: the cluster lives in state only.
func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m model
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state model
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.AdminClientCertificate.IsUnknown() {
		b, err := k3s.DecodeBundle(state.ServerBundle.ValueString())
		if err != nil {
			resp.Diagnostics.AddError("Cluster state is damaged", err.Error())
			return
		}
		caCert, caKey, err := k3s.ParseKeyPair(b.ClientCA)
		if err != nil {
			resp.Diagnostics.AddError("Cluster state is damaged", err.Error())
			return
		}
		now := time.Now()
		admin, err := k3s.SignClient(caCert, caKey, "system:admin", []string{"system:masters"}, now, days(plan.AdminValidityDays.ValueInt64()))
		if err != nil {
			resp.Diagnostics.AddError("Issuing the admin certificate failed", err.Error())
			return
		}
		setAdmin(&plan, admin, now, plan.AdminValidityDays.ValueInt64())
	}
	resp.Diagnostics.Append(renderKubeconfig(&plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete forgets the PKI; there is nothing remote to remove.
func (r *clusterResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

func days(n int64) time.Duration { return time.Duration(n) * 24 * time.Hour }

func setAdmin(m *model, kp k3s.KeyPair, now time.Time, validity int64) {
	m.AdminClientCertificate = types.StringValue(kp.CertPEM)
	m.AdminClientKey = types.StringValue(kp.KeyPEM)
	cert, _, err := k3s.ParseKeyPair(kp)
	if err == nil {
		m.AdminExpiresAt = types.StringValue(cert.NotAfter.UTC().Format(time.RFC3339))
	} else {
		m.AdminExpiresAt = types.StringValue(now.Add(days(validity)).UTC().Format(time.RFC3339))
	}
}

func renderKubeconfig(m *model) (diags diag.Diagnostics) {
	if m.APIEndpoint.IsNull() || m.APIEndpoint.ValueString() == "" {
		m.Kubeconfig = types.StringNull()
		return nil
	}
	p := &k3s.PKI{
		ServerCA: k3s.KeyPair{CertPEM: m.ServerCACertificate.ValueString()},
		Admin:    k3s.KeyPair{CertPEM: m.AdminClientCertificate.ValueString(), KeyPEM: m.AdminClientKey.ValueString()},
	}
	kc, err := k3s.Kubeconfig(m.Name.ValueString(), m.APIEndpoint.ValueString(), p)
	if err != nil {
		diags.AddAttributeError(path.Root("kubeconfig"), "Rendering the kubeconfig failed", err.Error())
		return diags
	}
	m.Kubeconfig = types.StringValue(kc)
	return nil
}

var hostRe = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

type endpointValidator struct{}

func (endpointValidator) Description(context.Context) string {
	return "a DNS name or an IP address, without scheme or port"
}
func (v endpointValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v endpointValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if net.ParseIP(s) == nil && (len(s) > 253 || !hostRe.MatchString(s)) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid API endpoint",
			fmt.Sprintf("%q must be %s, e.g. \"203.0.113.10\" or \"api.example.com\".", s, v.Description(ctx)))
	}
}
