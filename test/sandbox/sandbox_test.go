package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/sre-platform/platform/test/hcloudemu"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testToken = "sandbox-test-token"

// stack is the emulator with the sandbox on its power hooks.
type stack struct {
	t     testing.TB
	emu   *hcloudemu.Emulator
	sb    *Sandbox
	api   *httptest.Server
	admin *httptest.Server
	hc    *hcloud.Client
}

func startStack(t testing.TB, bins, stateDir, subnet string) *stack {
	t.Helper()
	sb, err := New(Config{StateDir: filepath.Join(stateDir, "sandbox"), ControlPlane: ControlPlaneOptions{BinDir: bins, StopGrace: 5 * time.Second},
		HeartbeatInterval: time.Second, NodeGrace: 4 * time.Second, JoinRetry: 500 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	emu, err := hcloudemu.New(hcloudemu.Config{StateDir: filepath.Join(stateDir, "emulator"), Speed: 50,
		IPv4Pool: netip.MustParsePrefix(subnet + ".0/24"), Tokens: []hcloudemu.Token{{Project: "p", Token: testToken}},
		Hook: sb, Logf: t.Logf})
	if err != nil {
		sb.Close()
		t.Fatal(err)
	}
	s := &stack{t: t, emu: emu, sb: sb, api: httptest.NewServer(emu.Handler()), admin: httptest.NewServer(emu.AdminHandler())}
	s.hc = hcloud.NewClient(hcloud.WithEndpoint(s.api.URL+"/v1"), hcloud.WithToken(testToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(50 * time.Millisecond)}))
	t.Cleanup(s.stop)
	return s
}

func (s *stack) stop() {
	if s.emu == nil {
		return
	}
	s.api.Close()
	s.admin.Close()
	s.emu.Close()
	s.sb.Close()
	s.emu = nil
}

func (s *stack) createServer(ctx context.Context, name, userData string) *hcloud.Server {
	s.t.Helper()
	res, _, err := s.hc.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cx22"},
		Image: &hcloud.Image{Name: "ubuntu-24.04"}, Location: &hcloud.Location{Name: "fsn1"}, UserData: userData})
	if err != nil {
		s.t.Fatalf("create %s: %v", name, err)
	}
	if err := s.hc.Action.WaitFor(ctx, res.Action); err != nil {
		s.t.Fatalf("create %s: %v", name, err)
	}
	srv, _, err := s.hc.Server.GetByID(ctx, res.Server.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return srv
}

func (s *stack) deleteServer(ctx context.Context, srv *hcloud.Server) {
	s.t.Helper()
	res, _, err := s.hc.Server.DeleteWithResult(ctx, srv)
	if err != nil {
		s.t.Fatalf("delete %s: %v", srv.Name, err)
	}
	if err := s.hc.Action.WaitFor(ctx, res.Action); err != nil {
		s.t.Fatalf("delete %s: %v", srv.Name, err)
	}
}

// hookStatus is the status text the admin API shows for a server.
func (s *stack) hookStatus(id int64) string {
	resp, err := http.Get(s.admin.URL + "/admin/hooks")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Servers []hcloudemu.HookStatus `json:"servers"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	for _, st := range body.Servers {
		if st.ServerID == id {
			return st.Status
		}
	}
	return ""
}

func (s *stack) waitStatus(id int64, substr string) {
	s.t.Helper()
	eventually(s.t, 60*time.Second, "status of server "+fmt.Sprint(id)+" contains "+substr, func() error {
		if st := s.hookStatus(id); !strings.Contains(st, substr) {
			return fmt.Errorf("status %q", st)
		}
		return nil
	})
}

func TestSandboxClusterLifecycle(t *testing.T) {
	bins := kubeBins(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	state := t.TempDir()
	subnet := testSubnet()
	s := startStack(t, bins, state, subnet)

	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-cluster-secret"
	agentToken := "K10" + CAHashOf(pki.ServerCA.CertPEM) + "::node:agent-only-secret"
	serverUD, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": FullToken(pki.ServerCA.CertPEM, secret), "agent-token": agentToken, "cluster-init": true, "node-name": "cp-1",
		"tls-san": []string{"api.sandbox.test"}, "node-label": []string{"pool=control-plane"},
		"disable": []string{"traefik"}, "etcd-snapshot-schedule-cron": "0 */6 * * *",
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cp1 := s.createServer(ctx, "cp-1", serverUD)
	ip1 := cp1.PublicNet.IPv4.IP.String()
	url1 := "https://" + ip1 + ":6443"
	admin := clientFor(t, url1, pki, "admin", "system:masters")
	eventually(t, 3*time.Minute, "cp-1 Ready", func() error { _, err := nodeReady(ctx, admin, "cp-1"); return err })
	t.Logf("server created → node Ready in %s", time.Since(start).Round(time.Millisecond))
	s.waitStatus(cp1.ID, "node Ready")
	n, _ := nodeReady(ctx, admin, "cp-1")
	if n.Labels["node-role.kubernetes.io/control-plane"] != "true" || n.Labels["pool"] != "control-plane" {
		t.Errorf("cp-1 labels %v", n.Labels)
	}
	if !hasAddress(n, corev1.NodeExternalIP, ip1) && !hasAddress(n, corev1.NodeInternalIP, ip1) {
		t.Errorf("cp-1 addresses %v", n.Status.Addresses)
	}
	for _, st := range s.sb.Clusters() {
		t.Logf("cluster %s: apiserver %d MiB, etcd %d MiB RSS", st.ID, st.APIServerMB, st.EtcdMB)
	}

	// A client certificate from another CA is rejected.
	other, _ := GenerateClusterPKI()
	foreign := *pki
	foreign.ClientCA = other.ClientCA
	if _, err := clientFor(t, url1, &foreign, "admin", "system:masters").CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !isUnauthorized(err) {
		t.Fatalf("foreign client CA: want 401, got %v", err)
	}

	// An agent joins with a bare token, labels and taints.
	agentUD, _ := RenderCloudInit(CloudInitSpec{Hostname: "worker-1", Config: map[string]any{
		"token": secret, "server": url1, "node-label": []string{"pool=workers", "tier=app"},
		"node-taint": []string{"dedicated=app:NoSchedule"},
	}})
	w1 := s.createServer(ctx, "worker-1", agentUD)
	eventually(t, time.Minute, "worker-1 Ready", func() error { _, err := nodeReady(ctx, admin, "worker-1"); return err })
	n, _ = nodeReady(ctx, admin, "worker-1")
	if n.Labels["pool"] != "workers" || n.Labels["tier"] != "app" || n.Labels["node-role.kubernetes.io/control-plane"] != "" {
		t.Errorf("worker-1 labels %v", n.Labels)
	}
	if !hasTaint(n, "dedicated", "app", corev1.TaintEffectNoSchedule) {
		t.Errorf("worker-1 taints %v", n.Spec.Taints)
	}
	if !hasAddress(n, corev1.NodeExternalIP, w1.PublicNet.IPv4.IP.String()) {
		t.Errorf("worker-1 addresses %v", n.Status.Addresses)
	}

	// An agent joins with the agent token; a server with it is refused.
	w2UD, _ := RenderCloudInit(CloudInitSpec{Hostname: "worker-2", Config: map[string]any{"token": agentToken, "server": url1}})
	w2 := s.createServer(ctx, "worker-2", w2UD)
	eventually(t, time.Minute, "worker-2 Ready", func() error { _, err := nodeReady(ctx, admin, "worker-2"); return err })
	usurperUD, _ := RenderCloudInit(CloudInitSpec{Hostname: "usurper", PKI: pki, Config: map[string]any{
		"token": agentToken, "server": url1}})
	usurper := s.createServer(ctx, "usurper", usurperUD)

	// Wrong token: refused. Unknown server: waits. Broken cloud-init: runs, no node.
	badUD, _ := RenderCloudInit(CloudInitSpec{Config: map[string]any{"token": "wrong", "server": url1}})
	bad := s.createServer(ctx, "intruder", badUD)
	lostUD, _ := RenderCloudInit(CloudInitSpec{Config: map[string]any{"token": secret, "server": "https://" + subnet + ".250:6443"}})
	lost := s.createServer(ctx, "lost", lostUD)
	broken := s.createServer(ctx, "broken", "#cloud-config\nwrite_files: [\n")
	s.waitStatus(bad.ID, "token does not match")
	s.waitStatus(usurper.ID, "token does not match")
	s.waitStatus(lost.ID, "waiting to join")
	s.waitStatus(broken.ID, "no k3s node")
	if srv, _, _ := s.hc.Server.GetByID(ctx, broken.ID); srv.Status != hcloud.ServerStatusRunning {
		t.Errorf("broken server status %s", srv.Status)
	}
	for _, name := range []string{"intruder", "usurper", "lost", "broken"} {
		if _, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			t.Errorf("node %s registered", name)
		}
	}

	// A second server joins and serves the API on its own IP.
	cp2UD, _ := RenderCloudInit(CloudInitSpec{Hostname: "cp-2", PKI: pki, Config: map[string]any{
		"token": FullToken(pki.ServerCA.CertPEM, secret), "server": url1, "tls-san": []string{"api.sandbox.test"}}})
	cp2 := s.createServer(ctx, "cp-2", cp2UD)
	url2 := "https://" + cp2.PublicNet.IPv4.IP.String() + ":6443"
	admin2 := clientFor(t, url2, pki, "admin", "system:masters")
	eventually(t, 2*time.Minute, "cp-2 Ready via its own IP", func() error { _, err := nodeReady(ctx, admin2, "cp-2"); return err })

	s.deleteServer(ctx, w2)
	s.deleteServer(ctx, usurper)

	// Deleting the agent: its Node goes NotReady (Unknown) and stays.
	s.deleteServer(ctx, w1)
	eventually(t, time.Minute, "worker-1 NotReady", func() error {
		n, err := admin.CoreV1().Nodes().Get(ctx, "worker-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c := readyCondition(n); c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" {
			return fmt.Errorf("ready condition %+v", c)
		}
		if !hasTaint(n, corev1.TaintNodeUnreachable, "", corev1.TaintEffectNoExecute) {
			return fmt.Errorf("no unreachable taint: %v", n.Spec.Taints)
		}
		return nil
	})

	// Restart the emulator and the sandbox on the same state.
	s.stop()
	s = startStack(t, bins, state, subnet)
	admin = clientFor(t, url1, pki, "admin", "system:masters")
	restart := time.Now()
	s.waitStatus(cp1.ID, "node Ready")
	t.Logf("restart → cp-1 registered again in %s", time.Since(restart).Round(time.Millisecond))
	eventually(t, time.Minute, "cp-1 Ready after restart", func() error { _, err := nodeReady(ctx, admin, "cp-1"); return err })
	s.waitStatus(cp2.ID, "node Ready")
	eventually(t, time.Minute, "cp-2 Ready after restart", func() error { _, err := nodeReady(ctx, admin, "cp-2"); return err })
	if _, err := admin.CoreV1().Nodes().Get(ctx, "worker-1", metav1.GetOptions{}); err != nil {
		t.Errorf("worker-1 Node lost across restart: %v", err)
	}

	// Powering off the first server moves the API to the second one.
	res, _, err := s.hc.Server.Poweroff(ctx, cp1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.hc.Action.WaitFor(ctx, res); err != nil {
		t.Fatal(err)
	}
	admin2 = clientFor(t, url2, pki, "admin", "system:masters")
	eventually(t, 2*time.Minute, "cp-1 NotReady, seen through cp-2", func() error {
		n, err := admin2.CoreV1().Nodes().Get(ctx, "cp-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c := readyCondition(n); c == nil || c.Status != corev1.ConditionUnknown {
			return fmt.Errorf("ready %+v", c)
		}
		return nil
	})

	// Deleting every server frees the cluster's data.
	clusterDir := filepath.Join(state, "sandbox", "clusters", clusterID(pki))
	if _, err := os.Stat(clusterDir); err != nil {
		t.Fatalf("cluster dir: %v", err)
	}
	for _, srv := range []*hcloud.Server{cp1, cp2, bad, lost, broken} {
		s.deleteServer(ctx, srv)
	}
	eventually(t, time.Minute, "cluster data removed", func() error {
		if _, err := os.Stat(clusterDir); err == nil {
			return fmt.Errorf("%s still exists", clusterDir)
		}
		return nil
	})
	if len(s.sb.Clusters()) != 0 {
		t.Errorf("clusters left: %+v", s.sb.Clusters())
	}
}

func hasAddress(n *corev1.Node, typ corev1.NodeAddressType, addr string) bool {
	for _, a := range n.Status.Addresses {
		if a.Type == typ && a.Address == addr {
			return true
		}
	}
	return false
}

func hasTaint(n *corev1.Node, key, value string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Value == value && t.Effect == effect {
			return true
		}
	}
	return false
}
