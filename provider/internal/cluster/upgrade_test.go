package cluster_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/sre-platform/platform/provider/internal/acctest"
	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/plantest"
)

// State of a cluster written at schema version 0 (before agent tokens): its
// servers accept agents with the server token only. After the upgrade it
// plans without a change, agent_token is the server token (so agents keep
// their token and their cloud-init), and the plan warns.
func TestVersion0StatePlansWithoutChange(t *testing.T) {
	p, err := k3s.GeneratePKI(k3s.PKIOptions{ClusterName: "old", CAValidity: 3650 * 24 * time.Hour, AdminValidity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := k3s.NewToken(p.ServerCA.CertPEM)
	bundle, _ := k3s.NewBundle("old", token, "", p).Encode()
	raw, _ := json.Marshal(map[string]any{
		"id": "0123456789abcdef", "name": "old", "k3s_version": "v1.31.4+k3s1", "api_endpoint": nil,
		"ca_validity_days": 3650, "admin_validity_days": 365, "token": token, "server_bundle": bundle,
		"server_ca_certificate": p.ServerCA.CertPEM, "client_ca_certificate": p.ClientCA.CertPEM,
		"admin_client_certificate": p.Admin.CertPEM, "admin_client_key": p.Admin.KeyPEM,
		"ca_expires_at": "2036-01-01T00:00:00Z", "admin_expires_at": "2027-01-01T00:00:00Z", "kubeconfig": nil,
	})
	srv, err := acctest.Factories["platform"]()
	if err != nil {
		t.Fatal(err)
	}
	res := plantest.UpgradeAndPlan(t, srv, "platform_k3s_cluster", 0, raw)
	if c := res.Changed(); len(c) > 0 || len(res.RequiresReplace) > 0 {
		t.Errorf("upgraded state plans changes to %v (replace: %v)", c, res.RequiresReplace)
	}
	var vals map[string]tftypes.Value
	if err := res.Planned.As(&vals); err != nil {
		t.Fatal(err)
	}
	var agentToken, bundleAfter string
	if err := vals["agent_token"].As(&agentToken); err != nil {
		t.Fatal(err)
	}
	if err := vals["server_bundle"].As(&bundleAfter); err != nil {
		t.Fatal(err)
	}
	if agentToken != token || bundleAfter != bundle {
		t.Error("agent_token is not the server token, or the bundle changed: the servers of this cluster only accept the server token")
	}
	if !slices.Contains(res.Warnings(), "Agents of this cluster hold the server token") {
		t.Errorf("no warning about the shared token: %v", res.Warnings())
	}
}
