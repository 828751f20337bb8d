package node

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/plantest"
)

// nodesOnly serves the two node resources, nothing else.
type nodesOnly struct{}

func (nodesOnly) Metadata(_ context.Context, _ provider.MetadataRequest, r *provider.MetadataResponse) {
	r.TypeName = "platform"
}
func (nodesOnly) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse)          {}
func (nodesOnly) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {}
func (nodesOnly) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewServer, NewAgent}
}
func (nodesOnly) DataSources(context.Context) []func() datasource.DataSource { return nil }

// v0State is a node as a provider of schema version 0 saved it: created
// with the cloud-init of that version (no agent token, k3s' own cloud
// controller, no metadata guard), its hash on the server label.
func v0State(t *testing.T, role k3s.Role, c k3s.NodeConfig, extra map[string]any) []byte {
	t.Helper()
	c.Role, c.K3sVersion, c.NodeName, c.WithoutMetadataGuard = role, "v1.31.4+k3s1", "old-"+string(role), true
	ud, err := k3s.CloudInit(c)
	if err != nil {
		t.Fatal(err)
	}
	m := &nodeModel{common: common{Image: types.StringValue(defaultImage), SSHKeys: types.ListNull(types.StringType)}}
	st := map[string]any{
		"id": "42", "name": c.NodeName, "node_name": c.NodeName, "server_type": "cx22", "image": defaultImage,
		"location": "fsn1", "ssh_keys": nil, "labels": nil, "network_id": nil, "private_ip": nil, "firewall_ids": nil,
		"placement_group_id": nil, "enable_ipv4": true, "enable_ipv6": true, "k3s_version": c.K3sVersion,
		"node_labels": nil, "node_taints": nil, "server_url": nil, "flannel_iface": nil, "wait_for_ready": true,
		"drain": true, "drain_timeout": "5m", "timeouts": nil, "config_hash": configHash(context.Background(), m, ud),
		"ipv4_address": "198.51.100.7", "ipv6_address": "2001:db8::1", "status": "running",
	}
	for k, v := range extra {
		st[k] = v
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Servers and agents saved at schema version 0 plan without a change (no
// replacement, since their cloud-init renders as it was created), and the
// plan says they lack the metadata guard.
func TestVersion0NodesPlanWithoutChange(t *testing.T) {
	p, err := k3s.GeneratePKI(k3s.PKIOptions{ClusterName: "old", CAValidity: 3650 * 24 * time.Hour, AdminValidity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := k3s.NewToken(p.ServerCA.CertPEM)
	bundle, _ := k3s.NewBundle("old", token, "", p).Encode()
	srv, err := providerserver.NewProtocol6WithError(nodesOnly{})()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ string
		raw []byte
		set []string
	}{
		{"platform_k3s_server", v0State(t, k3s.RoleServer, k3s.NodeConfig{Token: token, ClusterInit: true, PKI: p, Disable: []string{"traefik"}},
			map[string]any{"cluster_bundle": bundle, "cluster_init": true, "tls_san": nil, "disable": []string{"traefik"},
				"etcd_snapshot_cron": nil, "kubeconfig": nil, "admin_client_certificate": nil, "admin_client_key": nil}), []string{"cluster_init"}},
		{"platform_k3s_agent", v0State(t, k3s.RoleAgent, k3s.NodeConfig{Token: token, ServerURL: "https://10.0.1.2:6443"},
			map[string]any{"token": token, "server_url": "https://10.0.1.2:6443", "kubeconfig": "apiVersion: v1\nkind: Config\n"}), nil},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			res := plantest.UpgradeAndPlan(t, srv, tc.typ, 0, tc.raw, tc.set...)
			if c := res.Changed(); len(c) > 0 || len(res.RequiresReplace) > 0 {
				t.Errorf("upgraded state plans changes to %v (replace: %v)", c, res.RequiresReplace)
			}
			if w := res.Warnings(); !slices.ContainsFunc(w, func(s string) bool {
				return s == "The server has no metadata guard" || s == "The agent has no metadata guard"
			}) {
				t.Errorf("no warning about the missing metadata guard: %v", w)
			}
		})
	}
}
