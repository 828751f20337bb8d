// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables. Without an OTLP endpoint it is off: a no-op tracer
// provider (no exporter, no goroutines) that still propagates incoming W3C
// trace context, so logs carry the caller's trace ID.
//
// The sampler is decided before a span exists (StartServer), so a request
// that is not sampled costs no span, no context and no attributes.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
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

// DefaultSampler is the sampler when OTEL_TRACES_SAMPLER is not set:
// a request that carries a sampled W3C parent is always traced, one that
// carries an unsampled parent never, and DefaultRatio of the others.
const (
	DefaultSampler = "parentbased_traceidratio"
	DefaultRatio   = 0.05
)

// Tracing is the configured provider and how to flush it.
type Tracing struct {
	Provider    trace.TracerProvider
	Propagator  propagation.TextMapPropagator
	Enabled     bool
	Protocol    string
	Endpoint    string
	SamplerName string           // e.g. "parentbased_traceidratio(0.1)"; empty when off
	sampler     sdktrace.Sampler // nil when off
	tracer      trace.Tracer
	shutdown    func(context.Context) error
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
	Endpoint   string // the traces endpoint, or the generic one
	Protocol   string
	Disabled   bool   // OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
	Sampler    string // OTEL_TRACES_SAMPLER, DefaultSampler when unset
	SamplerArg string // OTEL_TRACES_SAMPLER_ARG
}

// FromEnv reads the standard variables through getenv.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Endpoint:   firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT")),
		Protocol:   firstNonEmpty(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), ProtocolHTTP),
		Disabled:   strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true"),
		Sampler:    firstNonEmpty(strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))), DefaultSampler),
		SamplerArg: strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")),
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
	if _, _, err := NewSampler(s.Sampler, s.SamplerArg); err != nil {
		return s, err
	}
	return s, nil
}

// NewSampler builds the sampler named by OTEL_TRACES_SAMPLER and its
// argument: always_on, always_off, traceidratio, parentbased_always_on,
// parentbased_always_off or parentbased_traceidratio (ratio in [0, 1],
// DefaultRatio when the argument is empty). It also returns the sampler's
// description for the start log line.
func NewSampler(name, arg string) (sdktrace.Sampler, string, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return DefaultRatio, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG=%q is not a ratio in [0, 1]", arg)
		}
		return r, nil
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), name, nil
	case "always_off":
		return sdktrace.NeverSample(), name, nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), name, nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), name, nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, "", err
		}
		desc := name + "(" + strconv.FormatFloat(r, 'f', -1, 64) + ")"
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), desc, nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), desc, nil
	}
	return nil, "", fmt.Errorf("tracing: OTEL_TRACES_SAMPLER=%q is not supported (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)", name)
}

// Setup builds the tracer provider. The exporters read the rest of the
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, TLS, compression) and
// the SDK reads OTEL_RESOURCE_ATTRIBUTES itself.
func Setup(ctx context.Context, s Settings, serviceName, version, environment string) (*Tracing, error) {
	t := &Tracing{Provider: noop.NewTracerProvider(), Propagator: Propagator(), Protocol: s.Protocol, Endpoint: s.Endpoint}
	if s.Disabled || s.Endpoint == "" {
		return t, nil
	}
	sampler, desc, err := NewSampler(firstNonEmpty(s.Sampler, DefaultSampler), s.SamplerArg)
	if err != nil {
		return nil, err
	}
	var exp *otlptrace.Exporter
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
	out := New(sampler, sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	out.Protocol, out.Endpoint, out.SamplerName = s.Protocol, s.Endpoint, desc
	return out, nil
}

// New builds tracing on an SDK tracer provider with sampler and the given
// options (span processors, resource): tracing is on and Shutdown flushes it.
func New(sampler sdktrace.Sampler, opts ...sdktrace.TracerProviderOption) *Tracing {
	opts = append(opts, sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(idGenerator{}))
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracing{
		Provider: tp, Propagator: Propagator(), Enabled: true, SamplerName: sampler.Description(),
		sampler: sampler, tracer: tp.Tracer(instrumentation), shutdown: tp.Shutdown,
	}
}

// instrumentation names the tracer of the HTTP server spans.
const instrumentation = "github.com/sre-platform/platform/apps/backend/internal/tracing"

// StartServer begins the server span of a request named name. It continues
// a W3C parent from header (which also puts the caller's trace in the
// returned context when tracing is off, so log lines carry it), asks the
// sampler first and creates a span only when the request is sampled; span
// is nil otherwise. The sampler sees the same trace ID the span gets (the
// ID generator takes it from the context), so its decision and the SDK's
// agree.
func (t *Tracing) StartServer(ctx context.Context, header http.Header, name string) (context.Context, trace.Span) {
	carried := len(header["Traceparent"]) > 0 || len(header["Baggage"]) > 0
	if carried {
		ctx = t.Propagator.Extract(ctx, propagation.HeaderCarrier(header))
	}
	if t.sampler == nil {
		return ctx, nil
	}
	var parent trace.SpanContext
	sampleCtx := context.Background() // no parent: the sampler need not search the request's context
	if carried {
		parent, sampleCtx = trace.SpanContextFromContext(ctx), ctx
	}
	var tid trace.TraceID
	if parent.IsValid() {
		tid = parent.TraceID()
	} else {
		tid = newTraceID()
	}
	res := t.sampler.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: sampleCtx, TraceID: tid, Name: name, Kind: trace.SpanKindServer,
	})
	if res.Decision == sdktrace.Drop {
		return ctx, nil
	}
	if !parent.IsValid() {
		ctx = context.WithValue(ctx, traceIDKey{}, tid)
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
}

type traceIDKey struct{}

// idGenerator makes random IDs from the runtime's per-thread generator (no
// lock) and takes a root span's trace ID from the context when StartServer
// chose it already.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	if !ok {
		tid = newTraceID()
	}
	return tid, newSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newTraceID() (id trace.TraceID) {
	for !id.IsValid() {
		putUint64(id[:8], rand.Uint64())
		putUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() (id trace.SpanID) {
	for !id.IsValid() {
		putUint64(id[:], rand.Uint64())
	}
	return id
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i)) //nolint:gosec // keeps the low byte on purpose (big-endian split)
	}
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
