package hcloudemu

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

var ctx = context.Background()

func TestServerLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.c
	key, _ := testKey(1)
	sk := must[*hcloud.SSHKey](t)(c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k1", PublicKey: key}))
	nw := must[*hcloud.Network](t)(c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "net", IPRange: mustCIDR("10.0.0.0/16"),
		Subnets: []hcloud.NetworkSubnet{{Type: hcloud.NetworkSubnetTypeCloud, NetworkZone: hcloud.NetworkZoneEUCentral, IPRange: mustCIDR("10.0.1.0/24")}}}))
	fwRes := must[hcloud.FirewallCreateResult](t)(c.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw"}))
	pg := must[hcloud.PlacementGroupCreateResult](t)(c.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: "pg", Type: hcloud.PlacementGroupTypeSpread}))

	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{
		Name: "web-1", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "ubuntu-24.04"},
		Location: &hcloud.Location{Name: "nbg1"}, SSHKeys: []*hcloud.SSHKey{sk}, UserData: "#cloud-config\n",
		Labels: map[string]string{"role": "web"}, Networks: []*hcloud.Network{nw},
		Firewalls:      []*hcloud.ServerCreateFirewall{{Firewall: *fwRes.Firewall}},
		PlacementGroup: pg.PlacementGroup, Automount: hcloud.Ptr(false),
		PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: true, EnableIPv6: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.RootPassword != "" {
		t.Errorf("root password with ssh keys: %q", res.RootPassword)
	}
	if res.Server.Status != hcloud.ServerStatusInitializing || res.Action.Command != "create_server" {
		t.Errorf("create: status %s, action %s", res.Server.Status, res.Action.Command)
	}
	if len(res.NextActions) != 1 || res.NextActions[0].Command != "start_server" {
		t.Fatalf("next_actions: %+v", res.NextActions)
	}
	e.wait(append([]*hcloud.Action{res.Action}, res.NextActions...)...)
	s := must[*hcloud.Server](t)(c.Server.GetByID(ctx, res.Server.ID))
	if s.Status != hcloud.ServerStatusRunning {
		t.Fatalf("status %s", s.Status)
	}
	v4 := s.PublicNet.IPv4.IP
	if !net.ParseIP("127.0.0.0").Mask(net.CIDRMask(8, 32)).Equal(v4.Mask(net.CIDRMask(8, 32))) || v4.String() == "127.0.0.1" || v4.To4()[2] == 0 {
		t.Errorf("public ipv4 %s not from the 127.0.1.0+ pool", v4)
	}
	if !strings.HasPrefix(s.PublicNet.IPv6.Network.String(), "2001:db8:") {
		t.Errorf("ipv6 %v", s.PublicNet.IPv6.Network)
	}
	if len(s.PrivateNet) != 1 || s.PrivateNet[0].IP.String() != "10.0.1.1" {
		t.Errorf("private net %+v", s.PrivateNet)
	}
	if s.PlacementGroup == nil || s.PlacementGroup.ID != pg.PlacementGroup.ID {
		t.Errorf("placement group %+v", s.PlacementGroup)
	}
	if len(s.PublicNet.Firewalls) != 1 || s.Location.Name != "nbg1" || s.Image.Name != "ubuntu-24.04" || s.ServerType.Name != "cx22" {
		t.Errorf("server %+v", s)
	}
	// Auto-created primary IPs exist and are assigned.
	ips := must[[]*hcloud.PrimaryIP](t)(c.PrimaryIP.List(ctx, hcloud.PrimaryIPListOpts{}))
	if len(ips) != 2 || !ips[0].AutoDelete || ips[0].AssigneeID != s.ID {
		t.Errorf("primary ips %+v", ips)
	}

	// Power cycle.
	for _, step := range []struct {
		do   func() (*hcloud.Action, *hcloud.Response, error)
		want hcloud.ServerStatus
	}{
		{func() (*hcloud.Action, *hcloud.Response, error) { return c.Server.Poweroff(ctx, s) }, hcloud.ServerStatusOff},
		{func() (*hcloud.Action, *hcloud.Response, error) { return c.Server.Poweron(ctx, s) }, hcloud.ServerStatusRunning},
		{func() (*hcloud.Action, *hcloud.Response, error) { return c.Server.Reboot(ctx, s) }, hcloud.ServerStatusRunning},
		{func() (*hcloud.Action, *hcloud.Response, error) { return c.Server.Reset(ctx, s) }, hcloud.ServerStatusRunning},
		{func() (*hcloud.Action, *hcloud.Response, error) { return c.Server.Shutdown(ctx, s) }, hcloud.ServerStatusOff},
	} {
		a := must[*hcloud.Action](t)(step.do())
		e.wait(a)
		got := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s.ID))
		if got.Status != step.want {
			t.Fatalf("%s: status %s, want %s", a.Command, got.Status, step.want)
		}
	}

	// change_type needs a stopped server (it is off now).
	ct := must[*hcloud.Action](t)(c.Server.ChangeType(ctx, s, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cx32"}, UpgradeDisk: true}))
	e.wait(ct)
	got := must[*hcloud.Server](t)(c.Server.GetByID(ctx, s.ID))
	if got.ServerType.Name != "cx32" || got.PrimaryDiskSize != 80 || got.Status != hcloud.ServerStatusOff {
		t.Errorf("after change_type: %s disk %d status %s", got.ServerType.Name, got.PrimaryDiskSize, got.Status)
	}
	_, _, err = c.Server.ChangeType(ctx, s, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cx22"}})
	wantCode(t, err, hcloud.ErrorCodeInvalidServerType) // smaller disk
	_, _, err = c.Server.ChangeType(ctx, s, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cax21"}})
	wantCode(t, err, hcloud.ErrorCodeInvalidServerType) // architecture

	// Placement group membership changes need a stopped server.
	a := must[*hcloud.Action](t)(c.Server.RemoveFromPlacementGroup(ctx, s))
	e.wait(a)
	a = must[*hcloud.Action](t)(c.Server.AddToPlacementGroup(ctx, s, pg.PlacementGroup))
	e.wait(a)

	// Rebuild (new user data) brings it up running.
	rb := must[hcloud.ServerRebuildResult](t)(c.Server.RebuildWithResult(ctx, s, hcloud.ServerRebuildOpts{Image: &hcloud.Image{Name: "debian-12"}, UserData: hcloud.Ptr("#new")}))
	e.wait(rb.Action)
	got = must[*hcloud.Server](t)(c.Server.GetByID(ctx, s.ID))
	if got.Image.Name != "debian-12" || got.Status != hcloud.ServerStatusRunning {
		t.Errorf("after rebuild: %s %s", got.Image.Name, got.Status)
	}
	_, _, err = c.Server.ChangeType(ctx, s, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: "cx42"}})
	wantCode(t, err, hcloud.ErrorCodeServerNotStopped)
	_, _, err = c.Server.AddToPlacementGroup(ctx, s, pg.PlacementGroup)
	wantCode(t, err, hcloud.ErrorCodeServerNotStopped)

	// Networks: detach, attach with a chosen IP, already attached.
	a = must[*hcloud.Action](t)(c.Server.DetachFromNetwork(ctx, s, hcloud.ServerDetachFromNetworkOpts{Network: nw}))
	e.wait(a)
	a = must[*hcloud.Action](t)(c.Server.AttachToNetwork(ctx, s, hcloud.ServerAttachToNetworkOpts{Network: nw, IP: net.ParseIP("10.0.1.50"),
		AliasIPs: []net.IP{net.ParseIP("10.0.1.51")}}))
	e.wait(a)
	_, _, err = c.Server.AttachToNetwork(ctx, s, hcloud.ServerAttachToNetworkOpts{Network: nw})
	wantCode(t, err, hcloud.ErrorCodeServerAlreadyAttached)
	got = must[*hcloud.Server](t)(c.Server.GetByID(ctx, s.ID))
	if got.PrivateNet[0].IP.String() != "10.0.1.50" || len(got.PrivateNet[0].Aliases) != 1 {
		t.Errorf("private net after attach: %+v", got.PrivateNet)
	}

	// Update.
	got = must[*hcloud.Server](t)(c.Server.Update(ctx, s, hcloud.ServerUpdateOpts{Name: "web-renamed", Labels: map[string]string{"role": "db"}}))
	if got.Name != "web-renamed" || got.Labels["role"] != "db" {
		t.Errorf("update: %+v", got)
	}

	// Protection blocks delete and rebuild.
	a = must[*hcloud.Action](t)(c.Server.ChangeProtection(ctx, s, hcloud.ServerChangeProtectionOpts{Delete: hcloud.Ptr(true), Rebuild: hcloud.Ptr(true)}))
	e.wait(a)
	_, _, err = c.Server.DeleteWithResult(ctx, s)
	wantCode(t, err, hcloud.ErrorCodeProtected)
	_, _, err = c.Server.RebuildWithResult(ctx, s, hcloud.ServerRebuildOpts{Image: &hcloud.Image{Name: "debian-12"}})
	wantCode(t, err, hcloud.ErrorCodeProtected)
	a = must[*hcloud.Action](t)(c.Server.ChangeProtection(ctx, s, hcloud.ServerChangeProtectionOpts{Delete: hcloud.Ptr(false), Rebuild: hcloud.Ptr(false)}))
	e.wait(a)

	del := must[*hcloud.ServerDeleteResult](t)(c.Server.DeleteWithResult(ctx, s))
	e.wait(del.Action)
	if got, _, err := c.Server.GetByID(ctx, s.ID); err != nil || got != nil {
		t.Fatalf("server still there: %v %v", got, err)
	}
	ips = must[[]*hcloud.PrimaryIP](t)(c.PrimaryIP.List(ctx, hcloud.PrimaryIPListOpts{}))
	if len(ips) != 0 {
		t.Errorf("auto-delete primary IPs left: %d", len(ips))
	}
	fw := must[*hcloud.Firewall](t)(c.Firewall.GetByID(ctx, fwRes.Firewall.ID))
	if len(fw.AppliedTo) != 0 {
		t.Errorf("firewall still applied: %+v", fw.AppliedTo)
	}
}

func TestServerStatusTransitions(t *testing.T) {
	// Speed 10: create 1 s, start 0.3 s, stop 0.2 s.
	e := newEnv(t, withSpeed(10))
	c := e.c
	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := []hcloud.ServerStatus{res.Server.Status}
	record := func() {
		s := must[*hcloud.Server](t)(c.Server.GetByID(ctx, res.Server.ID))
		if seen[len(seen)-1] != s.Status {
			seen = append(seen, s.Status)
		}
	}
	// Locked while initializing.
	_, _, err = c.Server.Poweroff(ctx, res.Server)
	wantCode(t, err, hcloud.ErrorCodeLocked)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		record()
		if seen[len(seen)-1] == hcloud.ServerStatusRunning {
			break
		}
	}
	a := must[*hcloud.Action](t)(c.Server.Poweroff(ctx, res.Server))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		record()
		if seen[len(seen)-1] == hcloud.ServerStatusOff {
			break
		}
	}
	e.wait(a)
	want := []hcloud.ServerStatus{"initializing", "starting", "running", "stopping", "off"}
	if strings.Join(statusStrings(seen), ",") != strings.Join(statusStrings(want), ",") {
		t.Errorf("status sequence %v, want %v", seen, want)
	}
	// Action progress and timestamps.
	got := must[*hcloud.Action](t)(c.Action.GetByID(ctx, a.ID))
	if got.Status != hcloud.ActionStatusSuccess || got.Progress != 100 || got.Finished.Before(got.Started) {
		t.Errorf("action %+v", got)
	}
}

func statusStrings(s []hcloud.ServerStatus) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestServerCreateWithoutPublicNetAndPrimaryIPs(t *testing.T) {
	e := newEnv(t)
	c := e.c
	pip := must[*hcloud.PrimaryIPCreateResult](t)(c.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "ip", Type: hcloud.PrimaryIPTypeIPv4,
		Location: "fsn1", AssigneeType: "server"}))
	e.wait(pip.Action)
	s := e.createServer(hcloud.ServerCreateOpts{Name: "a", Location: &hcloud.Location{Name: "fsn1"},
		PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: pip.PrimaryIP, EnableIPv6: false}})
	if s.PublicNet.IPv4.ID != pip.PrimaryIP.ID || !s.PublicNet.IPv6.IP.IsUnspecified() && s.PublicNet.IPv6.IP != nil {
		t.Errorf("public net %+v", s.PublicNet)
	}
	_, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "b", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"},
		Location: &hcloud.Location{Name: "fsn1"}, PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: pip.PrimaryIP}})
	wantCode(t, err, hcloud.ErrorCodePrimaryIPAssigned)
	// Without public net and without starting.
	res := must[hcloud.ServerCreateResult](t)(c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "c", ServerType: &hcloud.ServerType{Name: "cx22"},
		Image: &hcloud.Image{Name: "debian-12"}, StartAfterCreate: hcloud.Ptr(false),
		PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: false, EnableIPv6: false}}))
	if res.RootPassword == "" || len(res.NextActions) != 0 {
		t.Errorf("root password %q, next actions %d", res.RootPassword, len(res.NextActions))
	}
	e.wait(res.Action)
	got := must[*hcloud.Server](t)(c.Server.GetByID(ctx, res.Server.ID))
	if got.Status != hcloud.ServerStatusOff {
		t.Errorf("status %s", got.Status)
	}
	// Unknown server type / image / location are invalid_input.
	for _, o := range []hcloud.ServerCreateOpts{
		{Name: "x", ServerType: &hcloud.ServerType{Name: "nope"}, Image: &hcloud.Image{Name: "debian-12"}},
		{Name: "x", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "nope"}},
		{Name: "x", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "ash"}},
		{Name: "not a hostname", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}},
	} {
		_, _, err := c.Server.Create(ctx, o)
		wantCode(t, err, hcloud.ErrorCodeInvalidInput)
	}
}

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}
