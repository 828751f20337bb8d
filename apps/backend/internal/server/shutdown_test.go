package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/tracing"
)

// TestShutdownOrder runs a real server, starts a slow request, cancels the
// run context (what SIGTERM does) and checks the sequence: unready while the
// listener still accepts, the in-flight request completes, the listener
// closes, and only then are traces flushed.
func TestShutdownOrder(t *testing.T) {
	exp := &keepingExporter{}
	// A batcher that would not export on its own within the test: only the
	// shutdown flush can deliver the spans.
	tr := tracing.New(sdktrace.AlwaysSample(), sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))
	f := newFixture(t, func(c *config.Config) {
		c.DrainDelay = 1500 * time.Millisecond
		c.ShutdownTimeout = 10 * time.Second
	}, Deps{Tracing: tr})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("/readyz"); err != nil || code != 200 {
		t.Fatalf("before shutdown /readyz: %d %v", code, err)
	}

	// In flight: a request that takes 2 s (longer than the drain delay).
	slow := make(chan int, 1)
	go func() {
		code, err := get("/chaos/delay/2")
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
		}
		slow <- code
	}()
	waitFor(t, func() bool { return f.srv.HTTP != nil && inFlight(f) })

	stop() // SIGTERM
	waitFor(t, func() bool { return !f.srv.Readiness.Ready() })
	// During the drain delay the listener still accepts and reports draining.
	if code, err := get("/readyz"); err != nil || code != 503 {
		t.Errorf("during drain /readyz: %d %v, want 503", code, err)
	}

	if code := <-slow; code != 200 {
		t.Errorf("in-flight request: %d, want 200", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := get("/healthz"); err == nil {
		t.Error("listener still accepts after shutdown")
	}

	// Order of the logged steps, with the in-flight request finishing
	// before the trace flush.
	var order []string
	for _, l := range f.logs.Lines(t) {
		switch {
		case l["msg"] == "request" && l["route"] == "/chaos/delay/:seconds":
			order = append(order, "in-flight done")
		case l["step"] != nil:
			order = append(order, l["msg"].(string))
		}
	}
	want := []string{
		"shutdown: readiness set to draining",
		"shutdown: waiting for the drain delay",
		"shutdown: closing the listener, waiting for in-flight requests",
		"in-flight done",
		"shutdown: flushing traces",
	}
	if len(order) != len(want) {
		t.Fatalf("order = %q, want %q", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %q, want %q", order, want)
		}
	}
	// The flush delivered the in-flight request's span.
	found := false
	for _, name := range exp.names() {
		if name == "GET /chaos/delay/:seconds" {
			found = true
		}
	}
	if !found {
		t.Error("the in-flight request's span was not flushed")
	}
}

func inFlight(f *fixture) bool {
	mfs, err := f.srv.Metrics.Registry.Gather()
	if err != nil {
		return false
	}
	for _, mf := range mfs {
		if mf.GetName() == "http_requests_in_flight" {
			return mf.GetMetric()[0].GetGauge().GetValue() >= 1
		}
	}
	return false
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestShutdownTimeoutForcesClose(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.DrainDelay = 0
		c.ShutdownTimeout = 200 * time.Millisecond
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/chaos/delay/30")
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, func() bool { return inFlight(f) })
	stop()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not give up on the slow request")
	}
}

// keepingExporter records exported span names and, unlike the in-memory
// exporter of tracetest, keeps them after Shutdown.
type keepingExporter struct {
	mu    sync.Mutex
	spans []string
}

func (e *keepingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		e.spans = append(e.spans, s.Name())
	}
	return nil
}

func (e *keepingExporter) Shutdown(context.Context) error { return nil }

func (e *keepingExporter) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.spans...)
}
