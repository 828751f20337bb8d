package hcloudemu

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/sre-platform/platform/test/testenv"
)

// tfToken is 64 characters: the provider validates the token length.
var tfToken = strings.Repeat("t", 60) + "emu1"

// TestTerraformOfficialProvider applies a root with the official
// hetznercloud/hcloud provider against the emulator, checks that a second
// plan is empty, restarts the emulator on the same state, destroys, and
// asserts that no resource is left.
func TestTerraformOfficialProvider(t *testing.T) {
	if os.Getenv("PLATFORM_TF_ACC") == "" {
		t.Skip("SKIP: set PLATFORM_TF_ACC=1 (the tier-2 step does)")
	}
	bin, env := testenv.RequireTerraform(t)
	work := t.TempDir()
	for _, f := range []string{"main.tf"} {
		data, err := os.ReadFile(filepath.Join("testdata", "terraform", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stateDir := t.TempDir()
	start := func() (*Emulator, *httptest.Server) {
		emu, err := New(Config{StateDir: stateDir, Speed: 100, Tokens: []Token{{Project: "tf", Token: tfToken}}, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		return emu, httptest.NewServer(emu.Handler())
	}
	emu, srv := start()
	pub, _ := testKey(42)
	chain, key := testCertificate(t, "web.example.com")
	tf := func(args ...string) (time.Duration, int, string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, args...)
		cmd.Dir = work
		cmd.Env = append(append([]string{}, env...), "HCLOUD_ENDPOINT="+srv.URL+"/v1", "HCLOUD_TOKEN="+tfToken,
			"TF_VAR_ssh_public_key="+pub,
			"TF_VAR_tls_certificate="+chain, "TF_VAR_tls_private_key="+key, "TF_INPUT=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("terraform %v: %v", args, err)
		}
		return d, code, out.String()
	}
	mustTF := func(args ...string) time.Duration {
		t.Helper()
		d, code, out := tf(args...)
		if code != 0 {
			t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return d
	}
	mustTF("init", "-input=false", "-no-color")
	dApply := mustTF("apply", "-auto-approve", "-input=false", "-no-color")

	c := hcloud.NewClient(hcloud.WithEndpoint(srv.URL+"/v1"), hcloud.WithToken(tfToken))
	servers, err := c.Server.All(ctx)
	if err != nil || len(servers) != 3 {
		t.Fatalf("servers after apply: %d %v", len(servers), err)
	}
	for _, s := range servers {
		if s.Status != hcloud.ServerStatusRunning || len(s.PrivateNet) != 1 || s.PlacementGroup == nil || len(s.PublicNet.Firewalls) != 1 {
			t.Errorf("server %s: status %s private %v pg %v fw %v", s.Name, s.Status, s.PrivateNet, s.PlacementGroup, s.PublicNet.Firewalls)
		}
	}
	lb, _, err := c.LoadBalancer.GetByName(ctx, "emu-lb")
	if err != nil || lb == nil || len(lb.Targets) != 1 || len(lb.Targets[0].Targets) != 3 || len(lb.Services) != 1 {
		t.Errorf("load balancer: %+v %v", lb, err)
	}
	web, _, err := c.LoadBalancer.GetByName(ctx, "emu-web")
	if err != nil || web == nil || len(web.Services) != 1 || web.Services[0].Protocol != hcloud.LoadBalancerServiceProtocolHTTPS ||
		len(web.Services[0].HTTP.Certificates) != 1 {
		t.Errorf("https load balancer: %+v %v", web, err)
	}
	vols, err := c.Volume.All(ctx)
	if err != nil || len(vols) != 1 || vols[0].Server == nil || vols[0].LinuxDevice == "" {
		t.Errorf("volumes: %+v %v", vols, err)
	}
	fips, err := c.FloatingIP.All(ctx)
	if err != nil || len(fips) != 1 || fips[0].Server == nil || fipPtr(fips[0]) != "ingress.example.com" {
		t.Errorf("floating ips: %+v %v", fips, err)
	}

	dPlan, code, out := tf("plan", "-detailed-exitcode", "-input=false", "-no-color")
	if code != 0 {
		t.Fatalf("second plan is not empty (exit %d):\n%s", code, out)
	}

	// Restart on the same state directory, then destroy.
	srv.Close()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	emu, srv = start()
	defer func() {
		srv.Close()
		emu.Close()
	}()
	dDestroy := mustTF("destroy", "-auto-approve", "-input=false", "-no-color")

	c = hcloud.NewClient(hcloud.WithEndpoint(srv.URL+"/v1"), hcloud.WithToken(tfToken))
	// The dump counts every kind the API has, so nothing can be left over
	// unnoticed; the list calls cross-check it through the API.
	left := 0
	for _, n := range []func() (int, error){
		func() (int, error) { l, err := c.Server.All(ctx); return len(l), err },
		func() (int, error) { l, err := c.Volume.All(ctx); return len(l), err },
		func() (int, error) { l, err := c.FloatingIP.All(ctx); return len(l), err },
		func() (int, error) { l, err := c.Certificate.All(ctx); return len(l), err },
		func() (int, error) { l, err := c.LoadBalancer.All(ctx); return len(l), err },
		func() (int, error) { l, err := c.PrimaryIP.All(ctx); return len(l), err },
	} {
		k, err := n()
		if err != nil {
			t.Fatal(err)
		}
		left += k
	}
	if dump := emu.Dump("tf")["tf"]; left != 0 || dump.Total != 0 {
		t.Errorf("resources left after destroy: API %d, dump %+v", left, dump.Counts)
	}
	t.Logf("terraform apply %v, plan %v, destroy %v", dApply.Round(time.Millisecond), dPlan.Round(time.Millisecond), dDestroy.Round(time.Millisecond))
}

func fipPtr(f *hcloud.FloatingIP) string {
	ptr, err := f.GetDNSPtrForIP(f.IP)
	if err != nil {
		return ""
	}
	return ptr
}
