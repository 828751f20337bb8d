package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sre-platform/platform/apps/backend/internal/config"
)

// BenchmarkRoutes measures the whole middleware chain in-process (tracing
// off, logs discarded) for a probe, a validated API route and an unmatched
// path.
func BenchmarkRoutes(b *testing.B) {
	cfg := config.Defaults()
	cfg.ChaosEnabled = true
	srv, err := New(cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/version", "/api/info", "/api/stats?window=300", "/chaos/status/200", "/nope"} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.Engine.ServeHTTP(rec, req)
			}
		})
	}
}
