package hcloudemu

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Volumes, floating IPs and certificates survive a restart and take
// endpoint and action faults like every other kind.
func TestNewKindsDurableAndFaulty(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	chain, key := testCertificate(t, "a.example.com")
	for _, r := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/volumes", map[string]any{"name": "v", "size": 10, "location": "fsn1"}},
		{"/v1/floating_ips", map[string]any{"name": "f", "type": "ipv6", "home_location": "hel1"}},
		{"/v1/certificates", map[string]any{"name": "c", "certificate": chain, "private_key": key}},
	} {
		if code, body, _ := e.raw(http.MethodPost, r.path, tokA, r.body); code != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", r.path, code, body)
		}
	}
	if err := e.emu.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, withStateDir(dir))
	counts := e2.emu.Dump("a")["a"].Counts
	if counts["volumes"] != 1 || counts["floating_ips"] != 1 || counts["certificates"] != 1 {
		t.Fatalf("after restart: %v", counts)
	}
	if code, body := e2.adminDo(http.MethodPost, "/admin/faults", Fault{Endpoint: "POST /v1/volumes", Status: 503, Code: "service_error", Count: 1}); code != 201 {
		t.Fatalf("fault: %d %v", code, body)
	}
	if code, body, _ := e2.raw(http.MethodPost, "/v1/volumes", tokA, map[string]any{"name": "w", "size": 10, "location": "fsn1"}); code != 503 || errCode(body) != "service_error" {
		t.Fatalf("injected fault: %d %v", code, body)
	}
	if code, body := e2.adminDo(http.MethodPost, "/admin/action-faults", ActionFault{Command: "create_volume", Count: 1}); code != 201 {
		t.Fatalf("action fault: %d %v", code, body)
	}
	code, body, _ := e2.raw(http.MethodPost, "/v1/volumes", tokA, map[string]any{"name": "w", "size": 10, "location": "fsn1"})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, body)
	}
	id := int64(body["action"].(map[string]any)["id"].(float64))
	a := e2.waitAction(id)
	if a["status"] != "error" || e2.emu.Dump("a")["a"].Counts["volumes"] != 1 {
		t.Fatalf("failed create_volume: %v, volumes %d", a, e2.emu.Dump("a")["a"].Counts["volumes"])
	}
}

// waitAction polls an action until it is no longer running.
func (e *env) waitAction(id int64) map[string]any {
	e.t.Helper()
	for i := 0; i < 2000; i++ {
		_, body, _ := e.raw(http.MethodGet, "/v1/actions/"+itoa(id), tokA, nil)
		a, _ := body["action"].(map[string]any)
		if a != nil && a["status"] != "running" {
			return a
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("action %d still running", id)
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
