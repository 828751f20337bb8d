package hcloudemu

import (
	"crypto/md5"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// TestNetworkLockedWhileActionRuns runs at real speed so actions are still
// running when the next write arrives: subnets may be added in parallel (as
// on Hetzner), while change_ip_range locks the network.
func TestNetworkLockedWhileActionRuns(t *testing.T) {
	e := newEnv(t, withSpeed(1))
	c := e.c
	nw := must[*hcloud.Network](t)(c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("10.0.0.0/16")}))
	for _, r := range []string{"10.0.1.0/24", "10.0.2.0/24"} {
		a := must[*hcloud.Action](t)(c.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{
			Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: mustCIDR(r)}}))
		if a.Status != hcloud.ActionStatusRunning {
			t.Fatalf("add_subnet action %s, want running", a.Status)
		}
	}
	a := must[*hcloud.Action](t)(c.Network.ChangeIPRange(ctx, nw, hcloud.NetworkChangeIPRangeOpts{IPRange: mustCIDR("10.0.0.0/15")}))
	if a.Status != hcloud.ActionStatusRunning {
		t.Fatalf("change_ip_range action %s, want running", a.Status)
	}
	_, _, err := c.Network.AddRoute(ctx, nw, hcloud.NetworkAddRouteOpts{Route: hcloud.NetworkRoute{Destination: mustCIDR("10.100.0.0/24"), Gateway: net.ParseIP("10.0.1.1")}})
	wantCode(t, err, hcloud.ErrorCodeLocked)
}

func TestNetworks(t *testing.T) {
	e := newEnv(t)
	c := e.c
	nw := must[*hcloud.Network](t)(c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("10.0.0.0/16"),
		Labels: map[string]string{"env": "test"}}))
	a := must[*hcloud.Action](t)(c.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{
		Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: mustCIDR("10.0.1.0/24")}}))
	e.wait(a)
	// Subnet without ip_range gets the next free /24.
	a = must[*hcloud.Action](t)(c.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{
		Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral}}))
	e.wait(a)
	_, _, err := c.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{
		Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: mustCIDR("10.0.1.0/25")}})
	wantCode(t, err, hcloud.ErrorCodeInvalidInput) // overlap
	a = must[*hcloud.Action](t)(c.Network.AddRoute(ctx, nw, hcloud.NetworkAddRouteOpts{Route: hcloud.NetworkRoute{Destination: mustCIDR("10.100.0.0/24"), Gateway: net.ParseIP("10.0.1.10")}}))
	e.wait(a)
	got := must[*hcloud.Network](t)(c.Network.GetByID(ctx, nw.ID))
	if len(got.Subnets) != 2 || got.Subnets[1].IPRange.String() != "10.0.0.0/24" || got.Subnets[0].Gateway.String() != "10.0.0.1" || len(got.Routes) != 1 {
		t.Fatalf("network %+v", got)
	}
	// Servers get .2 upward in the subnet.
	s1 := e.createServer(hcloud.ServerCreateOpts{Name: "s1", Networks: []*hcloud.Network{nw}})
	s2 := e.createServer(hcloud.ServerCreateOpts{Name: "s2", Networks: []*hcloud.Network{nw}})
	if ip := s1.PrivateNet[0].IP.String() + "," + s2.PrivateNet[0].IP.String(); ip != "10.0.1.1,10.0.1.2" {
		t.Errorf("private IPs %s", ip)
	}
	_, _, err = c.Network.DeleteSubnet(ctx, nw, hcloud.NetworkDeleteSubnetOpts{Subnet: got.Subnets[0]})
	wantCode(t, err, hcloud.ErrorCodeServiceError)
	a = must[*hcloud.Action](t)(c.Network.DeleteSubnet(ctx, nw, hcloud.NetworkDeleteSubnetOpts{Subnet: got.Subnets[1]}))
	e.wait(a)
	a = must[*hcloud.Action](t)(c.Network.DeleteRoute(ctx, nw, hcloud.NetworkDeleteRouteOpts{Route: got.Routes[0]}))
	e.wait(a)
	// change_ip_range: only growing.
	_, _, err = c.Network.ChangeIPRange(ctx, nw, hcloud.NetworkChangeIPRangeOpts{IPRange: mustCIDR("10.0.0.0/24")})
	wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	a = must[*hcloud.Action](t)(c.Network.ChangeIPRange(ctx, nw, hcloud.NetworkChangeIPRangeOpts{IPRange: mustCIDR("10.0.0.0/8")}))
	e.wait(a)
	// Protection.
	a = must[*hcloud.Action](t)(c.Network.ChangeProtection(ctx, nw, hcloud.NetworkChangeProtectionOpts{Delete: hcloud.Ptr(true)}))
	e.wait(a)
	_, err = c.Network.Delete(ctx, nw)
	wantCode(t, err, hcloud.ErrorCodeProtected)
	a = must[*hcloud.Action](t)(c.Network.ChangeProtection(ctx, nw, hcloud.NetworkChangeProtectionOpts{Delete: hcloud.Ptr(false)}))
	e.wait(a)
	got = must[*hcloud.Network](t)(c.Network.Update(ctx, nw, hcloud.NetworkUpdateOpts{Name: "n2"}))
	if got.Name != "n2" || got.IPRange.String() != "10.0.0.0/8" || len(got.Servers) != 2 {
		t.Errorf("network %+v", got)
	}
	// Invalid ranges.
	for _, r := range []string{"8.8.8.0/24", "10.0.0.0/28"} {
		_, _, err = c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "bad", IPRange: mustCIDR(r)})
		wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	}
	// Delete detaches servers.
	if _, err := c.Network.Delete(ctx, nw); err != nil {
		t.Fatal(err)
	}
	if s := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s1.ID)); len(s.PrivateNet) != 0 {
		t.Errorf("server still attached: %+v", s.PrivateNet)
	}
}

func TestFirewalls(t *testing.T) {
	e := newEnv(t)
	c := e.c
	s1 := e.createServer(hcloud.ServerCreateOpts{Name: "s1", Labels: map[string]string{"role": "web"}})
	s2 := e.createServer(hcloud.ServerCreateOpts{Name: "s2", Labels: map[string]string{"role": "db"}})
	rules := []hcloud.FirewallRule{{Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, Port: hcloud.Ptr("22"),
		SourceIPs: []net.IPNet{*mustCIDR("0.0.0.0/0"), *mustCIDR("::/0")}, Description: hcloud.Ptr("ssh")}}
	res := must[hcloud.FirewallCreateResult](t)(c.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw", Rules: rules,
		ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s1.ID}}}}))
	e.wait(res.Actions...)
	fw := res.Firewall
	as := must[[]*hcloud.Action](t)(c.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeLabelSelector,
		LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "role=db"}}}))
	e.wait(as...)
	_, _, err := c.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s1.ID}}})
	wantCode(t, err, hcloud.ErrorCodeFirewallAlreadyApplied)
	_, _, err = c.Firewall.ApplyResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: 999999}}})
	wantCode(t, err, hcloud.ErrorCodeFirewallResourceNotFound)
	got := must[*hcloud.Firewall](t)(c.Firewall.GetByID(ctx, fw.ID))
	if len(got.AppliedTo) != 2 || len(got.AppliedTo[1].AppliedToResources) != 1 || got.AppliedTo[1].AppliedToResources[0].Server.ID != s2.ID {
		t.Fatalf("applied_to %+v", got.AppliedTo)
	}
	if len(got.Rules) != 1 || *got.Rules[0].Port != "22" || len(got.Rules[0].SourceIPs) != 2 {
		t.Errorf("rules %+v", got.Rules)
	}
	if s := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s2.ID)); len(s.PublicNet.Firewalls) != 1 {
		t.Errorf("server firewalls %+v", s.PublicNet.Firewalls)
	}
	_, err = c.Firewall.Delete(ctx, fw)
	wantCode(t, err, hcloud.ErrorCodeResourceInUse)
	// set_rules: invalid ones are rejected.
	for _, bad := range []hcloud.FirewallRule{
		{Direction: "sideways", Protocol: "tcp", Port: hcloud.Ptr("22"), SourceIPs: []net.IPNet{*mustCIDR("0.0.0.0/0")}},
		{Direction: "in", Protocol: "tcp", SourceIPs: []net.IPNet{*mustCIDR("0.0.0.0/0")}},
		{Direction: "in", Protocol: "icmp", Port: hcloud.Ptr("1")},
		{Direction: "in", Protocol: "tcp", Port: hcloud.Ptr("70000"), SourceIPs: []net.IPNet{*mustCIDR("0.0.0.0/0")}},
	} {
		_, _, err = c.Firewall.SetRules(ctx, fw, hcloud.FirewallSetRulesOpts{Rules: []hcloud.FirewallRule{bad}})
		wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	}
	as = must[[]*hcloud.Action](t)(c.Firewall.SetRules(ctx, fw, hcloud.FirewallSetRulesOpts{Rules: []hcloud.FirewallRule{
		{Direction: "out", Protocol: "udp", Port: hcloud.Ptr("53"), DestinationIPs: []net.IPNet{*mustCIDR("0.0.0.0/0")}}}}))
	if len(as) != 3 { // set_firewall_rules + one apply per server
		t.Errorf("set_rules actions: %d", len(as))
	}
	e.wait(as...)
	as = must[[]*hcloud.Action](t)(c.Firewall.RemoveResources(ctx, fw, []hcloud.FirewallResource{
		{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s1.ID}},
		{Type: hcloud.FirewallResourceTypeLabelSelector, LabelSelector: &hcloud.FirewallResourceLabelSelector{Selector: "role=db"}}}))
	e.wait(as...)
	_, _, err = c.Firewall.RemoveResources(ctx, fw, []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s1.ID}}})
	wantCode(t, err, hcloud.ErrorCodeFirewallAlreadyRemoved)
	fw2 := must[*hcloud.Firewall](t)(c.Firewall.Update(ctx, fw, hcloud.FirewallUpdateOpts{Name: "fw2", Labels: map[string]string{"a": "b"}}))
	if fw2.Name != "fw2" {
		t.Errorf("update %+v", fw2)
	}
	if _, err := c.Firewall.Delete(ctx, fw); err != nil {
		t.Fatal(err)
	}
}

func TestPlacementGroupSpreadLimit(t *testing.T) {
	e := newEnv(t)
	c := e.c
	pg := must[hcloud.PlacementGroupCreateResult](t)(c.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "pg", Type: "spread",
		Labels: map[string]string{"x": "y"}})).PlacementGroup
	for i := 0; i < 10; i++ {
		e.createServer(hcloud.ServerCreateOpts{Name: fmt.Sprintf("s%d", i), PlacementGroup: pg,
			PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: false, EnableIPv6: true}})
	}
	_, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s10", ServerType: &hcloud.ServerType{Name: "cx22"},
		Image: &hcloud.Image{Name: "debian-12"}, PlacementGroup: pg})
	wantCode(t, err, hcloud.ErrorCodePlacementError)
	got := must[*hcloud.PlacementGroup](t)(c.PlacementGroup.GetByID(ctx, pg.ID))
	if len(got.Servers) != 10 || got.Type != "spread" {
		t.Errorf("pg %+v", got)
	}
	_, err = c.PlacementGroup.Delete(ctx, pg)
	wantCode(t, err, hcloud.ErrorCodeResourceInUse)
	_, _, err = c.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "pg", Type: "spread"})
	wantCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = c.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "pg2", Type: "cluster"})
	wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	up := must[*hcloud.PlacementGroup](t)(c.PlacementGroup.Update(ctx, pg, hcloud.PlacementGroupUpdateOpts{Name: "pg-renamed"}))
	if up.Name != "pg-renamed" {
		t.Errorf("update %+v", up)
	}
}

func TestSSHKeys(t *testing.T) {
	e := newEnv(t)
	c := e.c
	pub, blob := testKey(7)
	sum := md5.Sum(blob)
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02x", b))
	}
	wantFP := strings.Join(parts, ":")
	k := must[*hcloud.SSHKey](t)(c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: pub, Labels: map[string]string{"o": "me"}}))
	if k.Fingerprint != wantFP {
		t.Errorf("fingerprint %s, want %s", k.Fingerprint, wantFP)
	}
	if got := must[*hcloud.SSHKey](t)(c.SSHKey.GetByFingerprint(ctx, wantFP)); got == nil || got.ID != k.ID {
		t.Errorf("by fingerprint: %+v", got)
	}
	_, _, err := c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "other", PublicKey: pub})
	wantCode(t, err, hcloud.ErrorCodeUniquenessError)
	pub2, _ := testKey(8)
	_, _, err = c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: pub2})
	wantCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "bad", PublicKey: "ssh-ed25519 notbase64!"})
	wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	up := must[*hcloud.SSHKey](t)(c.SSHKey.Update(ctx, k, hcloud.SSHKeyUpdateOpts{Name: "k2"}))
	if up.Name != "k2" || up.Labels["o"] != "me" {
		t.Errorf("update %+v", up)
	}
	if _, err := c.SSHKey.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	_, err = c.SSHKey.Delete(ctx, k)
	wantCode(t, err, hcloud.ErrorCodeNotFound)
}

func TestPrimaryIPs(t *testing.T) {
	e := newEnv(t)
	c := e.c
	res := must[*hcloud.PrimaryIPCreateResult](t)(c.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "v4", Type: "ipv4", Location: "fsn1",
		AssigneeType: "server", Labels: map[string]string{"k": "v"}}))
	e.wait(res.Action)
	ip := res.PrimaryIP
	if ip.AssigneeID != 0 || ip.Location.Name != "fsn1" || !strings.HasPrefix(ip.IP.String(), "127.") {
		t.Errorf("primary ip %+v", ip)
	}
	v6 := must[*hcloud.PrimaryIPCreateResult](t)(c.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "v6", Type: "ipv6", Location: "fsn1", AssigneeType: "server"})).PrimaryIP
	if !strings.HasPrefix(v6.Network.String(), "2001:db8:") || v6.Network.String() == "" {
		t.Errorf("ipv6 %v", v6.Network)
	}
	s := e.createServer(hcloud.ServerCreateOpts{Name: "s", Location: &hcloud.Location{Name: "fsn1"},
		PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: false, EnableIPv6: false}})
	_, _, err := c.PrimaryIP.Assign(ctx, hcloud.PrimaryIPAssignOpts{ID: ip.ID, AssigneeType: "server", AssigneeID: s.ID})
	wantCode(t, err, hcloud.ErrorCodeServerNotStopped)
	e.wait(must[*hcloud.Action](t)(c.Server.Poweroff(ctx, s)))
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.Assign(ctx, hcloud.PrimaryIPAssignOpts{ID: ip.ID, AssigneeType: "server", AssigneeID: s.ID})))
	got := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s.ID))
	if got.PublicNet.IPv4.ID != ip.ID {
		t.Errorf("server ipv4 %+v", got.PublicNet.IPv4)
	}
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.ChangeDNSPtr(ctx, hcloud.PrimaryIPChangeDNSPtrOpts{ID: ip.ID, IP: ip.IP.String(), DNSPtr: "s.example.com"})))
	byIP := must[*hcloud.PrimaryIP](t)(c.PrimaryIP.GetByIP(ctx, ip.IP.String()))
	if byIP == nil || byIP.DNSPtr[ip.IP.String()] != "s.example.com" {
		t.Errorf("dns ptr %+v", byIP)
	}
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.ChangeProtection(ctx, hcloud.PrimaryIPChangeProtectionOpts{ID: ip.ID, Delete: true})))
	_, err = c.PrimaryIP.Delete(ctx, ip)
	wantCode(t, err, hcloud.ErrorCodeProtected)
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.ChangeProtection(ctx, hcloud.PrimaryIPChangeProtectionOpts{ID: ip.ID, Delete: false})))
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.Unassign(ctx, ip.ID)))
	// Deleting the server keeps a non-auto-delete primary IP.
	e.wait(must[*hcloud.Action](t)(c.PrimaryIP.Assign(ctx, hcloud.PrimaryIPAssignOpts{ID: ip.ID, AssigneeType: "server", AssigneeID: s.ID})))
	e.wait(must[*hcloud.ServerDeleteResult](t)(c.Server.DeleteWithResult(ctx, s)).Action)
	kept := must[*hcloud.PrimaryIP](t)(c.PrimaryIP.GetByID(ctx, ip.ID))
	if kept == nil || kept.AssigneeID != 0 {
		t.Errorf("kept %+v", kept)
	}
	up := must[*hcloud.PrimaryIP](t)(c.PrimaryIP.Update(ctx, kept, hcloud.PrimaryIPUpdateOpts{Name: "renamed", AutoDelete: hcloud.Ptr(true)}))
	if up.Name != "renamed" || !up.AutoDelete {
		t.Errorf("update %+v", up)
	}
	if _, err := c.PrimaryIP.Delete(ctx, ip); err != nil {
		t.Fatal(err)
	}
}

func TestLoadBalancers(t *testing.T) {
	e := newEnv(t)
	c := e.c
	nw := must[*hcloud.Network](t)(c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("10.0.0.0/16"),
		Subnets: []hcloud.NetworkSubnet{{Type: "cloud", NetworkZone: "eu-central", IPRange: mustCIDR("10.0.1.0/24")}}}))
	s1 := e.createServer(hcloud.ServerCreateOpts{Name: "s1", Labels: map[string]string{"lb": "yes"}, Networks: []*hcloud.Network{nw}})
	e.createServer(hcloud.ServerCreateOpts{Name: "s2", Labels: map[string]string{"lb": "yes"}})
	res := must[hcloud.LoadBalancerCreateResult](t)(c.LoadBalancer.Create(ctx, hcloud.LoadBalancerCreateOpts{Name: "lb",
		LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb11"}, Location: &hcloud.Location{Name: "fsn1"},
		Algorithm: &hcloud.LoadBalancerAlgorithm{Type: hcloud.LoadBalancerAlgorithmTypeLeastConnections},
		Services:  []hcloud.LoadBalancerCreateOptsService{{Protocol: hcloud.LoadBalancerServiceProtocolHTTP}},
		Targets:   []hcloud.LoadBalancerCreateOptsTarget{{Type: hcloud.LoadBalancerTargetTypeServer, Server: hcloud.LoadBalancerCreateOptsTargetServer{Server: s1}}},
	}))
	e.wait(res.Action)
	lb := res.LoadBalancer
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.AddLabelSelectorTarget(ctx, lb, hcloud.LoadBalancerAddLabelSelectorTargetOpts{Selector: "lb=yes"})))
	// A type change locks the load balancer (speed 10: 300 ms).
	slow, fast := 10.0, 1000.0
	_ = e.emu.Configure(AdminConfig{Speed: &slow})
	a := must[*hcloud.Action](t)(c.LoadBalancer.ChangeType(ctx, lb, hcloud.LoadBalancerChangeTypeOpts{LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb11"}}))
	_, _, err := c.LoadBalancer.AttachToNetwork(ctx, lb, hcloud.LoadBalancerAttachToNetworkOpts{Network: nw})
	wantCode(t, err, hcloud.ErrorCodeLocked)
	_ = e.emu.Configure(AdminConfig{Speed: &fast})
	e.wait(a)
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.AddIPTarget(ctx, lb, hcloud.LoadBalancerAddIPTargetOpts{IP: net.ParseIP("203.0.113.5")})))
	_, _, err = c.LoadBalancer.AddServerTarget(ctx, lb, hcloud.LoadBalancerAddServerTargetOpts{Server: s1})
	wantCode(t, err, hcloud.ErrorCodeTargetAlreadyDefined)
	_, _, err = c.LoadBalancer.AddServerTarget(ctx, lb, hcloud.LoadBalancerAddServerTargetOpts{Server: s1, UsePrivateIP: hcloud.Ptr(true)})
	wantCode(t, err, hcloud.ErrorCodeLoadBalancerNotAttachedToNetwork)
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.AttachToNetwork(ctx, lb, hcloud.LoadBalancerAttachToNetworkOpts{Network: nw})))
	_, _, err = c.LoadBalancer.AttachToNetwork(ctx, lb, hcloud.LoadBalancerAttachToNetworkOpts{Network: nw})
	wantCode(t, err, hcloud.ErrorCodeLoadBalancerAlreadyAttached)
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.AddService(ctx, lb, hcloud.LoadBalancerAddServiceOpts{Protocol: "tcp", ListenPort: hcloud.Ptr(6443), DestinationPort: hcloud.Ptr(6443)})))
	_, _, err = c.LoadBalancer.AddService(ctx, lb, hcloud.LoadBalancerAddServiceOpts{Protocol: "tcp", ListenPort: hcloud.Ptr(6443)})
	wantCode(t, err, hcloud.ErrorCodeSourcePortAlreadyUsed)
	got := must[*hcloud.LoadBalancer](t)(c.LoadBalancer.GetByID(ctx, lb.ID))
	if len(got.Targets) != 3 || len(got.Targets[1].Targets) != 2 || len(got.Services) != 2 || got.Algorithm.Type != "least_connections" {
		t.Fatalf("lb %+v", got)
	}
	if hs := got.Targets[0].HealthStatus; len(hs) != 2 || hs[0].Status != "healthy" {
		t.Errorf("health %+v", hs)
	}
	if got.Services[0].ListenPort != 80 || got.Services[0].HealthCheck.HTTP.Path != "/" || len(got.PrivateNet) != 1 || got.PrivateNet[0].IP.String() != "10.0.1.2" {
		t.Errorf("service/private %+v %+v", got.Services[0], got.PrivateNet)
	}
	if s := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s1.ID)); len(s.LoadBalancers) != 1 {
		t.Errorf("server load_balancers %+v", s.LoadBalancers)
	}
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.UpdateService(ctx, lb, 6443, hcloud.LoadBalancerUpdateServiceOpts{DestinationPort: hcloud.Ptr(7443)})))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.DeleteService(ctx, lb, 80)))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.ChangeAlgorithm(ctx, lb, hcloud.LoadBalancerChangeAlgorithmOpts{Type: "round_robin"})))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.ChangeType(ctx, lb, hcloud.LoadBalancerChangeTypeOpts{LoadBalancerType: &hcloud.LoadBalancerType{Name: "lb21"}})))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.RemoveLabelSelectorTarget(ctx, lb, "lb=yes")))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.RemoveServerTarget(ctx, lb, s1)))
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.DetachFromNetwork(ctx, lb, hcloud.LoadBalancerDetachFromNetworkOpts{Network: nw})))
	got = must[*hcloud.LoadBalancer](t)(c.LoadBalancer.GetByID(ctx, lb.ID))
	if got.LoadBalancerType.Name != "lb21" || len(got.Targets) != 1 || got.Services[0].DestinationPort != 7443 || len(got.PrivateNet) != 0 {
		t.Errorf("lb after changes %+v", got)
	}
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.ChangeProtection(ctx, lb, hcloud.LoadBalancerChangeProtectionOpts{Delete: hcloud.Ptr(true)})))
	_, err = c.LoadBalancer.Delete(ctx, lb)
	wantCode(t, err, hcloud.ErrorCodeProtected)
	e.wait(must[*hcloud.Action](t)(c.LoadBalancer.ChangeProtection(ctx, lb, hcloud.LoadBalancerChangeProtectionOpts{Delete: hcloud.Ptr(false)})))
	if _, err := c.LoadBalancer.Delete(ctx, lb); err != nil {
		t.Fatal(err)
	}
}

func TestCatalog(t *testing.T) {
	e := newEnv(t)
	c := e.c
	st := must[*hcloud.ServerType](t)(c.ServerType.GetByName(ctx, "cax11"))
	if st == nil || st.Architecture != hcloud.ArchitectureARM || len(st.Pricings) == 0 {
		t.Fatalf("server type %+v", st)
	}
	img := must[*hcloud.Image](t)(c.Image.GetForArchitecture(ctx, "ubuntu-24.04", hcloud.ArchitectureARM))
	if img == nil || img.Architecture != hcloud.ArchitectureARM {
		t.Fatalf("image %+v", img)
	}
	if l := must[*hcloud.Location](t)(c.Location.GetByName(ctx, "hel1")); l == nil || l.NetworkZone != "eu-central" {
		t.Errorf("location %+v", l)
	}
	if dc := must[*hcloud.Datacenter](t)(c.Datacenter.GetByName(ctx, "fsn1-dc14")); dc == nil || dc.Location.Name != "fsn1" {
		t.Errorf("datacenter %+v", dc)
	}
	if lt := must[*hcloud.LoadBalancerType](t)(c.LoadBalancerType.GetByName(ctx, "lb11")); lt == nil || lt.MaxServices != 5 {
		t.Errorf("lb type %+v", lt)
	}
	p := must[hcloud.Pricing](t)(c.Pricing.Get(ctx))
	if p.Currency != "EUR" || len(p.ServerTypes) == 0 {
		t.Errorf("pricing %+v", p)
	}
	if sts, err := c.ServerType.All(ctx); err != nil || len(sts) != len(serverTypeSpecs) {
		t.Errorf("server types %d %v", len(sts), err)
	}
}
