package hcloudemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	nw := must[*hcloud.Network](t)(e.c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("10.0.0.0/16"),
		Subnets: []hcloud.NetworkSubnet{{Type: "cloud", NetworkZone: "eu-central", IPRange: mustCIDR("10.0.1.0/24")}}}))
	s := e.createServer(hcloud.ServerCreateOpts{Name: "s", Networks: []*hcloud.Network{nw}, Labels: map[string]string{"a": "b"}})
	e.srv.Close()
	e.emu.Close()

	e2 := newEnv(t, withStateDir(dir))
	got := must[*hcloud.Server](t)(e2.c.Server.GetByID(ctx, s.ID))
	if got == nil || got.PublicNet.IPv4.IP.String() != s.PublicNet.IPv4.IP.String() || got.PrivateNet[0].IP.String() != "10.0.1.1" ||
		got.Status != hcloud.ServerStatusRunning || got.Labels["a"] != "b" {
		t.Fatalf("after restart: %+v", got)
	}
	// IDs and addresses continue, never reused.
	s2 := e2.createServer(hcloud.ServerCreateOpts{Name: "s2"})
	if s2.ID <= s.ID || s2.PublicNet.IPv4.IP.Equal(s.PublicNet.IPv4.IP) {
		t.Errorf("new server id %d ip %s collides with %d %s", s2.ID, s2.PublicNet.IPv4.IP, s.ID, s.PublicNet.IPv4.IP)
	}
	// Tokens added at run time survive too.
	if err := e2.emu.AddToken(Token{Project: "c", Token: "tok-c"}); err != nil {
		t.Fatal(err)
	}
	e2.srv.Close()
	e2.emu.Close()
	e3 := newEnv(t, withStateDir(dir))
	if _, _, err := e3.client("tok-c").Server.List(ctx, hcloud.ServerListOpts{}); err != nil {
		t.Errorf("runtime token lost: %v", err)
	}
}

type recordingHook struct {
	mu     sync.Mutex
	events []string
	infos  []ServerInfo
}

func (h *recordingHook) add(kind string, s ServerInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, kind+":"+s.Name+":"+s.Reason)
	h.infos = append(h.infos, s)
	if kind == "on" {
		s.Report("booted " + s.PublicIPv4)
	}
}

func (h *recordingHook) ServerPowerOn(_ context.Context, s ServerInfo) error {
	h.add("on", s)
	return nil
}
func (h *recordingHook) ServerPowerOff(_ context.Context, s ServerInfo) error {
	h.add("off", s)
	return nil
}
func (h *recordingHook) ServerDelete(_ context.Context, s ServerInfo) error {
	h.add("delete", s)
	return nil
}

func (h *recordingHook) snapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string{}, h.events...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRunningActionsResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir), withSpeed(10)) // create 1 s + start 0.3 s
	res := must[hcloud.ServerCreateResult](t)(e.c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "boot", ServerType: &hcloud.ServerType{Name: "cx22"},
		Image: &hcloud.Image{Name: "debian-12"}, UserData: "#cloud-config\nk3s: yes\n"}))
	e.srv.Close()
	e.emu.Close()

	hook := &recordingHook{}
	e2 := newEnv(t, withStateDir(dir), withSpeed(10), withHook(hook))
	e2.wait(append([]*hcloud.Action{res.Action}, res.NextActions...)...)
	s := must[*hcloud.Server](t)(e2.c.Server.GetByID(ctx, res.Server.ID))
	if s.Status != hcloud.ServerStatusRunning {
		t.Fatalf("status %s", s.Status)
	}
	waitFor(t, "power-on hook", func() bool { return len(hook.snapshot()) == 1 })
	hook.mu.Lock()
	info := hook.infos[0]
	hook.mu.Unlock()
	if info.UserData != "#cloud-config\nk3s: yes\n" || info.PublicIPv4 != s.PublicNet.IPv4.IP.String() || info.Project != "a" || info.Reason != "create" {
		t.Errorf("hook info %+v", info)
	}
}

func TestPowerHookAndAdmin(t *testing.T) {
	hook := &recordingHook{}
	e := newEnv(t, withHook(hook))
	c := e.c
	nw := must[*hcloud.Network](t)(c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("10.0.0.0/16"),
		Subnets: []hcloud.NetworkSubnet{{Type: "cloud", NetworkZone: "eu-central", IPRange: mustCIDR("10.0.1.0/24")}}}))
	s := e.createServer(hcloud.ServerCreateOpts{Name: "h", Networks: []*hcloud.Network{nw}, Labels: map[string]string{"k3s": "server"}})
	e.wait(must[*hcloud.Action](t)(c.Server.Reboot(ctx, s)))
	e.wait(must[*hcloud.Action](t)(c.Server.Shutdown(ctx, s)))
	e.wait(must[*hcloud.ServerDeleteResult](t)(c.Server.DeleteWithResult(ctx, s)).Action)
	want := "on:h:create,off:h:reboot,on:h:reboot,off:h:shutdown,delete:h:delete"
	waitFor(t, "hook events", func() bool { return strings.Join(hook.snapshot(), ",") == want })
	hook.mu.Lock()
	if ip := hook.infos[0].PrivateIPs[nw.ID]; ip != "10.0.1.1" || hook.infos[0].Labels["k3s"] != "server" {
		t.Errorf("hook private IPs %v labels %v", hook.infos[0].PrivateIPs, hook.infos[0].Labels)
	}
	hook.mu.Unlock()
	_, body := e.adminDo("GET", "/admin/hooks", nil)
	if st := body["servers"].([]any); len(st) != 1 || !strings.HasPrefix(st[0].(map[string]any)["status"].(string), "booted 127.") {
		t.Errorf("hook status %v", body)
	}

	// Request counts per endpoint pattern.
	_, body = e.adminDo("GET", "/admin/requests", nil)
	counts := body["requests"].(map[string]any)
	if counts["POST /v1/servers"] != 1.0 || counts["GET /v1/servers/{id}"] == nil {
		t.Errorf("counts %v", counts)
	}
	if st, _ := e.adminDo("DELETE", "/admin/requests", nil); st != 204 {
		t.Errorf("reset: %d", st)
	}
	_, body = e.adminDo("GET", "/admin/requests", nil)
	if body["total"] != 0.0 {
		t.Errorf("after reset %v", body)
	}
	// Fault injection: next-N with a 5xx, then probability 1, then cleared.
	if st, _ := e.adminDo("POST", "/admin/faults", Fault{Endpoint: "GET /v1/networks", Status: 503, Code: "service_error", Count: 1}); st != 201 {
		t.Fatalf("fault: %d", st)
	}
	st, body, _ := e.raw("GET", "/v1/networks", tokA, nil)
	if st != 503 || errCode(body) != "service_error" {
		t.Errorf("injected: %d %v", st, body)
	}
	if st, _, _ := e.raw("GET", "/v1/networks", tokA, nil); st != 200 {
		t.Errorf("fault not consumed: %d", st)
	}
	e.adminDo("POST", "/admin/faults", Fault{Endpoint: "POST /v1/networks", Status: 429, Code: "rate_limit_exceeded", Probability: 1})
	if st, _, _ := e.raw("POST", "/v1/networks", tokA, map[string]any{"name": "x", "ip_range": "10.1.0.0/16"}); st != 429 {
		t.Errorf("probability fault: %d", st)
	}
	e.adminDo("DELETE", "/admin/faults", nil)
	if st, _, _ := e.raw("POST", "/v1/networks", tokA, map[string]any{"name": "x", "ip_range": "10.1.0.0/16"}); st != 201 {
		t.Errorf("after clearing faults: %d", st)
	}
	if st, _ := e.adminDo("POST", "/admin/faults", map[string]any{"endpoint": "*"}); st != 400 {
		t.Errorf("fault without count/probability accepted: %d", st)
	}
	// Config round trip.
	st, body = e.adminDo("PUT", "/admin/config", map[string]any{"speed": 500, "latency_ms": 1, "rate_limit": 100})
	if st != 200 || body["speed"] != 500.0 || body["latency_ms"] != 1.0 || body["rate_limit"] != 100.0 {
		t.Errorf("config %d %v", st, body)
	}
	e.adminDo("PUT", "/admin/config", map[string]any{"latency_ms": 0})
	// Tokens.
	if st, _ := e.adminDo("POST", "/admin/tokens", map[string]any{"project": "new", "token": "tok-new"}); st != 201 {
		t.Fatalf("token: %d", st)
	}
	if st, _, _ := e.raw("GET", "/v1/servers", "tok-new", nil); st != 200 {
		t.Errorf("new token: %d", st)
	}
	// Dump: project a has two networks left, project new nothing.
	_, body = e.adminDo("GET", "/admin/dump", nil)
	if a := body["a"].(map[string]any); a["total"] != 2.0 || len(a["networks"].([]any)) != 2 {
		t.Errorf("dump a %v", a["counts"])
	}
	if n := body["new"].(map[string]any); n["total"] != 0.0 {
		t.Errorf("dump new %v", n)
	}
	// The admin API is not reachable under /v1 and vice versa.
	if st, body, _ := e.raw("GET", "/admin/dump", tokA, nil); st != 404 || errCode(body) != "not_found" {
		t.Errorf("admin under API listener: %d", st)
	}
	if st, _ := e.adminDo("GET", "/v1/servers", nil); st != 404 {
		t.Errorf("API under admin listener: %d", st)
	}
}

// TestMain runs the emulator child process of TestKill9 when the test binary
// is started with HCLOUDEMU_CHILD_STATE set; otherwise it runs the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv("HCLOUDEMU_CHILD_STATE"); dir != "" {
		if err := serveChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "emulator child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveChild serves an emulator on a free loopback port with its state in
// dir, announcing the address on stdout, until it is killed.
func serveChild(dir string) error {
	emu, err := New(Config{StateDir: dir, Speed: 1000, Tokens: []Token{{Project: "k", Token: "k"}}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	return http.Serve(ln, emu.Handler())
}

func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HCLOUDEMU_CHILD_STATE="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, "http://" + addr + "/v1"
		}
	}
	t.Fatal("child did not start")
	return nil, ""
}

// TestKill9 kills the emulator process with SIGKILL in the middle of a burst
// of writes: every acknowledged write is there after the restart and the
// state file is never half-written.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	cmd, url := startChild(t, dir)
	c := hcloud.NewClient(hcloud.WithEndpoint(url), hcloud.WithToken("k"), hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 0}))
	var mu sync.Mutex
	var acked []int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pg, _, err := c.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{Name: fmt.Sprintf("pg-%d-%d", w, i), Type: "spread"})
				if err != nil {
					return // the process is gone
				}
				mu.Lock()
				acked = append(acked, pg.PlacementGroup.ID)
				mu.Unlock()
			}
		}(w)
	}
	waitFor(t, "some writes", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 40 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	wg.Wait()

	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatal("state file is not valid JSON after kill -9")
	}
	_, url = startChild(t, dir)
	c = hcloud.NewClient(hcloud.WithEndpoint(url), hcloud.WithToken("k"))
	all, err := c.PlacementGroup.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, pg := range all {
		have[pg.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged placement group %d lost", id)
		}
	}
	t.Logf("%d acknowledged writes, %d present after kill -9", len(acked), len(all))
}
