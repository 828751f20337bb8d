package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/logging"
	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines decodes every JSON log line.
func (b *logBuffer) Lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

type fixture struct {
	srv  *Server
	logs *logBuffer
}

func newFixture(t *testing.T, mutate func(*config.Config), deps ...Deps) *fixture {
	t.Helper()
	cfg := config.Defaults()
	cfg.ChaosEnabled = true
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &logBuffer{}
	d := Deps{}
	if len(deps) > 0 {
		d = deps[0]
	}
	d.Logger = logging.New(logs, slog.LevelDebug)
	srv, err := New(cfg, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{srv: srv, logs: logs}
}

type response struct {
	*httptest.ResponseRecorder
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.Body.String())
	}
	return m
}

func (f *fixture) do(t *testing.T, method, target string, body io.Reader, headers ...string) response {
	t.Helper()
	return f.doCtx(t, context.Background(), method, target, body, headers...)
}

func (f *fixture) doCtx(t *testing.T, ctx context.Context, method, target string, body io.Reader, headers ...string) response {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, method, target, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.Engine.ServeHTTP(rec, req)
	return response{rec}
}

// requireProblem checks an RFC 9457 answer with the given status.
func requireProblem(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d (body %q)", r.Code, status, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, problem.ContentType)
	}
	m := r.JSON(t)
	for _, k := range []string{"type", "title", "status", "detail", "instance"} {
		if _, ok := m[k]; !ok {
			t.Errorf("problem lacks %q: %v", k, m)
		}
	}
	if got := m["status"]; got != float64(status) {
		t.Errorf("problem status = %v, want %d", got, status)
	}
	return m
}

// fakeClock is a settable clock for the statistics.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var _ = http.MethodGet
