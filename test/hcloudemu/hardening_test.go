package hcloudemu

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// The rate limit is charged to the token as authentication sees it:
// padding the token with spaces must not open a fresh budget.
func TestRateLimitKeyedOnTrimmedToken(t *testing.T) {
	e := newEnv(t)
	if code, body := e.adminDo(http.MethodPut, "/admin/config", map[string]any{"rate_limit": 2, "rate_refill_per_second": 0.001}); code != 200 {
		t.Fatalf("config %d %v", code, body)
	}
	for i, tok := range []string{tokA, " " + tokA, tokA + "  "} {
		code, body, _ := e.raw(http.MethodGet, "/v1/servers", tok, nil)
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("request %d with %q: %d %v, want %d", i, tok, code, body, want)
		}
	}
}

// A change whose snapshot could not be written is not acknowledged; the
// write is retried, and once the disk works again the change is on it.
func TestPersistFailureIsNotDurable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	e := newEnv(t, withStateDir(dir))
	ctx := context.Background()
	pub1, _ := testKey(1)
	if _, _, err := e.c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k1", PublicKey: pub1}); err != nil {
		t.Fatal(err)
	}
	// A file where the directory was: every write fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub2, _ := testKey(2)
	code, body, _ := e.raw(http.MethodPost, "/v1/ssh_keys", tokA, map[string]any{"name": "k2", "public_key": pub2})
	if code != http.StatusInternalServerError || errCode(body) != "server_error" {
		t.Fatalf("create while the state cannot be written: %d %v, want 500 server_error", code, body)
	}
	// The disk comes back: the retry writes the change.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	pub3, _ := testKey(3)
	if _, _, err := e.c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k3", PublicKey: pub3}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"k1"`, `"k2"`, `"k3"`} {
		if !strings.Contains(string(data), name) {
			t.Errorf("state.json lacks %s after the disk came back", name)
		}
	}
}

func TestStaleTempFilesRemovedOnStart(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, stateFile+".tmp-123456")
	if err := os.WriteFile(stale, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	emu, err := New(Config{StateDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
}

// adminOn serves one admin request as if it arrived on local address addr.
func adminOn(h http.Handler, addr, auth string) int {
	req := httptest.NewRequest(http.MethodGet, "/admin/config", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	ap := net.TCPAddrFromAddrPort(mustAddrPort(addr))
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, ap))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func TestAdminNeedsTokenOffLoopback(t *testing.T) {
	open, err := New(Config{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	guarded, err := New(Config{AdminToken: "s3cret", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer guarded.Close()
	for _, tc := range []struct {
		name string
		h    http.Handler
		addr string
		auth string
		want int
	}{
		{"loopback, no token configured", open.AdminHandler(), "127.0.0.1:8081", "", 200},
		{"loopback v6", open.AdminHandler(), "[::1]:8081", "", 200},
		{"elsewhere, no token configured", open.AdminHandler(), "192.0.2.10:8081", "", 403},
		{"elsewhere, token configured, none sent", guarded.AdminHandler(), "192.0.2.10:8081", "", 401},
		{"elsewhere, wrong token", guarded.AdminHandler(), "192.0.2.10:8081", "Bearer nope", 401},
		{"elsewhere, right token", guarded.AdminHandler(), "192.0.2.10:8081", "Bearer s3cret", 200},
		{"loopback stays open with a token configured", guarded.AdminHandler(), "127.0.0.1:8081", "", 200},
	} {
		if got := adminOn(tc.h, tc.addr, tc.auth); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1:8081": true, "localhost:1": true, "[::1]:2": true,
		"0.0.0.0:8081": false, ":8081": false, "192.0.2.1:80": false} {
		if err := CheckAdminListen(addr, ""); (err == nil) != ok {
			t.Errorf("CheckAdminListen(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
	if err := CheckAdminListen("0.0.0.0:8081", "s3cret"); err != nil {
		t.Errorf("with a token: %v", err)
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
