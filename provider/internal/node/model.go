// Package node implements platform_k3s_server and platform_k3s_agent: a
// Hetzner server whose cloud-init makes it a k3s node, created, waited for
// (action, then Node Ready through the Kubernetes API), updated in place where
// Hetzner allows it, and drained before it is deleted.
package node

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

// common holds the attributes servers and agents share.
type common struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	NodeName         types.String `tfsdk:"node_name"`
	ServerType       types.String `tfsdk:"server_type"`
	Image            types.String `tfsdk:"image"`
	Location         types.String `tfsdk:"location"`
	SSHKeys          types.List   `tfsdk:"ssh_keys"`
	Labels           types.Map    `tfsdk:"labels"`
	NetworkID        types.Int64  `tfsdk:"network_id"`
	PrivateIP        types.String `tfsdk:"private_ip"`
	FirewallIDs      types.Set    `tfsdk:"firewall_ids"`
	PlacementGroupID types.Int64  `tfsdk:"placement_group_id"`
	EnableIPv4       types.Bool   `tfsdk:"enable_ipv4"`
	EnableIPv6       types.Bool   `tfsdk:"enable_ipv6"`
	K3sVersion       types.String `tfsdk:"k3s_version"`
	UpgradeStrategy  types.String `tfsdk:"upgrade_strategy"`
	InstalledVersion types.String `tfsdk:"installed_k3s_version"`
	RunningVersion   types.String `tfsdk:"running_k3s_version"`
	NodeLabels       types.Map    `tfsdk:"node_labels"`
	NodeTaints       types.List   `tfsdk:"node_taints"`
	ServerURL        types.String `tfsdk:"server_url"`
	FlannelIface     types.String `tfsdk:"flannel_iface"`
	ExternalCloud    types.Bool   `tfsdk:"external_cloud_provider"`
	WaitForReady     types.Bool   `tfsdk:"wait_for_ready"`
	Drain            types.Bool   `tfsdk:"drain"`
	DrainTimeout     types.String `tfsdk:"drain_timeout"`
	Timeouts         types.Object `tfsdk:"timeouts"`
	MetadataGuard    types.Bool   `tfsdk:"metadata_guard"`
	ConfigHash       types.String `tfsdk:"config_hash"`
	IPv4Address      types.String `tfsdk:"ipv4_address"`
	IPv6Address      types.String `tfsdk:"ipv6_address"`
	Status           types.String `tfsdk:"status"`
}

type serverModel struct {
	common
	ClusterBundle    types.String `tfsdk:"cluster_bundle"`
	ClusterInit      types.Bool   `tfsdk:"cluster_init"`
	TLSSANs          types.List   `tfsdk:"tls_san"`
	Disable          types.List   `tfsdk:"disable"`
	EtcdSnapshotCron types.String `tfsdk:"etcd_snapshot_cron"`
	EtcdRetention    types.Int64  `tfsdk:"etcd_snapshot_retention"`
	EtcdS3           types.Object `tfsdk:"etcd_s3"`
	Kubeconfig       types.String `tfsdk:"kubeconfig"`
	AdminCert        types.String `tfsdk:"admin_client_certificate"`
	AdminKey         types.String `tfsdk:"admin_client_key"`
}

type agentModel struct {
	common
	Token      types.String `tfsdk:"token"`
	Kubeconfig types.String `tfsdk:"kubeconfig"`
}

// nodeModel is the role-independent view the CRUD code works on.
type nodeModel struct {
	common
	role k3s.Role
	// server
	ClusterBundle    types.String
	ClusterInit      types.Bool
	TLSSANs          types.List
	Disable          types.List
	EtcdSnapshotCron types.String
	// EtcdSnapshotRetention and EtcdS3: etcd_snapshot_retention, etcd_s3.
	EtcdSnapshotRetention types.Int64
	EtcdS3                types.Object
	AdminCert             types.String
	AdminKey              types.String
	// agent: input; server: output
	Token      types.String
	Kubeconfig types.String
}

// settled is a copy for a state saved before the create has finished: every
// computed value still unknown becomes null (Terraform rejects unknown values
// in state after an apply, even a failed one).
func (m *nodeModel) settled() *nodeModel {
	c := *m
	for _, v := range []*types.String{&c.NodeName, &c.PrivateIP, &c.ConfigHash, &c.IPv4Address, &c.IPv6Address, &c.Status,
		&c.AdminCert, &c.AdminKey, &c.InstalledVersion, &c.RunningVersion} {
		if v.IsUnknown() {
			*v = types.StringNull()
		}
	}
	if c.MetadataGuard.IsUnknown() {
		c.MetadataGuard = types.BoolNull()
	}
	if c.role == k3s.RoleServer && c.Kubeconfig.IsUnknown() {
		c.Kubeconfig = types.StringNull()
	}
	return &c
}

type getter interface {
	Get(context.Context, any) diag.Diagnostics
}

type setter interface {
	Set(context.Context, any) diag.Diagnostics
}

func load(ctx context.Context, role k3s.Role, g getter) (*nodeModel, diag.Diagnostics) {
	if role == k3s.RoleServer {
		var m serverModel
		d := g.Get(ctx, &m)
		return &nodeModel{common: m.common, role: role, ClusterBundle: m.ClusterBundle, ClusterInit: m.ClusterInit,
			TLSSANs: m.TLSSANs, Disable: m.Disable, EtcdSnapshotCron: m.EtcdSnapshotCron, Kubeconfig: m.Kubeconfig,
			EtcdSnapshotRetention: m.EtcdRetention, EtcdS3: m.EtcdS3,
			AdminCert: m.AdminCert, AdminKey: m.AdminKey}, d
	}
	var m agentModel
	d := g.Get(ctx, &m)
	return &nodeModel{common: m.common, role: role, Token: m.Token, Kubeconfig: m.Kubeconfig}, d
}

func store(ctx context.Context, s setter, m *nodeModel) diag.Diagnostics {
	if m.role == k3s.RoleServer {
		return s.Set(ctx, &serverModel{common: m.common, ClusterBundle: m.ClusterBundle, ClusterInit: m.ClusterInit,
			TLSSANs: m.TLSSANs, Disable: m.Disable, EtcdSnapshotCron: m.EtcdSnapshotCron, Kubeconfig: m.Kubeconfig,
			EtcdRetention: m.EtcdSnapshotRetention, EtcdS3: m.EtcdS3,
			AdminCert: m.AdminCert, AdminKey: m.AdminKey})
	}
	return s.Set(ctx, &agentModel{common: m.common, Token: m.Token, Kubeconfig: m.Kubeconfig})
}

func strList(ctx context.Context, l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	l.ElementsAs(ctx, &out, false)
	return out
}

func strMap(ctx context.Context, m types.Map) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	m.ElementsAs(ctx, &out, false)
	return out
}

func int64Set(ctx context.Context, s types.Set) []int64 {
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	var out []int64
	s.ElementsAs(ctx, &out, false)
	return out
}
