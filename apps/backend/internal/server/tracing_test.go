package server

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sre-platform/platform/apps/backend/internal/tracing"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpansCarryRouteAndStatus(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.ParentBased(sdktrace.AlwaysSample()), sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	f := newFixture(t, nil, Deps{Tracing: tr})

	const parent = "4bf92f3577b34da6a3ce929d0e0e4736"
	f.do(t, "GET", "/api/info", nil, "traceparent", "00-"+parent+"-00f067aa0ba902b7-01", "baggage", "tenant=blue")
	f.do(t, "GET", "/chaos/status/503", nil)
	f.do(t, "GET", "/chaos/panic", nil)
	f.do(t, "GET", "/healthz", nil) // probes are not traced
	f.do(t, "GET", "/metrics", nil)

	spans := exp.GetSpans().Snapshots()
	if len(spans) != 3 {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name())
		}
		t.Fatalf("%d spans %v, want 3 (probes untraced)", len(spans), names)
	}
	want := []struct {
		name, route string
		status      int64
		errStatus   bool
	}{
		{"GET /api/info", "/api/info", 200, false},
		{"GET /chaos/status/:code", "/chaos/status/:code", 503, true},
		{"GET /chaos/panic", "/chaos/panic", 500, true},
	}
	for i, w := range want {
		s := spans[i]
		a := attrs(s)
		if s.Name() != w.name || a["http.route"].AsString() != w.route || a["http.response.status_code"].AsInt64() != w.status {
			t.Errorf("span %d: name %q route %q status %d; want %+v", i, s.Name(), a["http.route"].AsString(), a["http.response.status_code"].AsInt64(), w)
		}
		if (s.Status().Code == codes.Error) != w.errStatus {
			t.Errorf("span %s: status %v", s.Name(), s.Status())
		}
	}
	if got := spans[0].SpanContext().TraceID().String(); got != parent {
		t.Errorf("W3C parent not continued: trace %s", got)
	}
	if !spans[0].Parent().IsRemote() {
		t.Error("parent should be remote")
	}
}
