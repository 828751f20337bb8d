package tracing

import (
	"context"
	"net/http"
	"runtime"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	s, err := FromEnv(env(nil))
	if err != nil || s.Endpoint != "" || s.Protocol != ProtocolHTTP {
		t.Fatalf("empty env: %+v %v", s, err)
	}
	s, _ = FromEnv(env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo:4317",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
	}))
	if s.Endpoint != "http://tempo:4317" || s.Protocol != ProtocolGRPC {
		t.Errorf("traces endpoint should win: %+v", s)
	}
	s, _ = FromEnv(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}))
	if !s.Disabled {
		t.Error("OTEL_TRACES_EXPORTER=none should disable")
	}
	for _, bad := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		{"OTEL_TRACES_SAMPLER": "jaeger_remote"},
		{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
		{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
		{"OTEL_TRACES_EXPORTER": "zipkin"},
	} {
		if _, err := FromEnv(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestOffWithoutEndpoint(t *testing.T) {
	before := runtime.NumGoroutine()
	tr, err := Setup(context.Background(), Settings{Protocol: ProtocolHTTP}, "backend", "dev", "local")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled {
		t.Fatal("enabled without an endpoint")
	}
	_, span := tr.Provider.Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() {
		t.Error("no-op provider records")
	}
	span.End()
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d -> %d with tracing off", before, after)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestOnWithEndpoint(t *testing.T) {
	for _, proto := range []string{ProtocolHTTP, ProtocolGRPC} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
		tr, err := Setup(context.Background(), Settings{Endpoint: "http://127.0.0.1:1", Protocol: proto}, "backend", "dev", "local")
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if !tr.Enabled {
			t.Fatalf("%s: not enabled", proto)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing listens: do not wait for the export
		_ = tr.Shutdown(ctx)
	}
}

func TestNewSampler(t *testing.T) {
	for _, c := range []struct{ name, arg, desc string }{
		{"always_on", "", "always_on"}, {"always_off", "", "always_off"},
		{"parentbased_always_on", "", "parentbased_always_on"}, {"parentbased_always_off", "", "parentbased_always_off"},
		{"traceidratio", "0.25", "traceidratio(0.25)"}, {"parentbased_traceidratio", "", "parentbased_traceidratio(0.05)"},
	} {
		s, desc, err := NewSampler(c.name, c.arg)
		if err != nil || s == nil || desc != c.desc {
			t.Errorf("%s(%s): %q %v", c.name, c.arg, desc, err)
		}
	}
	s, err := FromEnv(env(nil))
	if err != nil || s.Sampler != DefaultSampler {
		t.Errorf("default sampler: %+v %v", s, err)
	}
}

// StartServer decides before a span exists: a dropped request has no span
// and an unchanged context, a caller's trace is continued (or only carried,
// when the caller did not sample it), and the SDK's own decision agrees with
// the one made ahead of it (same trace ID).
func TestStartServerSamplesFirst(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := New(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.25)), sdktrace.WithSyncer(exp))
	defer func() { _ = tr.Shutdown(context.Background()) }()

	base := context.Background()
	started, dropped := 0, 0
	for range 4000 {
		ctx, span := tr.StartServer(base, http.Header{}, "GET /x")
		if span == nil {
			if ctx != base {
				t.Fatal("a dropped request got a new context")
			}
			dropped++
			continue
		}
		if !span.SpanContext().IsSampled() {
			t.Fatal("a span was created for a request the SDK does not sample")
		}
		span.End()
		started++
	}
	if got := len(exp.GetSpans()); got != started {
		t.Fatalf("%d spans exported, %d started", got, started)
	}
	if started < 800 || started > 1200 {
		t.Errorf("%d of 4000 sampled at ratio 0.25", started)
	}

	parent := "4bf92f3577b34da6a3ce929d0e0e4736"
	h := http.Header{"Traceparent": {"00-" + parent + "-00f067aa0ba902b7-01"}}
	ctx, span := tr.StartServer(base, h, "GET /x")
	if span == nil || span.SpanContext().TraceID().String() != parent {
		t.Fatalf("sampled parent not continued: %v", span)
	}
	span.End()
	_ = ctx
	h = http.Header{"Traceparent": {"00-" + parent + "-00f067aa0ba902b7-00"}}
	ctx, span = tr.StartServer(base, h, "GET /x")
	if span != nil {
		t.Error("an unsampled parent started a span")
	}
	if sc := trace.SpanContextFromContext(ctx); sc.TraceID().String() != parent {
		t.Error("the caller's trace is not carried for the logs")
	}

	off, _ := Setup(base, Settings{Protocol: ProtocolHTTP}, "backend", "dev", "local")
	ctx, span = off.StartServer(base, http.Header{"Traceparent": {"00-" + parent + "-00f067aa0ba902b7-01"}}, "GET /x")
	if span != nil || trace.SpanContextFromContext(ctx).TraceID().String() != parent {
		t.Error("with tracing off the caller's trace is still carried, without a span")
	}
}
