package node

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

var (
	dnsLabelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// Kubernetes label key: optional DNS prefix, then a name of up to 63.
	labelKeyRe   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValueRe = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	// Hetzner label keys and values follow the same rules as Kubernetes'.
	hcloudLabelKeyRe = labelKeyRe
)

const defaultImage = "ubuntu-24.04"

// Values of upgrade_strategy.
const (
	StrategyReplace = "replace"
	StrategyInPlace = "in-place"
)

var k3sVersionRe = regexp.MustCompile(`^v\d+\.\d+\.\d+\+k3s\d+$`)

func commonAttributes(role k3s.Role) map[string]schema.Attribute {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	word := "server"
	if role == k3s.RoleAgent {
		word = "agent"
	}
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Hetzner server ID; import with it."},
		"name": schema.StringAttribute{Required: true,
			Description: "Hetzner server name (a DNS label). Renaming updates the server in place; the Kubernetes node keeps `node_name`.",
			Validators:  []validator.String{stringvalidator.RegexMatches(dnsLabelRe, "must be a DNS label: lowercase letters, digits and '-', at most 63 characters")}},
		"node_name": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: keep,
			Description: "Kubernetes node name; defaults to `name` at creation. Part of the cloud-init: changing it replaces the " + word + ".",
			Validators:  []validator.String{stringvalidator.RegexMatches(dnsLabelRe, "must be a DNS label")}},
		"server_type": schema.StringAttribute{Required: true,
			Description: "Hetzner server type, e.g. `cx22`. Changing it powers the server off, changes the type (disk kept) and powers it on again, in place.",
			Validators:  []validator.String{stringvalidator.LengthAtLeast(1)}},
		"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultImage),
			Description: "Image name or ID. Default `" + defaultImage + "`. Changing it replaces the " + word + "."},
		"location": schema.StringAttribute{Required: true, PlanModifiers: replace,
			Description: "Hetzner location, e.g. `fsn1`. Changing it replaces the " + word + ".",
			Validators:  []validator.String{stringvalidator.LengthAtLeast(1)}},
		"ssh_keys": schema.ListAttribute{Optional: true, ElementType: types.StringType,
			Description: "SSH key names or IDs installed at creation (Hetzner applies them only then). Changing them replaces the " + word + ".",
			Validators:  []validator.List{listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
		"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
			Description: "Hetzner labels, updated in place. The provider adds `platform.sre/role` and `platform.sre/config-hash`; those keys are reserved.",
			Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.RegexMatches(hcloudLabelKeyRe, "must be a valid label key")),
				mapvalidator.ValueStringsAre(stringvalidator.RegexMatches(labelValueRe, "must be a valid label value (at most 63 of A-Z a-z 0-9 - _ .)")),
				reservedLabels{}}},
		"network_id": schema.Int64Attribute{Optional: true,
			Description: "Private network to attach, in place. Without `private_ip` the node discovers its address from the metadata service at boot."},
		"private_ip": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: keep,
			Description: "Private IPv4 in `network_id`; when set it is also the node's `node-ip` (part of the cloud-init).",
			Validators:  []validator.String{ipv4Validator{}}},
		"firewall_ids": schema.SetAttribute{Optional: true, ElementType: types.Int64Type,
			Description: "Firewalls applied to the server, in place."},
		"placement_group_id": schema.Int64Attribute{Optional: true,
			PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			Description:   "Spread placement group. Changing it replaces the " + word + "."},
		"enable_ipv4": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			Description:   "Public IPv4. Default true. Changing it replaces the " + word + "."},
		"enable_ipv6": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			Description:   "Public IPv6. Default true. Changing it replaces the " + word + "."},
		"k3s_version": schema.StringAttribute{Required: true,
			Description: "k3s release of the " + word + ", e.g. `v1.31.4+k3s1` (checksum-verified on the host). What a change does depends on " +
				"`upgrade_strategy`: with `replace` the " + word + " is replaced (a new server boots the release); with `in-place` it is kept and " +
				"an in-cluster upgrade (the system-upgrade-controller's Plans) moves it to the release, while `running_k3s_version` and a " +
				"plan warning show where it stands.",
			Validators: []validator.String{stringvalidator.RegexMatches(k3sVersionRe,
				"must be a k3s release of the form vX.Y.Z+k3sN, e.g. v1.31.4+k3s1")}},
		"upgrade_strategy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(StrategyReplace),
			Description: "How a `k3s_version` change reaches the " + word + ": `replace` (default) bakes the release into the cloud-init, so a " +
				"change replaces the " + word + "; `in-place` keeps the " + word + " (its cloud-init keeps `installed_k3s_version`) and leaves the " +
				"upgrade to the system-upgrade-controller in the cluster. Changing the strategy alone changes nothing on the server; " +
				"switching to `replace` while `installed_k3s_version` differs from `k3s_version` replaces the " + word + ".",
			Validators: []validator.String{stringvalidator.OneOf(StrategyReplace, StrategyInPlace)}},
		"installed_k3s_version": schema.StringAttribute{Computed: true,
			Description: "The k3s release the " + word + "'s cloud-init installs: `k3s_version` when the server was created or last replaced. " +
				"With `upgrade_strategy = \"in-place\"` it stays when `k3s_version` changes (the server is not replaced)."},
		"running_k3s_version": schema.StringAttribute{Computed: true, PlanModifiers: keep,
			Description: "The release the node's kubelet reports (`status.nodeInfo.kubeletVersion` of its Kubernetes Node), read at create " +
				"and at every refresh through the cluster API; null when the Node could not be read then. When it differs from " +
				"`k3s_version` the plan warns (an in-place upgrade not yet done, or a release changed outside Terraform); it never forces a replacement."},
		"node_labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
			Description: "Kubernetes node labels set at registration (k3s `node-label`). Changing them replaces the " + word + ".",
			Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.RegexMatches(labelKeyRe, "must be a valid Kubernetes label key")),
				mapvalidator.ValueStringsAre(stringvalidator.RegexMatches(labelValueRe, "must be a valid Kubernetes label value"))}},
		"node_taints": schema.ListAttribute{Optional: true, ElementType: types.StringType,
			Description: "Taints set at registration, `key[=value]:Effect` (k3s `node-taint`). Changing them replaces the " + word + ".",
			Validators:  []validator.List{listvalidator.ValueStringsAre(taintValidator{})}},
		"flannel_iface": schema.StringAttribute{Optional: true,
			Description: "Interface flannel uses (e.g. `enp7s0` for the private network). Part of the cloud-init."},
		"external_cloud_provider": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			Description: externalCloudDescription(role)},
		"wait_for_ready": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			Description: "Wait for the Kubernetes Node to be Ready on create. Default true."},
		"drain": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			Description: "Cordon and drain the node (honouring PodDisruptionBudgets) and delete the Node before deleting the server. Default true."},
		"drain_timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("5m"),
			Description: "Bound on the drain, as a Go duration. Default `5m`. On timeout the delete fails and names the blocking pods.",
			Validators:  []validator.String{durationValidator{min: time.Second, max: 2 * time.Hour}}},
		"timeouts": schema.SingleNestedAttribute{Optional: true,
			Description: "Operation timeouts as Go durations: `create` (default 20m, covers boot and readiness), `update` (20m), `delete` (15m, includes the drain).",
			Attributes: map[string]schema.Attribute{
				"create": schema.StringAttribute{Optional: true, Validators: []validator.String{durationValidator{min: time.Second, max: 24 * time.Hour}}},
				"update": schema.StringAttribute{Optional: true, Validators: []validator.String{durationValidator{min: time.Second, max: 24 * time.Hour}}},
				"delete": schema.StringAttribute{Optional: true, Validators: []validator.String{durationValidator{min: time.Second, max: 24 * time.Hour}}},
			}},
		"metadata_guard": schema.BoolAttribute{Computed: true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			Description: "True when the " + word + "'s cloud-init installs the metadata guard: before k3s starts (and on every boot), " +
				"packets from pods to the metadata service 169.254.169.254, which serves the user data with the node's token" +
				map[k3s.Role]string{k3s.RoleServer: " and the CA keys", k3s.RoleAgent: ""}[role] + ", are dropped. False only for " + word +
				"s created by provider versions without it: their cloud-init is kept as it was (a plan warns); replace them to get it."},
		"config_hash": schema.StringAttribute{Computed: true,
			Description: "Hash of everything baked into the cloud-init; when it changes the " + word + " is replaced."},
		"ipv4_address": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Public IPv4 address."},
		"ipv6_address": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Public IPv6 address (the ::1 of the server's /64)."},
		"status":       schema.StringAttribute{Computed: true, Description: "Hetzner server status."},
	}
}

// Schema versions of both node resources: 0 had neither external_cloud_provider
// nor metadata_guard; 0 and 1 had no upgrade_strategy, installed_k3s_version
// or running_k3s_version.
const schemaVersion = 2

func externalCloudDescription(role k3s.Role) string {
	d := "Leave node initialisation to an external cloud controller such as the Hetzner cloud-controller-manager: the kubelet runs " +
		"with `cloud-provider=external` (k3s `kubelet-arg`)"
	if role == k3s.RoleServer {
		d += ", and k3s' own cloud controller and ServiceLB are off (`disable-cloud-controller: true`, `servicelb` added to `disable`), " +
			"so they do not compete with it"
	}
	return d + ". Until that controller has initialised a node, the node carries the taint " +
		"`node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule` and its `spec.providerID` is empty; the Hetzner one then sets " +
		"`hcloud://<server id>`. Set it on every server and agent of a cluster alike. Default false. Part of the cloud-init."
}

func serverSchema() schema.Schema {
	a := commonAttributes(k3s.RoleServer)
	a["cluster_bundle"] = schema.StringAttribute{Required: true, Sensitive: true,
		Description: "`server_bundle` of the platform_k3s_cluster (server and agent tokens, CAs, keys). Part of the cloud-init."}
	a["cluster_init"] = schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
		Description: "True on the first server: it starts the cluster's embedded etcd. Exactly one of `cluster_init` and `server_url`."}
	a["server_url"] = schema.StringAttribute{Optional: true,
		Description: "API URL of an existing server or the API load balancer (`https://host:6443`) for joining servers.",
		Validators:  []validator.String{serverURLValidator{}}}
	a["tls_san"] = schema.ListAttribute{Optional: true, ElementType: types.StringType,
		Description: "Extra names and IPs in the API server certificate (load balancer IP, DNS name)."}
	a["disable"] = schema.ListAttribute{Optional: true, ElementType: types.StringType,
		Description: "Packaged k3s components to disable, e.g. `traefik`, `servicelb`.",
		Validators: []validator.List{listvalidator.ValueStringsAre(stringvalidator.OneOf(
			"coredns", "servicelb", "traefik", "local-storage", "metrics-server", "runtimes"))}}
	a["etcd_snapshot_cron"] = schema.StringAttribute{Optional: true,
		Description: "Schedule for etcd snapshots (k3s `etcd-snapshot-schedule-cron`), e.g. `0 */6 * * *`.",
		Validators:  []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^\S+( \S+){4}$`), "must be a five-field cron expression")}}
	for k, v := range etcdS3Attributes() {
		a[k] = v
	}
	a["kubeconfig"] = schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		Description: "Admin kubeconfig for this server's own API (https://<ipv4_address>:6443)."}
	a["admin_client_certificate"] = schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		Description: "Admin client certificate the provider uses for this server's readiness and drain checks."}
	a["admin_client_key"] = schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		Description: "Key of `admin_client_certificate`."}
	return schema.Schema{
		Version:     schemaVersion,
		Description: "A k3s server (control plane + embedded etcd) on a Hetzner Cloud server, configured entirely by cloud-init rendered from the cluster's PKI. Create waits for the create action and for the Node to be Ready; delete cordons, drains, deletes the Node and then the server.",
		Attributes:  a,
	}
}

func agentSchema() schema.Schema {
	a := commonAttributes(k3s.RoleAgent)
	a["token"] = schema.StringAttribute{Required: true, Sensitive: true,
		Description: "The cluster's `agent_token`, which joins agents only. Never the cluster's server `token`: an agent holding it could " +
			"join as a server and read the CA keys (a plan warns). Part of the cloud-init."}
	a["server_url"] = schema.StringAttribute{Required: true,
		Description: "API URL the agent joins (`https://host:6443`): a server or the API load balancer.",
		Validators:  []validator.String{serverURLValidator{}}}
	a["kubeconfig"] = schema.StringAttribute{Required: true, Sensitive: true,
		Description: "Admin kubeconfig (e.g. the cluster's or the first server's) used to wait for readiness and to drain."}
	return schema.Schema{
		Version:     schemaVersion,
		Description: "A k3s agent (worker) on a Hetzner Cloud server. Create waits for the action and for the Node to be Ready; delete cordons, drains (honouring PodDisruptionBudgets), deletes the Node and then the server.",
		Attributes:  a,
	}
}

// ---- validators

type taintValidator struct{}

func (taintValidator) Description(context.Context) string {
	return "key[=value]:NoSchedule|PreferNoSchedule|NoExecute"
}
func (v taintValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (taintValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !k3s.ValidTaint(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid taint",
			fmt.Sprintf("%q must be key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute.", req.ConfigValue.ValueString()))
	}
}

type serverURLValidator struct{}

func (serverURLValidator) Description(context.Context) string { return "an https://host:port URL" }
func (v serverURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (serverURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	u, err := url.Parse(req.ConfigValue.ValueString())
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid server URL",
			fmt.Sprintf("%q must look like https://10.0.1.2:6443 (scheme https, host, port, no path).", req.ConfigValue.ValueString()))
	}
}

type ipv4Validator struct{}

func (ipv4Validator) Description(context.Context) string               { return "an IPv4 address" }
func (v ipv4Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (ipv4Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	ip := net.ParseIP(req.ConfigValue.ValueString())
	if ip == nil || ip.To4() == nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid private IP", fmt.Sprintf("%q is not an IPv4 address.", req.ConfigValue.ValueString()))
	}
}

type durationValidator struct{ min, max time.Duration }

func (v durationValidator) Description(context.Context) string {
	return fmt.Sprintf("a Go duration between %s and %s", v.min, v.max)
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v durationValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d < v.min || d > v.max {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q must be %s, e.g. \"10m\".", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}

type reservedLabels struct{}

func (reservedLabels) Description(context.Context) string {
	return "must not use the provider's own label keys"
}
func (v reservedLabels) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (reservedLabels) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k := range req.ConfigValue.Elements() {
		if k == labelRole || k == labelHash {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Reserved label", fmt.Sprintf("%q is set by the provider.", k))
		}
	}
}

// configValidators check combinations across attributes at plan time.
func configValidators(role k3s.Role) []resource.ConfigValidator {
	return []resource.ConfigValidator{combo{role: role}}
}

type combo struct{ role k3s.Role }

func (combo) Description(context.Context) string {
	return "checks attribute combinations"
}
func (c combo) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }
func (c combo) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var privateIP types.String
	var networkID types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("private_ip"), &privateIP)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("network_id"), &networkID)...)
	if !privateIP.IsNull() && !privateIP.IsUnknown() && networkID.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("private_ip"), "private_ip needs network_id",
			"Set network_id to the network the private IP belongs to.")
	}
	if c.role != k3s.RoleServer {
		return
	}
	var init types.Bool
	var serverURL types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("cluster_init"), &init)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("server_url"), &serverURL)...)
	if init.IsUnknown() || serverURL.IsUnknown() {
		return
	}
	isInit := !init.IsNull() && init.ValueBool()
	hasURL := !serverURL.IsNull()
	switch {
	case isInit && hasURL:
		resp.Diagnostics.AddAttributeError(path.Root("server_url"), "Conflicting server settings",
			"The first server (cluster_init = true) starts the cluster and must not set server_url.")
	case !isInit && !hasURL:
		resp.Diagnostics.AddAttributeError(path.Root("server_url"), "Missing server_url",
			"A joining server needs server_url (an existing server or the API load balancer); set cluster_init = true on the first server instead.")
	}
}
