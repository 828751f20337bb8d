package handlers

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/config"
)

// The answers encoded ahead of time are byte for byte what encoding/json
// (and so c.JSON) writes for the same values, including HTML-escaped text.
func TestPreparedAnswersMatchEncodingJSON(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	cfg := config.Defaults()
	cfg.UIMessage = `Hello <b>"team"</b> & \ é`
	cfg.Environment = "staging"
	cfg.ChaosEnabled = true
	started := time.Date(2026, 12, 5, 10, 0, 0, 0, time.FixedZone("x", 3600))
	now := started
	h := &Handlers{Config: cfg, Name: "backend", Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.8",
		Hostname: "pod-1", StartedAt: started, Now: func() time.Time { return now }, Readiness: NewReadiness()}
	if err := h.Prepare(); err != nil {
		t.Fatal(err)
	}
	call := func(handler gin.HandlerFunc) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
		handler(c)
		return rec
	}
	marshal := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	for i, up := range []time.Duration{0, 1500 * time.Millisecond, 1234567 * time.Microsecond, 30 * 24 * time.Hour, time.Nanosecond} {
		now = started.Add(up)
		ready := i%2 == 0
		h.Readiness.Set(ready)
		rec := call(h.Info)
		want := marshal(Info{Name: "backend", Version: "v1.2.3", Commit: "abc123", Hostname: "pod-1", GoVersion: "go1.26.8",
			UptimeSeconds: math.Round(up.Seconds()*1000) / 1000, Ready: ready, StartedAt: "2026-12-05T09:00:00Z",
			Message: cfg.UIMessage, Color: cfg.UIColor, Environment: "staging", ChaosEnabled: true})
		if rec.Body.String() != want || rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("uptime %s:\n got %s\nwant %s", up, rec.Body.String(), want)
		}
	}
	if got, want := call(h.VersionInfo).Body.String(), marshal(Version{"v1.2.3", "abc123"}); got != want {
		t.Errorf("/version %s, want %s", got, want)
	}
	if got := call(h.Healthz).Body.String(); got != `{"status":"ok"}` {
		t.Errorf("/healthz %s", got)
	}
	for _, f := range []float64{0, 1, 0.5, 1e-7, 123456.789, 1e21, 2.5e-9} {
		if got, want := string(appendJSONFloat(nil, f)), marshal(f); got != want {
			t.Errorf("appendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
