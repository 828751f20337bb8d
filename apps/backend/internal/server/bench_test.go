package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/logging"
	"github.com/sre-platform/platform/apps/backend/internal/tracing"
)

// benchWriter is a ResponseWriter that allocates nothing itself (its header
// map is cleared between requests), so allocs/op is the handler's own.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.status = code }

// discardExporter drops spans (the export itself is not the handler's cost).
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkRoutes measures the whole middleware chain in-process, as
// deployed: tracing on with the default sampler (batching to an exporter
// that drops the spans), metrics, statistics and the access log at info
// through the asynchronous writer (to io.Discard). allocs/op is the
// handler's allocations per request (the response writer allocates none).
func BenchmarkRoutes(b *testing.B) {
	cfg := config.Defaults()
	cfg.ChaosEnabled = true
	sampler, _, err := tracing.NewSampler(tracing.DefaultSampler, "")
	if err != nil {
		b.Fatal(err)
	}
	tr := tracing.New(sampler, sdktrace.WithBatcher(discardExporter{}))
	defer func() { _ = tr.Shutdown(context.Background()) }()
	out := logging.NewAsyncWriter(io.Discard, 0)
	defer func() { _ = out.Close() }()
	srv, err := New(cfg, Deps{Logger: logging.New(out, slog.LevelInfo), Tracing: tr})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz", "/version", "/api/info", "/api/stats?window=300", "/chaos/status/200", "/nope"} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				srv.Engine.ServeHTTP(w, req)
			}
		})
	}
}
