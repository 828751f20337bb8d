package sandbox

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLoadBalancerForwardsToHealthyTargets puts an API load balancer (label
// selector, private IPs, TCP 6443) in front of a control plane and a target
// that never listens: every request through the load balancer's IP reaches
// the apiserver, and a server joining through the load balancer is Ready.
func TestLoadBalancerForwardsToHealthyTargets(t *testing.T) {
	bins := kubeBins(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := startStack(t, bins, t.TempDir(), testSubnet())
	lbs := &EmulatorLoadBalancers{Emu: s.emu, Logf: t.Logf}
	s.sb.SetLoadBalancers(lbs)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go lbs.Forward(fctx, 100*time.Millisecond)

	nw, _, err := s.hc.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "net", IPRange: mustPrefix("10.0.0.0/16"),
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: mustPrefix("10.0.1.0/24")}}})
	if err != nil {
		t.Fatal(err)
	}
	lbRes, _, err := s.hc.LoadBalancer.Create(ctx, hcloud.LoadBalancerCreateOpts{Name: "api",
		LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb11"}, Location: &hcloud.Location{Name: "fsn1"}, Network: nw,
		Services: []hcloud.LoadBalancerCreateOptsService{{Protocol: hcloud.LoadBalancerServiceProtocolTCP, ListenPort: hcloud.Ptr(6443), DestinationPort: hcloud.Ptr(6443)}},
		Targets: []hcloud.LoadBalancerCreateOptsTarget{{Type: hcloud.LoadBalancerTargetTypeLabelSelector,
			LabelSelector: hcloud.LoadBalancerCreateOptsTargetLabelSelector{Selector: "role=control-plane"}, UsePrivateIP: hcloud.Ptr(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.hc.Action.WaitFor(ctx, lbRes.Action); err != nil {
		t.Fatal(err)
	}
	lbIP := lbRes.LoadBalancer.PublicNet.IPv4.IP.String()
	lbURL := "https://" + net.JoinHostPort(lbIP, "6443")

	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	token := FullToken(pki.ServerCA.CertPEM, "lb-secret")
	create := func(name, userData string) *hcloud.Server {
		t.Helper()
		res, _, err := s.hc.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cx22"},
			Image: &hcloud.Image{Name: "ubuntu-24.04"}, Location: &hcloud.Location{Name: "fsn1"}, UserData: userData,
			Networks: []*hcloud.Network{nw}, Labels: map[string]string{"role": "control-plane"}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if err := s.hc.Action.WaitFor(ctx, res.Action); err != nil {
			t.Fatal(err)
		}
		return res.Server
	}
	ud, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": token, "cluster-init": true, "tls-san": []string{lbIP}}})
	if err != nil {
		t.Fatal(err)
	}
	create("cp-1", ud)
	// Selected by the label, running, but nothing listens on 6443.
	create("dead", "#cloud-config\n")

	admin := clientFor(t, lbURL, pki, "admin", "system:masters")
	eventually(t, 2*time.Minute, "cp-1 Ready through the load balancer", func() error { _, err := nodeReady(ctx, admin, "cp-1"); return err })
	for i := range 10 {
		if _, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("request %d through the load balancer: %v", i, err)
		}
	}

	// Servers join through the load balancer's public and private address.
	lb, _, err := s.hc.LoadBalancer.GetByID(ctx, lbRes.LoadBalancer.ID)
	if err != nil || len(lb.PrivateNet) == 0 {
		t.Fatalf("load balancer private address: %v %+v", err, lb)
	}
	privateURL := "https://" + net.JoinHostPort(lb.PrivateNet[0].IP.String(), "6443")
	for name, url := range map[string]string{"cp-2": lbURL, "cp-3": privateURL} {
		ud, _ := RenderCloudInit(CloudInitSpec{Hostname: name, PKI: pki, Config: map[string]any{"token": token, "server": url}})
		create(name, ud)
	}
	for _, name := range []string{"cp-2", "cp-3"} {
		eventually(t, 2*time.Minute, name+" joined through the load balancer", func() error { _, err := nodeReady(ctx, admin, name); return err })
	}
}

func mustPrefix(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}
