package server

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sre-platform/platform/apps/backend/internal/logging"
	"github.com/sre-platform/platform/apps/backend/internal/metrics"
)

// routeFlags say how the telemetry and fault middleware treat a route
// template. They are computed once per registered route (routeTable), so a
// request costs one map lookup instead of pattern matching.
type routeFlags struct {
	probe         bool   // probes and scrapes: not traced, access line at debug
	statsExcluded bool   // left out of the dashboard statistics
	faultExempt   bool   // never gets injected faults
	getSpan       string // span name of GET requests ("GET /api/info")
}

type routeTable map[string]routeFlags

func newRouteTable(routes gin.RoutesInfo) routeTable {
	t := routeTable{}
	for _, r := range routes {
		t[r.Path] = routeFlags{
			probe:         probeRoutes.has(r.Path),
			statsExcluded: statsExcluded.has(r.Path),
			faultExempt:   faultExempt.has(r.Path),
			getSpan:       "GET " + r.Path,
		}
	}
	return t
}

func (f routeFlags) spanName(method, route string) string {
	if method == "GET" && f.getSpan != "" {
		return f.getSpan
	}
	if route == "" {
		return method
	}
	return method + " " + route
}

// requestIDKey is the canonical form of RequestIDHeader (header maps are set
// directly, without canonicalising on every request).
const requestIDKey = "X-Request-Id"

// telemetry is the outermost working middleware: it gives the request its
// ID, starts the server span when the request is sampled, and after the
// handler records metrics, the dashboard statistics and the access line.
func (s *Server) telemetry() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		req := c.Request
		h := c.Writer.Header()

		var id string
		if in := req.Header[requestIDKey]; len(in) > 0 && validRequestID(in[0]) {
			id = in[0]
			h[requestIDKey] = in[:1:1]
		} else {
			id = newRequestID()
			h[requestIDKey] = []string{id}
		}

		route := c.FullPath()
		flags := s.routes[route]
		var span trace.Span
		var sc trace.SpanContext // the trace of the log line: this span's, or the caller's
		if !flags.probe {
			var ctx context.Context
			ctx, span = s.tracing.StartServer(req.Context(), req.Header, flags.spanName(req.Method, route))
			if ctx != req.Context() {
				c.Request = req.WithContext(ctx)
				sc = trace.SpanContextFromContext(ctx)
			}
		} else if len(req.Header["Traceparent"]) > 0 {
			sc = trace.SpanContextFromContext(s.tracing.Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header)))
		}

		s.Metrics.Begin()
		defer s.Metrics.Done()
		c.Next()

		status := c.Writer.Status()
		d := time.Since(start)
		label := route
		if label == "" {
			label = metrics.Unmatched
		}
		s.Metrics.Observe(req.Method, label, status, d)
		if !flags.statsExcluded {
			s.Stats.Observe(status, d)
		}
		ip := clientIP(req.RemoteAddr)
		if span != nil {
			endSpan(span, c, route, ip, status)
		}

		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case flags.probe:
			level = slog.LevelDebug
		}
		if s.log.AccessEnabled(level) {
			s.log.Access(&logging.Access{
				Time: start, Level: level, Method: req.Method, Route: label, Path: req.URL.Path,
				Status: status, Bytes: c.Writer.Size(), Duration: d, ClientIP: ip,
				UserAgent: req.UserAgent(), RequestID: id, Span: sc,
			})
		}
	}
}

// endSpan sets the HTTP server attributes of a recorded span and ends it.
func endSpan(span trace.Span, c *gin.Context, route, ip string, status int) {
	req := c.Request
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(req.Method),
		semconv.URLPath(req.URL.Path),
		semconv.URLScheme("http"),
		semconv.ServerAddress(req.Host),
		semconv.NetworkPeerAddress(ip),
		semconv.UserAgentOriginal(req.UserAgent()),
		semconv.HTTPResponseStatusCode(status),
	)
	if route != "" {
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	for _, e := range c.Errors {
		span.RecordError(e.Err)
	}
	if status >= 500 {
		span.SetStatus(codes.Error, "")
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
	}
	span.End()
}

// clientIP is the peer address: no proxy header is trusted.
func clientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

const hexDigits = "0123456789abcdef"

// newRequestID is 128 random bits in hex, from the runtime's per-thread
// generator (no lock, no system call).
func newRequestID() string {
	var b [32]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := range 16 {
		b[i] = hexDigits[(x>>(60-4*i))&0xf]
		b[16+i] = hexDigits[(y>>(60-4*i))&0xf]
	}
	return string(b[:])
}

// validRequestID accepts 1..64 of [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
