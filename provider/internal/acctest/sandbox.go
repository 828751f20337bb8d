package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sre-platform/platform/test/hcloudemu"
	"github.com/sre-platform/platform/test/sandbox"
	"github.com/sre-platform/platform/test/testenv"
)

// Token is the Hetzner token the acceptance tests use against the emulator
// (64 characters, like a real one).
const Token = "acceptancetestsacceptancetestsacceptancetestsacceptancetests0000"

// Env is a Hetzner Cloud emulator, optionally with the k3s boot simulation,
// serving on loopback for one test.
type Env struct {
	t        testing.TB
	Emulator *hcloudemu.Emulator
	Sandbox  *sandbox.Sandbox
	// Endpoint is the /v1 URL for hcloud_endpoint / HCLOUD_ENDPOINT.
	Endpoint string
	admin    *httptest.Server
	booted   *userDataLog
	creates  createLog
}

// createLog records when the emulator received each server create request,
// by server name: the moment a server's own boot starts.
type createLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

// record wraps the emulator's API handler: a POST /v1/servers is timed on
// arrival and its body handed on unchanged.
func (l *createLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/v1/servers" {
			at := time.Now()
			body, err := io.ReadAll(r.Body)
			if err == nil {
				var req struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(body, &req) == nil && req.Name != "" {
					l.mu.Lock()
					if _, seen := l.at[req.Name]; !seen { // a retried create keeps its first attempt
						l.at[req.Name] = at
					}
					l.mu.Unlock()
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// ServerCreates returns when each server's create request reached the
// emulator, by server name (the first attempt when the provider retried).
func (e *Env) ServerCreates() map[string]time.Time {
	e.creates.mu.Lock()
	defer e.creates.mu.Unlock()
	out := make(map[string]time.Time, len(e.creates.at))
	for k, v := range e.creates.at {
		out[k] = v
	}
	return out
}

// userDataLog records the user data of every server that powers on, by
// name, and passes the event on to the k3s boot simulation when there is one.
type userDataLog struct {
	mu     sync.Mutex
	byName map[string]string
	next   hcloudemu.PowerHook
}

func (l *userDataLog) ServerPowerOn(ctx context.Context, s hcloudemu.ServerInfo) error {
	l.mu.Lock()
	l.byName[s.Name] = s.UserData
	l.mu.Unlock()
	if l.next == nil {
		return nil
	}
	return l.next.ServerPowerOn(ctx, s)
}

func (l *userDataLog) ServerPowerOff(ctx context.Context, s hcloudemu.ServerInfo) error {
	if l.next == nil {
		return nil
	}
	return l.next.ServerPowerOff(ctx, s)
}

func (l *userDataLog) ServerDelete(ctx context.Context, s hcloudemu.ServerInfo) error {
	if l.next == nil {
		return nil
	}
	return l.next.ServerDelete(ctx, s)
}

// UserData is the user data the server named name booted with ("" when no
// such server powered on): what Hetzner's metadata service would serve.
func (e *Env) UserData(name string) string {
	e.booted.mu.Lock()
	defer e.booted.mu.Unlock()
	return e.booted.byName[name]
}

// Options tune the environment.
type Options struct {
	// Speed divides Hetzner's action durations (server create ≈ 10 s / Speed).
	Speed float64
	// K3s starts the boot simulation: servers whose cloud-init is a k3s
	// server run a real kube-apiserver; nodes register and become Ready.
	K3s bool
	// IPv4Pool for server addresses (default a /24 of 127/8 unique per test).
	IPv4Pool string
}

var poolSeq = 10

// Start brings up the environment and sets HCLOUD_ENDPOINT and HCLOUD_TOKEN
// for the test, so provider blocks need no settings.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("Acceptance tests skipped unless env 'TF_ACC' set")
	}
	if o.Speed == 0 {
		o.Speed = 20
	}
	if o.IPv4Pool == "" {
		poolSeq++
		o.IPv4Pool = fmt.Sprintf("127.%d.%d.0/24", 40+poolSeq/250, poolSeq%250)
	}
	pool, err := netipPrefix(o.IPv4Pool)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{t: t, booted: &userDataLog{byName: map[string]string{}}, creates: createLog{at: map[string]time.Time{}}}
	cfg := hcloudemu.Config{
		StateDir: t.TempDir(),
		Speed:    o.Speed,
		IPv4Pool: pool,
		Tokens:   []hcloudemu.Token{{Project: "acc", Token: Token}},
		Logf:     func(format string, args ...any) { t.Logf("emulator: "+format, args...) },
	}
	if o.K3s {
		_, err := sandbox.FindKubeBinaries("")
		testenv.Require(t, err == nil, "kube-apiserver and etcd under .cache/kube", "go tool task kube:build")
		sb, err := sandbox.New(sandbox.Config{
			StateDir:          t.TempDir(),
			HeartbeatInterval: time.Second,
			NodeGrace:         4 * time.Second,
			JoinRetry:         500 * time.Millisecond,
			Logf:              func(format string, args ...any) { t.Logf("sandbox: "+format, args...) },
		})
		if err != nil {
			t.Fatal(err)
		}
		e.Sandbox = sb
		e.booted.next = sb
		t.Cleanup(func() { sb.Close() })
	}
	cfg.Hook = e.booted
	em, err := hcloudemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Emulator = em
	if o.K3s {
		// Load balancers listen on their IPs and forward to their targets,
		// and joining nodes may name one in their server URL.
		lbs := &sandbox.EmulatorLoadBalancers{Emu: em, Logf: cfg.Logf}
		e.Sandbox.SetLoadBalancers(lbs)
		ctx, cancel := context.WithCancel(context.Background())
		go lbs.Forward(ctx, 200*time.Millisecond)
		t.Cleanup(cancel)
	}
	api := httptest.NewServer(e.creates.record(em.Handler()))
	e.admin = httptest.NewServer(em.AdminHandler())
	t.Cleanup(func() {
		api.Close()
		e.admin.Close()
		em.Close()
	})
	e.Endpoint = api.URL + "/v1"
	t.Setenv("HCLOUD_ENDPOINT", e.Endpoint)
	t.Setenv("HCLOUD_TOKEN", Token)
	return e
}

// Admin calls the emulator's admin API.
func (e *Env) Admin(method, path string, body any) []byte {
	e.t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.admin.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		e.t.Fatalf("admin %s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e.t.Fatalf("admin %s %s: %d %s", method, path, resp.StatusCode, buf.String())
	}
	return buf.Bytes()
}

// Fault injects errors on an endpoint ("POST /v1/servers") for the next n requests.
func (e *Env) Fault(endpoint string, status int, code string, n int) {
	e.Admin(http.MethodPost, "/admin/faults", hcloudemu.Fault{Endpoint: endpoint, Status: status, Code: code, Message: "injected", Count: n})
}

// ClearFaults removes every injected fault.
func (e *Env) ClearFaults() { e.Admin(http.MethodDelete, "/admin/faults", nil) }

// Requests returns the request counts per endpoint since the last reset.
func (e *Env) Requests() map[string]int64 {
	var out map[string]int64
	raw := e.Admin(http.MethodGet, "/admin/requests", nil)
	var wrapped struct {
		Requests map[string]int64 `json:"requests"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.Requests != nil {
		return wrapped.Requests
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("admin GET /admin/requests: %v in %s", err, raw)
	}
	return out
}

// ResetRequests zeroes the request counters.
func (e *Env) ResetRequests() { e.Admin(http.MethodDelete, "/admin/requests", nil) }

// Leftovers lists every resource still in the project, for zero-leak checks.
func (e *Env) Leftovers() []string {
	var left []string
	for _, pd := range e.Emulator.Dump("acc") {
		b, _ := json.Marshal(pd)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatalf("emulator dump: %v", err)
		}
		for kind, raw := range m {
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) == nil && len(items) > 0 {
				left = append(left, fmt.Sprintf("%d %s", len(items), kind))
			}
		}
	}
	return left
}

// CheckNoLeaks fails when anything is left in the project.
func (e *Env) CheckNoLeaks() error { return e.CheckNoLeaksExcept() }

// CheckNoLeaksExcept ignores the kinds a test created itself outside Terraform.
func (e *Env) CheckNoLeaksExcept(kinds ...string) error {
	var left []string
	for _, l := range e.Leftovers() {
		keep := true
		for _, k := range kinds {
			if strings.HasSuffix(l, " "+k) {
				keep = false
			}
		}
		if keep {
			left = append(left, l)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("resources left in the emulator: %s", strings.Join(left, ", "))
	}
	return nil
}

func netipPrefix(s string) (p netipPrefixT, err error) {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return p, err
	}
	return parsePrefix(n.String())
}
