package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

// agentCloudInitSource is platform_k3s_agent_cloudinit: the cloud-init of an
// agent that something other than Terraform creates (the cluster
// autoscaler), rendered by the same code as platform_k3s_agent's, so such
// agents join exactly as Terraform's do.
type agentCloudInitSource struct{}

// NewAgentCloudInit is the platform_k3s_agent_cloudinit factory.
func NewAgentCloudInit() datasource.DataSource { return &agentCloudInitSource{} }

var _ datasource.DataSourceWithConfigValidators = &agentCloudInitSource{}

type agentCloudInitModel struct {
	K3sVersion    types.String `tfsdk:"k3s_version"`
	Token         types.String `tfsdk:"token"`
	ServerURL     types.String `tfsdk:"server_url"`
	NodeName      types.String `tfsdk:"node_name"`
	NodeLabels    types.Map    `tfsdk:"node_labels"`
	NodeTaints    types.List   `tfsdk:"node_taints"`
	FlannelIface  types.String `tfsdk:"flannel_iface"`
	ExternalCloud types.Bool   `tfsdk:"external_cloud_provider"`
	UserData      types.String `tfsdk:"user_data"`
	SHA256        types.String `tfsdk:"sha256"`
}

func (d *agentCloudInitSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_k3s_agent_cloudinit"
}

func (d *agentCloudInitSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The cloud-init user data of a k3s agent, rendered by the same code as " +
			"`platform_k3s_agent`'s: the agent's k3s config, the metadata guard and the pinned, checksum-verified k3s " +
			"install. For agents created outside Terraform from one shared cloud-init — the cluster autoscaler's node " +
			"groups (`HCLOUD_CLUSTER_CONFIG`) — so they join the cluster exactly like Terraform's agents. Without " +
			"`node_name` the cloud-init names no node: each machine joins under the host name Hetzner gives it (its " +
			"server name), as the autoscaler expects. Rendered locally; nothing is created.",
		Attributes: map[string]schema.Attribute{
			"k3s_version": schema.StringAttribute{Required: true,
				MarkdownDescription: "k3s release to install, e.g. `v1.31.4+k3s1`: the cluster's, like its Terraform-managed agents.",
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^v\d+\.\d+\.\d+\+k3s\d+$`),
					"must be a k3s release of the form vX.Y.Z+k3sN, e.g. v1.31.4+k3s1")}},
			"token": schema.StringAttribute{Required: true, Sensitive: true,
				MarkdownDescription: "The cluster's `agent_token`, which joins agents only. Never the server `token` (a warning says so)."},
			"server_url": schema.StringAttribute{Required: true,
				MarkdownDescription: "API URL the agent joins (`https://host:6443`): a server's private address or the API load balancer's.",
				Validators:          []validator.String{serverURLValidator{}}},
			"node_name": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Kubernetes node name and host name. Leave it unset for a cloud-init shared by many machines " +
					"(an autoscaled pool): each then joins under its own host name.",
				Validators: []validator.String{stringvalidator.RegexMatches(dnsLabelRe, "must be a DNS label")}},
			"node_labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Kubernetes node labels set at registration (k3s `node-label`).",
				Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.RegexMatches(labelKeyRe, "must be a valid Kubernetes label key")),
					mapvalidator.ValueStringsAre(stringvalidator.RegexMatches(labelValueRe, "must be a valid Kubernetes label value"))}},
			"node_taints": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Taints set at registration, `key[=value]:Effect` (k3s `node-taint`).",
				Validators:          []validator.List{listvalidator.ValueStringsAre(taintValidator{})}},
			"flannel_iface": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Interface flannel uses (e.g. `enp7s0` for the private network)."},
			"external_cloud_provider": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "The kubelet runs with `cloud-provider=external` and waits for an external cloud controller " +
					"(the Hetzner cloud-controller-manager, which also sets the `hcloud://` provider ID the cluster autoscaler " +
					"matches nodes by). Set it as on the cluster's other nodes. Default false."},
			"user_data": schema.StringAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "The `#cloud-config` user data (it holds the agent token). At most 32 KiB, Hetzner's limit."},
			"sha256": schema.StringAttribute{Computed: true,
				MarkdownDescription: "SHA-256 of `user_data` in hex: changes whenever the rendered cloud-init does, without revealing it."},
		},
	}
}

func (d *agentCloudInitSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{agentTokenWarning{}}
}

// agentTokenWarning warns, at validation, when the token is a server token.
type agentTokenWarning struct{}

func (agentTokenWarning) Description(context.Context) string {
	return "warns when token is a k3s server token"
}
func (v agentTokenWarning) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (agentTokenWarning) ValidateDataSource(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var tok types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("token"), &tok)...)
	if !tok.IsNull() && !tok.IsUnknown() && k3s.IsServerToken(tok.ValueString()) {
		resp.Diagnostics.AddAttributeWarning(path.Root("token"), "The agent cloud-init is given the server token",
			"token is a k3s server token (K10…::server:…): every machine booted from this cloud-init could join the cluster "+
				"as a server and read its CA keys, and its user data (readable on the node) carries it. Pass the cluster's agent_token.")
	}
}

// model is the platform_k3s_agent view of the data source's inputs: the
// agent's own render path produces the user data.
func (m *agentCloudInitModel) model() *nodeModel {
	return &nodeModel{role: k3s.RoleAgent, Token: m.Token, common: common{
		K3sVersion: m.K3sVersion, ServerURL: m.ServerURL, NodeName: m.NodeName, NodeLabels: m.NodeLabels,
		NodeTaints: m.NodeTaints, FlannelIface: m.FlannelIface, ExternalCloud: m.ExternalCloud,
		// A machine booted from this cloud-init is a new node: it gets the guard.
		MetadataGuard: types.BoolValue(true),
	}}
}

func (d *agentCloudInitSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m agentCloudInitModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ud, err := m.model().render(ctx, types.StringNull())
	if err != nil {
		resp.Diagnostics.AddError("Invalid k3s agent configuration", err.Error())
		return
	}
	sum := sha256.Sum256([]byte(ud))
	m.UserData = types.StringValue(ud)
	m.SHA256 = types.StringValue(hex.EncodeToString(sum[:]))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
