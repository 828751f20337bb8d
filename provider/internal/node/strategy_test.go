package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/plantest"
)

func versionModel(version, strategy, installed, running string) *nodeModel {
	str := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	return &nodeModel{role: k3s.RoleServer, common: common{Name: types.StringValue("c-cp-1"), NodeName: types.StringValue("c-cp-1"),
		K3sVersion: str(version), UpgradeStrategy: str(strategy), InstalledVersion: str(installed), RunningVersion: str(running)}}
}

// The release a planned cloud-init carries: a new node's is k3s_version;
// in place, an existing node keeps its own (state from before the attribute
// counts as its k3s_version); with replace it follows k3s_version.
func TestPlanInstalledVersion(t *testing.T) {
	for _, tc := range []struct {
		name        string
		plan, state *nodeModel
		want        string
	}{
		{"new node", versionModel("v1.35.0+k3s1", StrategyInPlace, "", ""), nil, "v1.35.0+k3s1"},
		{"in-place keeps", versionModel("v1.35.0+k3s1", StrategyInPlace, "", ""),
			versionModel("v1.34.4+k3s1", StrategyInPlace, "v1.34.4+k3s1", "v1.34.4+k3s1"), "v1.34.4+k3s1"},
		{"in-place keeps across two changes", versionModel("v1.36.1+k3s1", StrategyInPlace, "", ""),
			versionModel("v1.35.0+k3s1", StrategyInPlace, "v1.34.4+k3s1", ""), "v1.34.4+k3s1"},
		{"in-place, state without the attribute", versionModel("v1.35.0+k3s1", StrategyInPlace, "", ""),
			versionModel("v1.34.4+k3s1", StrategyReplace, "", ""), "v1.34.4+k3s1"},
		{"replace follows", versionModel("v1.35.0+k3s1", StrategyReplace, "", ""),
			versionModel("v1.34.4+k3s1", StrategyReplace, "v1.34.4+k3s1", ""), "v1.35.0+k3s1"},
		{"switch to replace follows", versionModel("v1.35.0+k3s1", StrategyReplace, "", ""),
			versionModel("v1.35.0+k3s1", StrategyInPlace, "v1.34.4+k3s1", ""), "v1.35.0+k3s1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.plan.planInstalledVersion(tc.state)
			if got := tc.plan.InstalledVersion.ValueString(); got != tc.want {
				t.Errorf("installed_k3s_version %q, want %q", got, tc.want)
			}
			if got := tc.plan.cloudInitVersion().ValueString(); got != tc.want {
				t.Errorf("the cloud-init renders %q, want %q", got, tc.want)
			}
		})
	}
}

// An in-place k3s_version change keeps the cloud-init (same hash), a
// replace one does not.
func TestInPlaceVersionChangeKeepsTheHash(t *testing.T) {
	ctx := context.Background()
	render := func(m *nodeModel) string {
		m.role = k3s.RoleAgent
		m.Token = types.StringValue("K10abc::node:secret")
		m.ServerURL = types.StringValue("https://10.0.1.2:6443")
		m.Image = types.StringValue(defaultImage)
		if err := m.hash(ctx, types.StringNull()); err != nil {
			t.Fatal(err)
		}
		return m.ConfigHash.ValueString()
	}
	state := versionModel("v1.34.4+k3s1", StrategyInPlace, "v1.34.4+k3s1", "")
	before := render(state)
	inPlace := versionModel("v1.35.0+k3s1", StrategyInPlace, "", "")
	inPlace.planInstalledVersion(state)
	if h := render(inPlace); h != before {
		t.Errorf("in-place version change altered the configuration hash (%s → %s)", before, h)
	}
	replace := versionModel("v1.35.0+k3s1", StrategyReplace, "", "")
	replace.planInstalledVersion(state)
	if h := render(replace); h == before {
		t.Error("replace version change kept the configuration hash")
	}
}

func TestVersionWarnings(t *testing.T) {
	for _, tc := range []struct {
		name        string
		plan, state *nodeModel
		want        []string // summaries, and a phrase of each detail
	}{
		{"nothing to say", versionModel("v1.34.4+k3s1", StrategyInPlace, "v1.34.4+k3s1", ""),
			versionModel("v1.34.4+k3s1", StrategyInPlace, "v1.34.4+k3s1", "v1.34.4+k3s1"), nil},
		{"running unknown", versionModel("v1.34.4+k3s1", StrategyReplace, "v1.34.4+k3s1", ""),
			versionModel("v1.34.4+k3s1", StrategyReplace, "v1.34.4+k3s1", ""), nil},
		{"in-place change", versionModel("v1.35.0+k3s1", StrategyInPlace, "v1.34.4+k3s1", ""),
			versionModel("v1.34.4+k3s1", StrategyInPlace, "v1.34.4+k3s1", "v1.34.4+k3s1"),
			[]string{"k3s_version changes in place", "from v1.34.4+k3s1 to v1.35.0+k3s1",
				"Node runs another k3s release", "reports kubelet v1.34.4+k3s1, k3s_version is v1.35.0+k3s1"}},
		{"upgrade under way", versionModel("v1.35.0+k3s1", StrategyInPlace, "v1.34.4+k3s1", ""),
			versionModel("v1.35.0+k3s1", StrategyInPlace, "v1.34.4+k3s1", "v1.34.4+k3s1"),
			[]string{"Node runs another k3s release", "system-upgrade-controller's Plans move it"}},
		{"changed outside Terraform", versionModel("v1.34.4+k3s1", StrategyReplace, "v1.34.4+k3s1", ""),
			versionModel("v1.34.4+k3s1", StrategyReplace, "v1.34.4+k3s1", "v1.34.2+k3s1"),
			[]string{"Node runs another k3s release", "changed on the node outside Terraform"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := versionWarnings(k3s.RoleServer, tc.plan, tc.state)
			if diags.HasError() {
				t.Fatalf("errors: %v", diags)
			}
			var text []string
			for _, d := range diags {
				text = append(text, d.Summary()+": "+d.Detail())
			}
			all := strings.Join(text, "\n")
			if len(tc.want) == 0 && len(diags) > 0 {
				t.Fatalf("unexpected warnings:\n%s", all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("warnings lack %q:\n%s", w, all)
				}
			}
		})
	}
}

// Nodes saved at schema version 1 (before upgrade strategies) plan without a
// change: the upgrade records the replace strategy and the k3s_version they
// were created with.
func TestVersion1NodesPlanWithoutChange(t *testing.T) {
	p, err := k3s.GeneratePKI(k3s.PKIOptions{ClusterName: "old", CAValidity: 3650 * 24 * time.Hour, AdminValidity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := k3s.NewToken(p.ServerCA.CertPEM)
	srv, err := providerserver.NewProtocol6WithError(nodesOnly{})()
	if err != nil {
		t.Fatal(err)
	}
	raw := v0State(t, k3s.RoleAgent, k3s.NodeConfig{Token: token, ServerURL: "https://10.0.1.2:6443"},
		map[string]any{"token": token, "server_url": "https://10.0.1.2:6443", "kubeconfig": "apiVersion: v1\nkind: Config\n",
			"external_cloud_provider": false, "metadata_guard": false})
	res := plantest.UpgradeAndPlan(t, srv, "platform_k3s_agent", 1, raw)
	if c := res.Changed(); len(c) > 0 || len(res.RequiresReplace) > 0 {
		t.Errorf("upgraded state plans changes to %v (replace: %v)", c, res.RequiresReplace)
	}
	var prior map[string]tftypes.Value
	if err := res.Prior.As(&prior); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"upgrade_strategy": StrategyReplace, "installed_k3s_version": "v1.31.4+k3s1"} {
		var got string
		if err := prior[k].As(&got); err != nil || got != want {
			t.Errorf("upgraded %s = %q (%v), want %q", k, got, err, want)
		}
	}
	if !prior["running_k3s_version"].IsNull() {
		t.Errorf("upgraded running_k3s_version = %v, want null", prior["running_k3s_version"])
	}
}
