package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/sre-platform/platform/provider/internal/k3s"
)

const testAgentToken = "K10abc::node:secret"

// readCloudInit runs the data source's Read over a configuration holding
// the given attributes (the rest null) and returns the resulting state.
func readCloudInit(t *testing.T, set map[string]tftypes.Value) (agentCloudInitModel, *datasource.ReadResponse) {
	t.Helper()
	ctx := context.Background()
	ds := NewAgentCloudInit()
	var sr datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for k, at := range typ.AttributeTypes {
		vals[k] = tftypes.NewValue(at, nil)
	}
	for k, v := range set {
		if _, ok := typ.AttributeTypes[k]; !ok {
			t.Fatalf("no attribute %s", k)
		}
		vals[k] = v
	}
	cfg := tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(typ, vals)}
	resp := &datasource.ReadResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	ds.Read(ctx, datasource.ReadRequest{Config: cfg}, resp)
	var m agentCloudInitModel
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Get(ctx, &m)...)
	}
	return m, resp
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func baseConfig() map[string]tftypes.Value {
	return map[string]tftypes.Value{
		"k3s_version": str("v1.31.4+k3s1"),
		"token":       str(testAgentToken),
		"server_url":  str("https://10.0.1.2:6443"),
		"node_labels": tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{
			"platform.sre/pool": str("burst")}),
		"node_taints":             tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{str("burst=true:NoSchedule")}),
		"flannel_iface":           str("enp7s0"),
		"external_cloud_provider": tftypes.NewValue(tftypes.Bool, true),
	}
}

// The data source's user data is what platform_k3s_agent boots a server
// with for the same settings: one render path.
func TestAgentCloudInitIsTheAgentsCloudInit(t *testing.T) {
	ctx := context.Background()
	cfg := baseConfig()
	cfg["node_name"] = str("burst-1")
	got, resp := readCloudInit(t, cfg)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	labels, _ := types.MapValueFrom(ctx, types.StringType, map[string]string{"platform.sre/pool": "burst"})
	taints, _ := types.ListValueFrom(ctx, types.StringType, []string{"burst=true:NoSchedule"})
	agent := &nodeModel{role: k3s.RoleAgent, Token: types.StringValue(testAgentToken), common: common{
		Name: types.StringValue("burst-1"), K3sVersion: types.StringValue("v1.31.4+k3s1"),
		ServerURL: types.StringValue("https://10.0.1.2:6443"), NodeLabels: labels, NodeTaints: taints,
		FlannelIface: types.StringValue("enp7s0"), ExternalCloud: types.BoolValue(true),
		// A new agent: metadata_guard is unknown until its plan sets it.
		MetadataGuard: types.BoolUnknown(),
	}}
	want, err := agent.render(ctx, types.StringNull())
	if err != nil {
		t.Fatal(err)
	}
	if got.UserData.ValueString() != want {
		t.Fatalf("data source user data differs from platform_k3s_agent's:\n%s\n---\n%s", got.UserData.ValueString(), want)
	}
	sum := sha256.Sum256([]byte(want))
	if got.SHA256.ValueString() != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 = %s", got.SHA256.ValueString())
	}
}

// Without node_name the cloud-init names no node (each autoscaled machine
// joins under its host name) and carries the guard, labels, taints, the
// kubelet argument, the agent token and no server material.
func TestAgentCloudInitForAPool(t *testing.T) {
	got, resp := readCloudInit(t, baseConfig())
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	ud := got.UserData.ValueString()
	for _, want := range []string{"#cloud-config\n", "token: " + testAgentToken, "server: https://10.0.1.2:6443",
		"- platform.sre/pool=burst", "- burst=true:NoSchedule", "flannel-iface: enp7s0", "- cloud-provider=external",
		k3s.GuardPath, k3s.InstallPath, "VERSION='v1.31.4+k3s1'"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user data lacks %q", want)
		}
	}
	for _, bad := range []string{"hostname:", "node-name:", "PRIVATE KEY", "agent-token", "::server:"} {
		if strings.Contains(ud, bad) {
			t.Errorf("user data carries %q", bad)
		}
	}
	if g, i := strings.Index(ud, "- "+k3s.GuardPath), strings.Index(ud, "- "+k3s.InstallPath); g < 0 || i < g {
		t.Error("the metadata guard does not run before the k3s install")
	}
	// Deterministic: the same inputs give the same bytes (no diff on refresh).
	again, _ := readCloudInit(t, baseConfig())
	if again.UserData.ValueString() != ud {
		t.Error("rendering is not deterministic")
	}
}

func TestAgentCloudInitRejectsWhatK3sWould(t *testing.T) {
	cfg := baseConfig()
	cfg["server_url"] = tftypes.NewValue(tftypes.String, nil)
	_, resp := readCloudInit(t, cfg)
	if !resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics[0].Detail(), "needs the server URL") {
		t.Fatalf("diagnostics = %v", resp.Diagnostics)
	}
}

func TestAgentCloudInitWarnsOnServerToken(t *testing.T) {
	ctx := context.Background()
	ds := NewAgentCloudInit().(datasource.DataSourceWithConfigValidators)
	var sr datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	for tok, warn := range map[string]bool{"K10abc::server:secret": true, testAgentToken: false} {
		vals := map[string]tftypes.Value{}
		for k, at := range typ.AttributeTypes {
			vals[k] = tftypes.NewValue(at, nil)
		}
		vals["token"] = str(tok)
		resp := &datasource.ValidateConfigResponse{}
		for _, v := range ds.ConfigValidators(ctx) {
			v.ValidateDataSource(ctx, datasource.ValidateConfigRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(typ, vals)}}, resp)
		}
		if got := resp.Diagnostics.WarningsCount() == 1; got != warn {
			t.Errorf("token %s: warned %v, want %v (%v)", tok, got, warn, resp.Diagnostics)
		}
	}
}
