package tracing

import (
	"context"
	"runtime"
	"testing"
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
