package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func serverUserData(t *testing.T, pki *ClusterPKI, cfg map[string]any) string {
	t.Helper()
	c := map[string]any{"token": FullToken(pki.ServerCA.CertPEM, "secret"), "cluster-init": true, "node-name": "cp-1"}
	for k, v := range cfg {
		c[k] = v
	}
	ud, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: c})
	if err != nil {
		t.Fatal(err)
	}
	return ud
}

// A server that hands its nodes to an external cloud controller while k3s'
// own cloud controller or ServiceLB still runs is refused with the missing
// settings named; agents carry only the kubelet argument and boot.
func TestParseBootCloudIntegration(t *testing.T) {
	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     map[string]any
		wantErr []string // substrings; none = boots
		ext     bool
	}{
		{name: "k3s cloud controller (default)", cfg: map[string]any{}},
		{name: "k3s cloud controller off, kubelet default", cfg: map[string]any{"disable-cloud-controller": true}},
		{name: "external, both off", ext: true, cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external"},
			"disable-cloud-controller": true, "disable": []string{"traefik", "servicelb"}}},
		{name: "external as --flag, comma list, string bool", ext: true, cfg: map[string]any{"kubelet-arg": "max-pods=50,--cloud-provider=external",
			"disable-cloud-controller": "true", "disable": "servicelb"}},
		{name: "external, cloud controller on", cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external"},
			"disable": []string{"servicelb"}},
			wantErr: []string{"misconfigured cloud integration", "missing disable-cloud-controller: true"}},
		{name: "external, cloud controller explicitly on", cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external"},
			"disable-cloud-controller": false, "disable": []string{"servicelb"}},
			wantErr: []string{"missing disable-cloud-controller: true"}},
		{name: "external, servicelb on", cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external"},
			"disable-cloud-controller": true, "disable": []string{"traefik"}},
			wantErr: []string{"misconfigured cloud integration", "missing servicelb in disable"}},
		{name: "external, both on", cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external"}},
			wantErr: []string{"missing disable-cloud-controller: true and servicelb in disable"}},
		{name: "a later kubelet-arg wins", cfg: map[string]any{"kubelet-arg": []string{"cloud-provider=external", "cloud-provider="}}},
		{name: "non-boolean disable-cloud-controller", cfg: map[string]any{"disable-cloud-controller": "yes"},
			wantErr: []string{"disable-cloud-controller: want a boolean"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBoot(serverUserData(t, pki, tc.cfg), "cp-1")
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("booted, want an error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.K3s.ExternalCloudProvider != tc.ext {
				t.Errorf("external cloud provider = %v, want %v", b.K3s.ExternalCloudProvider, tc.ext)
			}
			taints, err := b.Taints()
			if err != nil {
				t.Fatal(err)
			}
			hasUninit := false
			for _, tt := range taints {
				hasUninit = hasUninit || tt == UninitializedTaint
			}
			if tc.ext {
				if b.ProviderID() != "" || !hasUninit {
					t.Errorf("external: provider ID %q, taints %v; want none and the uninitialized taint", b.ProviderID(), taints)
				}
			} else if b.ProviderID() != "k3s://cp-1" || hasUninit {
				t.Errorf("k3s cloud controller: provider ID %q, taints %v; want k3s://cp-1 and no uninitialized taint", b.ProviderID(), taints)
			}
		})
	}

	// An agent has neither server flag: the kubelet argument alone is fine.
	agent, err := RenderCloudInit(CloudInitSpec{Hostname: "w-1", Config: map[string]any{
		"token": "K10" + CAHashOf(pki.ServerCA.CertPEM) + "::node:agent", "server": "https://10.0.0.2:6443",
		"kubelet-arg": []string{"cloud-provider=external"}, "node-taint": []string{"dedicated=x:NoSchedule"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseBoot(agent, "w-1")
	if err != nil {
		t.Fatal(err)
	}
	taints, _ := a.Taints()
	if a.Role != RoleAgent || a.ProviderID() != "" || len(taints) != 2 || taints[0].Key != "dedicated" || taints[1] != UninitializedTaint {
		t.Errorf("agent: role %s, provider ID %q, taints %v", a.Role, a.ProviderID(), taints)
	}
}

// In the running sandbox a misconfigured server never becomes a node and
// says why in its status; a correctly configured one registers without a
// provider ID and with the uninitialized taint, as on k3s.
func TestSandboxExternalCloudProvider(t *testing.T) {
	bins := kubeBins(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := startStack(t, bins, t.TempDir(), testSubnet())

	bad, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	misconfigured := s.createServer(ctx, "both-1", serverUserData(t, bad, map[string]any{
		"node-name": "both-1", "kubelet-arg": []string{"cloud-provider=external"}}))
	s.waitStatus(misconfigured.ID, "no k3s node: k3s config: misconfigured cloud integration")
	if st := s.hookStatus(misconfigured.ID); !strings.Contains(st, "disable-cloud-controller: true and servicelb in disable") {
		t.Errorf("status %q does not name the missing settings", st)
	}

	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	cp := s.createServer(ctx, "cp-1", serverUserData(t, pki, map[string]any{
		"kubelet-arg": []string{"cloud-provider=external"}, "disable-cloud-controller": true, "disable": []string{"servicelb"},
	}))
	admin := clientFor(t, "https://"+cp.PublicNet.IPv4.IP.String()+":6443", pki, "admin", "system:masters")
	eventually(t, 3*time.Minute, "cp-1 Ready", func() error { _, err := nodeReady(ctx, admin, "cp-1"); return err })
	n, err := admin.CoreV1().Nodes().Get(ctx, "cp-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Spec.ProviderID != "" {
		t.Errorf("provider ID %q, want none before the cloud controller sets it", n.Spec.ProviderID)
	}
	if !hasTaint(n, UninitializedTaint.Key, UninitializedTaint.Value, "NoSchedule") {
		t.Errorf("taints %v, want %s=%s:NoSchedule", n.Spec.Taints, UninitializedTaint.Key, UninitializedTaint.Value)
	}
}
