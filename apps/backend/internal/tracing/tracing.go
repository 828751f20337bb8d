// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables. Without an OTLP endpoint it is off: a no-op tracer
// provider (no exporter, no goroutines) that still propagates incoming W3C
// trace context, so logs carry the caller's trace ID.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols accepted in OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Tracing is the configured provider and how to flush it.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	Enabled    bool
	Protocol   string
	Endpoint   string
	shutdown   func(context.Context) error
}

// Shutdown flushes buffered spans and stops the exporter (no-op when off).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Propagator is W3C tracecontext + baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Settings are what Setup reads from the environment.
type Settings struct {
	Endpoint string // the traces endpoint, or the generic one
	Protocol string
	Disabled bool // OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
}

// FromEnv reads the standard variables through getenv.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Endpoint: firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT")),
		Protocol: firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), ProtocolHTTP),
		Disabled: strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true"),
	}
	switch e := strings.ToLower(getenv("OTEL_TRACES_EXPORTER")); e {
	case "", "otlp":
	case "none":
		s.Disabled = true
	default:
		return s, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q is not supported (otlp or none)", e)
	}
	if s.Protocol != ProtocolGRPC && s.Protocol != ProtocolHTTP {
		return s, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_PROTOCOL=%q is not supported (grpc or http/protobuf)", s.Protocol)
	}
	return s, nil
}

// Setup builds the tracer provider. The exporters read the rest of the
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, TLS, compression) and
// the SDK reads OTEL_TRACES_SAMPLER and OTEL_RESOURCE_ATTRIBUTES itself.
func Setup(ctx context.Context, s Settings, serviceName, version, environment string) (*Tracing, error) {
	t := &Tracing{Provider: noop.NewTracerProvider(), Propagator: Propagator(), Protocol: s.Protocol, Endpoint: s.Endpoint}
	if s.Disabled || s.Endpoint == "" {
		return t, nil
	}
	var (
		exp *otlptrace.Exporter
		err error
	)
	switch s.Protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx)
	default:
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP %s exporter: %w", s.Protocol, err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(
			semconv.ServiceName(serviceName),
			semconv.ServiceVersion(version),
			semconv.DeploymentEnvironmentName(environment),
		),
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
		must(resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	out := New(tp)
	out.Protocol, out.Endpoint = s.Protocol, s.Endpoint
	return out, nil
}

// New wraps an SDK tracer provider: tracing is on and Shutdown flushes it.
func New(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{Provider: tp, Propagator: Propagator(), Enabled: true, shutdown: tp.Shutdown}
}

func must(r *resource.Resource, _ error) *resource.Resource {
	if r == nil {
		return resource.Empty()
	}
	return r
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
