package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sre-platform/platform/provider/internal/hcloudx"
	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/kube"
	"github.com/sre-platform/platform/provider/internal/providerdata"
	"github.com/sre-platform/platform/provider/internal/stateupgrade"
)

// Labels the provider sets on every server it creates.
const (
	labelRole = "platform.sre/role"
	labelHash = "platform.sre/config-hash"
)

// nodeReadTimeout bounds reading a node's Kubernetes Node at create and
// refresh (running_k3s_version).
const nodeReadTimeout = 10 * time.Second

type nodeResource struct {
	role k3s.Role
	data *providerdata.Data
}

// NewServer is the platform_k3s_server factory.
func NewServer() resource.Resource { return &nodeResource{role: k3s.RoleServer} }

// NewAgent is the platform_k3s_agent factory.
func NewAgent() resource.Resource { return &nodeResource{role: k3s.RoleAgent} }

var (
	_ resource.ResourceWithConfigure        = &nodeResource{}
	_ resource.ResourceWithModifyPlan       = &nodeResource{}
	_ resource.ResourceWithImportState      = &nodeResource{}
	_ resource.ResourceWithConfigValidators = &nodeResource{}
	_ resource.ResourceWithUpgradeState     = &nodeResource{}
)

func (r *nodeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_k3s_" + string(r.role)
}

func (r *nodeResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.schema()
}

func (r *nodeResource) schema() schema.Schema {
	if r.role == k3s.RoleServer {
		return serverSchema()
	}
	return agentSchema()
}

// UpgradeState moves earlier state to version 2. Version 0 nodes were
// created with k3s' own cloud controller (external_cloud_provider false, the
// default) and without the metadata guard, so their cloud-init renders as
// it did, their configuration hash stays and nothing is replaced. Versions 0
// and 1 predate upgrade strategies: such a node was created with the
// k3s_version its state holds and is replaced when that changes (replace).
func (r *nodeResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	versions := func(prior map[string]tftypes.Value) map[string]tftypes.Value {
		installed, ok := prior["k3s_version"]
		if !ok {
			installed = tftypes.NewValue(tftypes.String, nil)
		}
		return map[string]tftypes.Value{
			"upgrade_strategy":      tftypes.NewValue(tftypes.String, StrategyReplace),
			"installed_k3s_version": installed,
			"running_k3s_version":   tftypes.NewValue(tftypes.String, nil),
		}
	}
	return map[int64]resource.StateUpgrader{
		0: stateupgrade.Added(r.schema(), func(prior map[string]tftypes.Value) (map[string]tftypes.Value, error) {
			out := versions(prior)
			out["external_cloud_provider"] = tftypes.NewValue(tftypes.Bool, false)
			out["metadata_guard"] = tftypes.NewValue(tftypes.Bool, false)
			return out, nil
		}, "external_cloud_provider", "metadata_guard", "upgrade_strategy", "installed_k3s_version", "running_k3s_version"),
		1: stateupgrade.Added(r.schema(), func(prior map[string]tftypes.Value) (map[string]tftypes.Value, error) {
			return versions(prior), nil
		}, "upgrade_strategy", "installed_k3s_version", "running_k3s_version"),
	}
}

func (r *nodeResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return configValidators(r.role)
}

func (r *nodeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerdata.From(req.ProviderData, &resp.Diagnostics)
}

func (r *nodeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if _, err := strconv.ParseInt(req.ID, 10, 64); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import with the Hetzner server ID (a number), got %q.", req.ID))
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// ---- cloud-init and its hash

func (m *nodeModel) nodeName() string {
	if !m.NodeName.IsNull() && !m.NodeName.IsUnknown() && m.NodeName.ValueString() != "" {
		return m.NodeName.ValueString()
	}
	return m.Name.ValueString()
}

// known reports whether every input of the cloud-init is known at plan time.
func (m *nodeModel) known(nodeIP types.String) bool {
	vals := []interface{ IsUnknown() bool }{m.Name, m.NodeName, m.cloudInitVersion(), m.NodeLabels, m.NodeTaints, m.ServerURL,
		m.FlannelIface, m.ExternalCloud, m.Image, m.SSHKeys, nodeIP}
	if m.role == k3s.RoleServer {
		vals = append(vals, m.ClusterBundle, m.ClusterInit, m.TLSSANs, m.Disable, m.EtcdSnapshotCron)
	} else {
		vals = append(vals, m.Token)
	}
	for _, v := range vals {
		if v.IsUnknown() {
			return false
		}
	}
	return m.role != k3s.RoleServer || m.etcdSnapshotsKnown(context.Background())
}

// render builds the node's cloud-init. nodeIP is the user-set private_ip
// (never the address Hetzner assigned), so the hash is stable across refresh.
func (m *nodeModel) render(ctx context.Context, nodeIP types.String) (string, error) {
	c := k3s.NodeConfig{
		Role:                  m.role,
		K3sVersion:            m.cloudInitVersion().ValueString(),
		ServerURL:             m.ServerURL.ValueString(),
		NodeName:              m.nodeName(),
		NodeIP:                nodeIP.ValueString(),
		Labels:                strMap(ctx, m.NodeLabels),
		Taints:                strList(ctx, m.NodeTaints),
		FlannelIface:          m.FlannelIface.ValueString(),
		ExternalCloudProvider: m.ExternalCloud.ValueBool(),
		// Unknown (a new node) or null (imported) means the current format.
		WithoutMetadataGuard: !m.MetadataGuard.IsUnknown() && !m.MetadataGuard.IsNull() && !m.MetadataGuard.ValueBool(),
	}
	if m.role == k3s.RoleServer {
		b, err := k3s.DecodeBundle(m.ClusterBundle.ValueString())
		if err != nil {
			return "", err
		}
		c.Token = b.Token
		c.AgentToken = b.AgentToken
		c.PKI = b.PKI()
		c.ClusterInit = m.ClusterInit.ValueBool()
		c.TLSSANs = strList(ctx, m.TLSSANs)
		c.Disable = strList(ctx, m.Disable)
		c.EtcdSnapshotCron = m.EtcdSnapshotCron.ValueString()
		c.EtcdSnapshotRetention = int(m.EtcdSnapshotRetention.ValueInt64())
		c.EtcdS3 = m.etcdS3Config(ctx)
	} else {
		c.Token = m.Token.ValueString()
	}
	return k3s.CloudInit(c)
}

// cloudInitVersion is the k3s release the cloud-init installs:
// installed_k3s_version once known (kept across in-place upgrades), else
// k3s_version (a new node).
func (m *nodeModel) cloudInitVersion() types.String {
	if !m.InstalledVersion.IsNull() && !m.InstalledVersion.IsUnknown() {
		return m.InstalledVersion
	}
	return m.K3sVersion
}

func (m *nodeModel) inPlace() bool {
	return m.UpgradeStrategy.ValueString() == StrategyInPlace
}

// planInstalledVersion decides the release the planned cloud-init carries:
// a new node's is k3s_version; an existing node keeps what it was created
// with under the in-place strategy, and follows k3s_version (so a change
// replaces it) under replace. State written before the attribute existed
// holds null: that node was created with the k3s_version in its state.
func (m *nodeModel) planInstalledVersion(state *nodeModel) {
	if state == nil || !m.inPlace() {
		m.InstalledVersion = m.K3sVersion
		return
	}
	m.InstalledVersion = state.InstalledVersion
	if m.InstalledVersion.IsNull() || m.InstalledVersion.IsUnknown() {
		m.InstalledVersion = state.K3sVersion
	}
}

// hash renders the planned cloud-init and sets config_hash (unknown while
// an input is).
func (m *nodeModel) hash(ctx context.Context, nodeIP types.String) error {
	if !m.known(nodeIP) {
		m.ConfigHash = types.StringUnknown()
		return nil
	}
	ud, err := m.render(ctx, nodeIP)
	if err != nil {
		return err
	}
	m.ConfigHash = types.StringValue(configHash(ctx, m, ud))
	return nil
}

// versionWarnings tell, for a node that stays, how its k3s release
// relates to k3s_version: a change left to the in-cluster upgrade, and a
// kubelet (read at the last refresh) running another release.
func versionWarnings(role k3s.Role, plan, state *nodeModel) (diags diag.Diagnostics) {
	if plan.K3sVersion.IsUnknown() {
		return nil
	}
	want := plan.K3sVersion.ValueString()
	name := state.Name.ValueString()
	if plan.inPlace() && !state.K3sVersion.IsNull() && state.K3sVersion.ValueString() != want {
		diags.AddAttributeWarning(path.Root("k3s_version"), "k3s_version changes in place",
			fmt.Sprintf("%s stays (upgrade_strategy = \"in-place\"): Terraform changes k3s_version from %s to %s without touching the %s, "+
				"whose cloud-init keeps installing %s. The system-upgrade-controller's Plans, which read the release Terraform writes "+
				"into the cluster, upgrade the node one at a time (docs/runbooks/k3s-upgrade.md); running_k3s_version shows the "+
				"kubelet's release at each refresh.", name, state.K3sVersion.ValueString(), want, role, plan.InstalledVersion.ValueString()))
	}
	run := state.RunningVersion
	if !run.IsNull() && !run.IsUnknown() && run.ValueString() != "" && run.ValueString() != want {
		how := "The node is not replaced for it. With upgrade_strategy = \"in-place\" the system-upgrade-controller's Plans move " +
			"it to k3s_version; otherwise the release was changed outside Terraform."
		if !plan.inPlace() {
			how = "The node is not replaced for it (its cloud-init already installs k3s_version): the release was changed on the " +
				"node outside Terraform, or an in-place upgrade has not finished."
		}
		diags.AddAttributeWarning(path.Root("running_k3s_version"), "Node runs another k3s release",
			fmt.Sprintf("Node %s reports kubelet %s, k3s_version is %s. %s", state.nodeName(), run.ValueString(), want, how))
	}
	return diags
}

func configHash(ctx context.Context, m *nodeModel, userData string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n--\n%s\n--\n%s", userData, m.Image.ValueString(), strings.Join(strList(ctx, m.SSHKeys), ","))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// ModifyPlan decides replacement through one hash of everything baked into
// the cloud-init (so imported servers whose configuration matches are kept),
// and warns before a server type change powers the server off.
func (r *nodeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	plan, d := load(ctx, r.role, req.Plan)
	resp.Diagnostics.Append(d...)
	cfg, d := load(ctx, r.role, req.Config)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *nodeModel
	if !req.State.Raw.IsNull() {
		state, d = load(ctx, r.role, req.State)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if plan.NodeName.IsUnknown() && cfg.NodeName.IsNull() {
		if state != nil && !state.NodeName.IsNull() {
			plan.NodeName = state.NodeName
		} else if !plan.Name.IsUnknown() {
			plan.NodeName = plan.Name
		}
	}
	if r.role == k3s.RoleAgent && !plan.Token.IsUnknown() && k3s.IsServerToken(plan.Token.ValueString()) {
		resp.Diagnostics.AddAttributeWarning(path.Root("token"), "The agent is given the server token",
			"token is a k3s server token (K10…::server:…): an agent holding it can join the cluster as a server and read its CA keys, "+
				"and its user data (readable on the node) carries it. Pass the cluster's agent_token. Clusters created before agent tokens "+
				"existed have agent_token equal to the server token until they are rebuilt.")
	}
	// A new node (or the create half of a replacement, planned without
	// prior state) gets the metadata guard; an existing one keeps what its
	// cloud-init was created with.
	switch {
	case state == nil:
		plan.MetadataGuard = types.BoolValue(true)
	case state.MetadataGuard.IsNull():
		plan.MetadataGuard = types.BoolValue(true)
	default:
		plan.MetadataGuard = state.MetadataGuard
	}
	if state != nil && !plan.MetadataGuard.ValueBool() {
		resp.Diagnostics.AddWarning("The "+string(r.role)+" has no metadata guard",
			fmt.Sprintf("%s was created by a provider version that did not block pods from the metadata service, so any pod on it can "+
				"read its user data (the k3s token%s). Its cloud-init cannot change in place: replace it "+
				"(terraform apply -replace=<address>) to get the guard.", state.Name.ValueString(),
				map[k3s.Role]string{k3s.RoleServer: " and the cluster's CA keys", k3s.RoleAgent: ""}[r.role]))
	}
	plan.planInstalledVersion(state)
	if err := plan.hash(ctx, cfg.PrivateIP); err != nil {
		resp.Diagnostics.AddError("Invalid k3s node configuration", err.Error())
		return
	}
	if state != nil {
		replace := !plan.ConfigHash.Equal(state.ConfigHash)
		if replace && !plan.InstalledVersion.Equal(plan.K3sVersion) {
			// Replaced for another reason: the new server boots k3s_version.
			plan.InstalledVersion = plan.K3sVersion
			if err := plan.hash(ctx, cfg.PrivateIP); err != nil {
				resp.Diagnostics.AddError("Invalid k3s node configuration", err.Error())
				return
			}
		}
		if replace {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("config_hash"))
		} else {
			resp.Diagnostics.Append(versionWarnings(r.role, plan, state)...)
		}
		plan.Status = state.Status
		if !plan.ServerType.Equal(state.ServerType) && !plan.ServerType.IsUnknown() && plan.ConfigHash.Equal(state.ConfigHash) {
			resp.Diagnostics.AddAttributeWarning(path.Root("server_type"), "Server type change powers the server off",
				fmt.Sprintf("Changing %s from %s to %s shuts the server down, changes its type (the disk is kept, so it can be "+
					"changed back) and powers it on again. The node is NotReady meanwhile; drain it first if it runs workloads.",
					state.Name.ValueString(), state.ServerType.ValueString(), plan.ServerType.ValueString()))
		}
	}
	resp.Diagnostics.Append(store(ctx, &resp.Plan, plan)...)
}

// ---- timeouts

func (m *nodeModel) timeout(ctx context.Context, op string, def time.Duration) time.Duration {
	if m.Timeouts.IsNull() || m.Timeouts.IsUnknown() {
		return def
	}
	var t struct {
		Create types.String `tfsdk:"create"`
		Update types.String `tfsdk:"update"`
		Delete types.String `tfsdk:"delete"`
	}
	m.Timeouts.As(ctx, &t, struct{ UnhandledNullAsEmpty, UnhandledUnknownAsEmpty bool }{true, true})
	v := map[string]types.String{"create": t.Create, "update": t.Update, "delete": t.Delete}[op]
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	if d, err := time.ParseDuration(v.ValueString()); err == nil {
		return d
	}
	return def
}

// ---- CRUD

func (r *nodeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := r.data.RequireHcloud(&resp.Diagnostics)
	m, d := load(ctx, r.role, req.Plan)
	resp.Diagnostics.Append(d...)
	if client == nil || resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout(ctx, "create", 20*time.Minute))
	defer cancel()

	nodeIP := m.PrivateIP // known only when the user set it
	m.InstalledVersion = m.K3sVersion
	userData, err := m.render(ctx, nodeIP)
	if err != nil {
		resp.Diagnostics.AddError("Invalid k3s node configuration", err.Error())
		return
	}
	hash := configHash(ctx, m, userData)
	m.ConfigHash = types.StringValue(hash)
	m.NodeName = types.StringValue(m.nodeName())
	labels := strMap(ctx, m.Labels)
	hl := map[string]string{labelRole: string(r.role), labelHash: hash}
	for k, v := range labels {
		hl[k] = v
	}

	opts := hcloud.ServerCreateOpts{
		Name:       m.Name.ValueString(),
		ServerType: &hcloud.ServerType{Name: m.ServerType.ValueString()},
		Image:      imageRef(m.Image.ValueString()),
		Location:   &hcloud.Location{Name: m.Location.ValueString()},
		UserData:   userData,
		Labels:     hl,
		PublicNet: &hcloud.ServerCreatePublicNet{
			EnableIPv4: m.EnableIPv4.ValueBool(), EnableIPv6: m.EnableIPv6.ValueBool()},
		StartAfterCreate: hcloud.Ptr(true),
	}
	for _, k := range strList(ctx, m.SSHKeys) {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			opts.SSHKeys = append(opts.SSHKeys, &hcloud.SSHKey{ID: id})
		} else {
			// The API takes IDs only through hcloud-go: resolve the name.
			key, _, err := client.SSHKey.GetByName(ctx, k)
			if err != nil || key == nil {
				resp.Diagnostics.AddAttributeError(path.Root("ssh_keys"), "SSH key not found",
					fmt.Sprintf("No SSH key named %q in the project (%v). Give its ID or the name of an existing key.", k, err))
				return
			}
			opts.SSHKeys = append(opts.SSHKeys, key)
		}
	}
	for _, id := range int64Set(ctx, m.FirewallIDs) {
		opts.Firewalls = append(opts.Firewalls, &hcloud.ServerCreateFirewall{Firewall: hcloud.Firewall{ID: id}})
	}
	if !m.PlacementGroupID.IsNull() {
		opts.PlacementGroup = &hcloud.PlacementGroup{ID: m.PlacementGroupID.ValueInt64()}
	}
	withIP := !m.NetworkID.IsNull() && !nodeIP.IsNull() && !nodeIP.IsUnknown()
	if !m.NetworkID.IsNull() && !withIP {
		opts.Networks = []*hcloud.Network{{ID: m.NetworkID.ValueInt64()}}
	}
	if withIP {
		// Attach with the chosen IP before the first boot, then power on.
		opts.StartAfterCreate = hcloud.Ptr(false)
	}

	var srv *hcloud.Server
	var actions []*hcloud.Action
	res, _, err := client.Server.Create(ctx, opts)
	switch {
	case err == nil:
		srv = res.Server
		actions = append([]*hcloud.Action{res.Action}, res.NextActions...)
	case hcloud.IsError(err, hcloud.ErrorCodeUniquenessError):
		// A retried create whose first attempt did succeed: adopt our own
		// server (same role and configuration hash), never a stranger's.
		existing, _, gerr := client.Server.GetByName(ctx, opts.Name)
		if gerr != nil || existing == nil || existing.Labels[labelHash] != hash || existing.Labels[labelRole] != string(r.role) {
			resp.Diagnostics.AddError("Creating the server failed",
				fmt.Sprintf("A server named %q already exists and was not created by this resource: %v", opts.Name, err))
			return
		}
		tflog.Info(ctx, "adopting server created by an earlier attempt", map[string]any{"id": existing.ID})
		srv = existing
	default:
		resp.Diagnostics.AddError("Creating the server failed", err.Error())
		return
	}
	m.ID = types.StringValue(strconv.FormatInt(srv.ID, 10))
	fillComputed(m, srv)
	// From here on the server exists: save it, so any later failure leaves a
	// tainted resource in state (destroyed on the next apply), never an orphan.
	resp.Diagnostics.Append(store(ctx, &resp.State, m.settled())...)

	if err := hcloudx.WaitActions(ctx, client, actions...); err != nil {
		resp.Diagnostics.AddError("Server creation did not finish", err.Error())
		return
	}
	if withIP {
		a, _, err := client.Server.AttachToNetwork(ctx, srv, hcloud.ServerAttachToNetworkOpts{
			Network: &hcloud.Network{ID: m.NetworkID.ValueInt64()}, IP: net.ParseIP(nodeIP.ValueString())})
		if err == nil {
			err = hcloudx.WaitActions(ctx, client, a)
		}
		if err != nil {
			resp.Diagnostics.AddError("Attaching the server to its network failed", err.Error())
			return
		}
		a, _, err = client.Server.Poweron(ctx, srv)
		if err == nil {
			err = hcloudx.WaitActions(ctx, client, a)
		}
		if err != nil {
			resp.Diagnostics.AddError("Powering the server on failed", err.Error())
			return
		}
	}
	if srv, _, err = client.Server.GetByID(ctx, srv.ID); err != nil || srv == nil {
		resp.Diagnostics.AddError("Reading the new server failed", fmt.Sprint(err))
		return
	}
	fillComputed(m, srv)
	if r.role == k3s.RoleServer {
		resp.Diagnostics.Append(r.issueServerKubeconfig(m)...)
	}
	resp.Diagnostics.Append(store(ctx, &resp.State, m.settled())...)
	if resp.Diagnostics.HasError() || !m.WaitForReady.ValueBool() {
		return
	}
	kc, err := r.kubeClient(m)
	if err == nil {
		err = kube.WaitReady(ctx, kc, m.nodeName(), r.poller())
	}
	if err != nil {
		resp.Diagnostics.AddError("The k3s node did not become Ready", err.Error()+
			". The server is kept in state as tainted; the next apply replaces it, destroy removes it.")
		return
	}
	m.RunningVersion = r.runningVersion(ctx, m)
	resp.Diagnostics.Append(store(ctx, &resp.State, m)...)
}

// runningVersion reads the kubelet release of the node's Kubernetes Node;
// null when the cluster cannot be asked or has no such Node (refresh goes on
// without it: the value only feeds a plan warning).
func (r *nodeResource) runningVersion(ctx context.Context, m *nodeModel) types.String {
	kc, err := r.kubeClient(m)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, nodeReadTimeout)
		defer cancel()
		var n *corev1.Node
		if n, err = kc.CoreV1().Nodes().Get(ctx, m.nodeName(), metav1.GetOptions{}); err == nil && n.Status.NodeInfo.KubeletVersion != "" {
			return types.StringValue(n.Status.NodeInfo.KubeletVersion)
		}
	}
	tflog.Warn(ctx, "could not read the node's kubelet version", map[string]any{"node": m.nodeName(), "error": fmt.Sprint(err)})
	return types.StringNull()
}

func (r *nodeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := r.data.RequireHcloud(&resp.Diagnostics)
	m, d := load(ctx, r.role, req.State)
	resp.Diagnostics.Append(d...)
	if client == nil || resp.Diagnostics.HasError() {
		return
	}
	id, err := strconv.ParseInt(m.ID.ValueString(), 10, 64)
	if err != nil {
		resp.Diagnostics.AddError("Invalid server ID in state", m.ID.ValueString())
		return
	}
	srv, _, err := client.Server.GetByID(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Reading the server failed", err.Error())
		return
	}
	if srv == nil {
		tflog.Warn(ctx, "server is gone; removing it from state", map[string]any{"id": id})
		resp.State.RemoveResource(ctx)
		return
	}
	readInto(ctx, m, srv)
	m.RunningVersion = r.runningVersion(ctx, m)
	resp.Diagnostics.Append(store(ctx, &resp.State, m)...)
}

func (r *nodeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := r.data.RequireHcloud(&resp.Diagnostics)
	plan, d := load(ctx, r.role, req.Plan)
	resp.Diagnostics.Append(d...)
	state, d := load(ctx, r.role, req.State)
	resp.Diagnostics.Append(d...)
	if client == nil || resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, plan.timeout(ctx, "update", 20*time.Minute))
	defer cancel()
	id, _ := strconv.ParseInt(state.ID.ValueString(), 10, 64)
	srv := &hcloud.Server{ID: id}
	fail := func(what string, err error) {
		resp.Diagnostics.AddError(what, err.Error())
	}
	wait := func(a *hcloud.Action, _ *hcloud.Response, err error) error {
		if err != nil {
			return err
		}
		return hcloudx.WaitActions(ctx, client, a)
	}

	if !plan.Name.Equal(state.Name) || !plan.Labels.Equal(state.Labels) || !plan.ConfigHash.Equal(state.ConfigHash) {
		labels := map[string]string{labelRole: string(r.role), labelHash: plan.ConfigHash.ValueString()}
		for k, v := range strMap(ctx, plan.Labels) {
			labels[k] = v
		}
		if _, _, err := client.Server.Update(ctx, srv, hcloud.ServerUpdateOpts{Name: plan.Name.ValueString(), Labels: labels}); err != nil {
			fail("Updating the server's name and labels failed", err)
			return
		}
	}
	if !plan.ServerType.Equal(state.ServerType) {
		if err := wait(client.Server.Poweroff(ctx, srv)); err != nil {
			fail("Powering the server off for the type change failed", err)
			return
		}
		if err := wait(client.Server.ChangeType(ctx, srv, hcloud.ServerChangeTypeOpts{
			ServerType: &hcloud.ServerType{Name: plan.ServerType.ValueString()}, UpgradeDisk: false})); err != nil {
			fail("Changing the server type failed", err)
			// Leave the server running as it was rather than off.
			_ = wait(client.Server.Poweron(ctx, srv))
			return
		}
		if err := wait(client.Server.Poweron(ctx, srv)); err != nil {
			fail("Powering the server on after the type change failed", err)
			return
		}
	}
	if !plan.NetworkID.Equal(state.NetworkID) {
		if !state.NetworkID.IsNull() {
			if err := wait(client.Server.DetachFromNetwork(ctx, srv, hcloud.ServerDetachFromNetworkOpts{
				Network: &hcloud.Network{ID: state.NetworkID.ValueInt64()}})); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
				fail("Detaching the server from its network failed", err)
				return
			}
		}
		if !plan.NetworkID.IsNull() {
			opts := hcloud.ServerAttachToNetworkOpts{Network: &hcloud.Network{ID: plan.NetworkID.ValueInt64()}}
			if ip := net.ParseIP(plan.PrivateIP.ValueString()); ip != nil && !plan.PrivateIP.IsUnknown() {
				opts.IP = ip
			}
			if err := wait(client.Server.AttachToNetwork(ctx, srv, opts)); err != nil {
				fail("Attaching the server to its network failed", err)
				return
			}
		}
	}
	if !plan.FirewallIDs.Equal(state.FirewallIDs) {
		before, after := toSet(int64Set(ctx, state.FirewallIDs)), toSet(int64Set(ctx, plan.FirewallIDs))
		res := []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: id}}}
		for fw := range before {
			if !after[fw] {
				acts, _, err := client.Firewall.RemoveResources(ctx, &hcloud.Firewall{ID: fw}, res)
				if err == nil {
					err = hcloudx.WaitActions(ctx, client, acts...)
				}
				if err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) && !hcloud.IsError(err, hcloud.ErrorCodeFirewallResourceNotFound) {
					fail(fmt.Sprintf("Removing firewall %d failed", fw), err)
					return
				}
			}
		}
		for fw := range after {
			if !before[fw] {
				acts, _, err := client.Firewall.ApplyResources(ctx, &hcloud.Firewall{ID: fw}, res)
				if err == nil {
					err = hcloudx.WaitActions(ctx, client, acts...)
				}
				if err != nil && !hcloud.IsError(err, hcloud.ErrorCodeFirewallAlreadyApplied) {
					fail(fmt.Sprintf("Applying firewall %d failed", fw), err)
					return
				}
			}
		}
	}

	fresh, _, err := client.Server.GetByID(ctx, id)
	if err != nil || fresh == nil {
		resp.Diagnostics.AddError("Reading the updated server failed", fmt.Sprint(err))
		return
	}
	readInto(ctx, plan, fresh)
	if r.role == k3s.RoleServer && (plan.AdminCert.IsNull() || plan.AdminCert.IsUnknown() || plan.Kubeconfig.IsUnknown()) {
		resp.Diagnostics.Append(r.issueServerKubeconfig(plan)...)
	}
	resp.Diagnostics.Append(store(ctx, &resp.State, plan)...)
	if !plan.ServerType.Equal(state.ServerType) && plan.WaitForReady.ValueBool() {
		kc, err := r.kubeClient(plan)
		if err == nil {
			err = kube.WaitReady(ctx, kc, plan.nodeName(), r.poller())
		}
		if err != nil {
			resp.Diagnostics.AddError("The node did not become Ready after the type change", err.Error())
		}
	}
}

func (r *nodeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := r.data.RequireHcloud(&resp.Diagnostics)
	m, d := load(ctx, r.role, req.State)
	resp.Diagnostics.Append(d...)
	if client == nil || resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout(ctx, "delete", 15*time.Minute))
	defer cancel()
	id, _ := strconv.ParseInt(m.ID.ValueString(), 10, 64)

	if m.Drain.ValueBool() {
		resp.Diagnostics.Append(r.drainNode(ctx, m)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	res, _, err := client.Server.DeleteWithResult(ctx, &hcloud.Server{ID: id})
	if hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
		return
	}
	if err == nil {
		err = hcloudx.WaitActions(ctx, client, res.Action)
	}
	if err != nil {
		resp.Diagnostics.AddError("Deleting the server failed", err.Error())
	}
}

// drainNode cordons, drains and deletes the Node. Only a cluster that
// cannot be reached at all (connection refused, no route, DNS name not
// found, timeout: its last server is already gone) is a warning and the
// server is deleted undrained. A cluster that answers but fails — TLS
// handshake, 401, 403, errors that persist past the retries — fails the
// delete and keeps the server, as does a drain blocked past drain_timeout.
func (r *nodeResource) drainNode(ctx context.Context, m *nodeModel) (diags diag.Diagnostics) {
	kc, err := r.kubeClient(m)
	if err != nil {
		diags.AddWarning("Skipping the drain", "No usable Kubernetes credentials: "+err.Error())
		return diags
	}
	return drainWith(ctx, kc, m.nodeName(), m.DrainTimeout.ValueString(), r.poller())
}

// reachTimeout bounds the cordon, the first contact with the cluster
// (including its retries of 429, 5xx and 409 answers).
const reachTimeout = 30 * time.Second

func drainWith(ctx context.Context, kc kubernetes.Interface, name, drainTimeout string, p kube.Poller) (diags diag.Diagnostics) {
	keep := " The server is kept. Fix the cluster's API or the credentials and destroy again, or set drain = false to delete the server without draining."
	reach, cancel := context.WithTimeout(ctx, reachTimeout)
	err := kube.Cordon(reach, kc, name, p)
	cancel()
	if err != nil {
		if kube.Unreachable(err) {
			diags.AddWarning("Skipping the drain", fmt.Sprintf("The Kubernetes API cannot be reached (%v); deleting the server without draining node %s.", err, name))
			return diags
		}
		diags.AddError("Cordoning the node failed", fmt.Sprintf("Cordoning node %s failed: %s.%s", name, kube.Explain(err), keep))
		return diags
	}
	timeout, _ := time.ParseDuration(drainTimeout)
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	dctx, dcancel := context.WithTimeout(ctx, timeout)
	defer dcancel()
	if err := kube.Drain(dctx, kc, name, p); err != nil {
		diags.AddError("Draining the node failed", kube.Explain(err)+
			". The server is kept. Resolve the blocking pods, raise drain_timeout, or set drain = false to skip draining.")
		return diags
	}
	rctx, rcancel := context.WithTimeout(ctx, reachTimeout)
	defer rcancel()
	if err := kube.DeleteNode(rctx, kc, name, p); err != nil {
		if kube.Unreachable(err) {
			// The control plane went away meanwhile (its servers are being
			// destroyed in the same apply): nothing is left to clean up.
			diags.AddWarning("Skipping the Node deletion", fmt.Sprintf("The Kubernetes API stopped answering (%v); deleting the server of node %s.", err, name))
			return diags
		}
		diags.AddError("Deleting the Node failed", fmt.Sprintf("Deleting Node %s failed: %s.%s", name, kube.Explain(err), keep))
	}
	return diags
}

func (r *nodeResource) poller() kube.Poller {
	base := time.Second
	if r.data != nil && r.data.PollInterval > 0 {
		base = r.data.PollInterval
	}
	return kube.Poller{Interval: base, Max: 10 * base}
}

// kubeClient talks to the cluster: a server through its own API with the
// certificate issued at creation; an agent through the kubeconfig given.
func (r *nodeResource) kubeClient(m *nodeModel) (kubernetes.Interface, error) {
	if r.role == k3s.RoleAgent {
		return kube.FromKubeconfig(m.Kubeconfig.ValueString())
	}
	if m.IPv4Address.IsNull() || m.IPv4Address.ValueString() == "" {
		return nil, errors.New("the server has no public IPv4 address to reach its API")
	}
	b, err := k3s.DecodeBundle(m.ClusterBundle.ValueString())
	if err != nil {
		return nil, err
	}
	return kube.FromConfig(&rest.Config{
		Host: k3s.ServerURL(m.IPv4Address.ValueString()),
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(b.ServerCA.CertPEM),
			CertData: []byte(m.AdminCert.ValueString()), KeyData: []byte(m.AdminKey.ValueString())},
	})
}

func (r *nodeResource) issueServerKubeconfig(m *nodeModel) (diags diag.Diagnostics) {
	b, err := k3s.DecodeBundle(m.ClusterBundle.ValueString())
	if err != nil {
		diags.AddError("Invalid cluster bundle", err.Error())
		return diags
	}
	ca, key, err := k3s.ParseKeyPair(b.ClientCA)
	if err != nil {
		diags.AddError("Invalid cluster bundle", err.Error())
		return diags
	}
	admin, err := k3s.SignClient(ca, key, "system:admin", []string{"system:masters"}, time.Now(), 365*24*time.Hour)
	if err != nil {
		diags.AddError("Issuing the admin certificate failed", err.Error())
		return diags
	}
	m.AdminCert = types.StringValue(admin.CertPEM)
	m.AdminKey = types.StringValue(admin.KeyPEM)
	if m.IPv4Address.IsNull() || m.IPv4Address.ValueString() == "" {
		m.Kubeconfig = types.StringNull()
		return diags
	}
	kc, err := k3s.Kubeconfig(b.Cluster, m.IPv4Address.ValueString(), &k3s.PKI{ServerCA: b.ServerCA, Admin: admin})
	if err != nil {
		diags.AddError("Rendering the kubeconfig failed", err.Error())
		return diags
	}
	m.Kubeconfig = types.StringValue(kc)
	return diags
}

// ---- hcloud → model

func imageRef(s string) *hcloud.Image {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &hcloud.Image{ID: id}
	}
	return &hcloud.Image{Name: s}
}

// fillComputed sets the attributes Hetzner decides.
func fillComputed(m *nodeModel, s *hcloud.Server) {
	m.Status = types.StringValue(string(s.Status))
	m.IPv4Address = types.StringNull()
	if !s.PublicNet.IPv4.IsUnspecified() && s.PublicNet.IPv4.IP != nil {
		m.IPv4Address = types.StringValue(s.PublicNet.IPv4.IP.String())
	}
	m.IPv6Address = types.StringNull()
	if !s.PublicNet.IPv6.IsUnspecified() && s.PublicNet.IPv6.IP != nil {
		ip := make(net.IP, len(s.PublicNet.IPv6.IP))
		copy(ip, s.PublicNet.IPv6.IP)
		ip[len(ip)-1] |= 1
		m.IPv6Address = types.StringValue(ip.String())
	}
	if m.PrivateIP.IsUnknown() || m.PrivateIP.IsNull() {
		m.PrivateIP = types.StringNull()
		for _, pn := range s.PrivateNet {
			if pn.Network != nil && !m.NetworkID.IsNull() && pn.Network.ID == m.NetworkID.ValueInt64() {
				m.PrivateIP = types.StringValue(pn.IP.String())
			}
		}
	}
}

// readInto refreshes everything Hetzner knows about the server, so drift
// (labels edited in the console, a detached network) shows in the plan.
func readInto(ctx context.Context, m *nodeModel, s *hcloud.Server) {
	m.Name = types.StringValue(s.Name)
	if s.ServerType != nil {
		m.ServerType = types.StringValue(s.ServerType.Name)
	}
	if s.Location != nil {
		m.Location = types.StringValue(s.Location.Name)
	}
	if m.Image.IsNull() && s.Image != nil {
		m.Image = types.StringValue(s.Image.Name)
	}
	user := map[string]string{}
	for k, v := range s.Labels {
		if k != labelRole && k != labelHash {
			user[k] = v
		}
	}
	if len(user) == 0 && m.Labels.IsNull() {
		// keep null: no labels configured, none found
	} else {
		m.Labels, _ = types.MapValueFrom(ctx, types.StringType, user)
	}
	if h := s.Labels[labelHash]; h != "" {
		m.ConfigHash = types.StringValue(h)
	}
	// Network: the configured one if still attached, else whatever is.
	var found *hcloud.ServerPrivateNet
	for i := range s.PrivateNet {
		pn := &s.PrivateNet[i]
		if pn.Network == nil {
			continue
		}
		if found == nil || (!m.NetworkID.IsNull() && pn.Network.ID == m.NetworkID.ValueInt64()) {
			found = pn
		}
	}
	if found != nil {
		m.NetworkID = types.Int64Value(found.Network.ID)
		m.PrivateIP = types.StringValue(found.IP.String())
	} else {
		m.NetworkID = types.Int64Null()
		if m.PrivateIP.IsUnknown() {
			m.PrivateIP = types.StringNull()
		}
	}
	var fws []int64
	for _, f := range s.PublicNet.Firewalls {
		if f != nil && f.Firewall.ID != 0 {
			fws = append(fws, f.Firewall.ID)
		}
	}
	sort.Slice(fws, func(i, j int) bool { return fws[i] < fws[j] })
	if len(fws) == 0 && m.FirewallIDs.IsNull() {
		// keep null
	} else {
		m.FirewallIDs, _ = types.SetValueFrom(ctx, types.Int64Type, fws)
	}
	if s.PlacementGroup != nil {
		m.PlacementGroupID = types.Int64Value(s.PlacementGroup.ID)
	} else {
		m.PlacementGroupID = types.Int64Null()
	}
	m.EnableIPv4 = types.BoolValue(!s.PublicNet.IPv4.IsUnspecified())
	m.EnableIPv6 = types.BoolValue(!s.PublicNet.IPv6.IsUnspecified())
	if m.NodeName.IsNull() {
		m.NodeName = types.StringValue(s.Name)
	}
	for _, def := range []struct {
		v   *types.Bool
		val bool
	}{{&m.WaitForReady, true}, {&m.Drain, true}, {&m.ExternalCloud, false}, {&m.MetadataGuard, true}} {
		if def.v.IsNull() {
			*def.v = types.BoolValue(def.val)
		}
	}
	if m.DrainTimeout.IsNull() {
		m.DrainTimeout = types.StringValue("5m")
	}
	if m.UpgradeStrategy.IsNull() {
		m.UpgradeStrategy = types.StringValue(StrategyReplace)
	}
	// State from before installed_k3s_version: the node was created with
	// the k3s_version it holds (null after an import: unknown).
	if m.InstalledVersion.IsNull() && !m.K3sVersion.IsUnknown() {
		m.InstalledVersion = m.K3sVersion
	}
	if m.role == k3s.RoleServer {
		if m.ClusterInit.IsNull() {
			m.ClusterInit = types.BoolValue(false)
		}
	}
	fillComputed(m, s)
}

func toSet(ids []int64) map[int64]bool {
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}
