// Package server wires the backend: the gin engine with its middleware chain
// and routes, the http.Server with its timeouts, and the shutdown sequence.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/api"
	"github.com/sre-platform/platform/apps/backend/internal/buildinfo"
	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/handlers"
	"github.com/sre-platform/platform/apps/backend/internal/logging"
	"github.com/sre-platform/platform/apps/backend/internal/metrics"
	"github.com/sre-platform/platform/apps/backend/internal/stats"
	"github.com/sre-platform/platform/apps/backend/internal/tracing"
)

func init() {
	// Release mode: no debug route dump, no colour codes in logs.
	gin.SetMode(gin.ReleaseMode)
}

// ServiceName names the service in /api/info and in traces.
const ServiceName = "backend"

// StatsStep and StatsKeep shape the dashboard's ring buffer.
const (
	StatsStep = 5 * time.Second
	StatsKeep = time.Hour
)

// Route groups used by the middleware.
var (
	// probeRoutes are probes and scrapes: not traced, logged at debug.
	probeRoutes = routeSet{"/healthz", "/readyz", "/readyz/*", "/metrics"}
	// statsExcluded are left out of the dashboard statistics.
	statsExcluded = routeSet{"/healthz", "/readyz", "/readyz/*", "/metrics", "/api/stats", "/swagger", "/swagger/*", "/openapi.yaml"}
	// faultExempt never get injected faults, so the dashboard stays usable.
	faultExempt = routeSet{"/healthz", "/readyz", "/readyz/*", "/metrics", "/api/stats", "/api/info", "/chaos/*", "/swagger", "/swagger/*", "/openapi.yaml"}
)

// Deps are the collaborators a server is built with.
type Deps struct {
	Logger  *logging.Logger  // nil: logs discarded
	Tracing *tracing.Tracing // nil: tracing off
	Now     func() time.Time // nil: time.Now
}

// Server is the configured backend.
type Server struct {
	cfg       config.Config
	log       *logging.Logger
	tracing   *tracing.Tracing
	routes    routeTable
	Engine    *gin.Engine
	HTTP      *http.Server
	Metrics   *metrics.Metrics
	Readiness *handlers.Readiness
	Faults    *handlers.Faults
	Stats     *stats.Recorder
}

// New builds the server for cfg.
func New(cfg config.Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = logging.Discard()
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	tr := deps.Tracing
	if tr == nil {
		var err error
		if tr, err = tracing.Setup(context.Background(), tracing.Settings{}, ServiceName, buildinfo.Version, cfg.Environment); err != nil {
			return nil, err
		}
	}
	doc, err := LoadSpec(context.Background(), api.Spec)
	if err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()

	s := &Server{
		cfg:       cfg,
		log:       log,
		tracing:   tr,
		Metrics:   metrics.New(buildinfo.Version, buildinfo.Commit, buildinfo.GoVersion()),
		Readiness: handlers.NewReadiness(),
		Faults:    &handlers.Faults{},
		Stats:     stats.New(StatsStep, StatsKeep, now),
	}
	h := &handlers.Handlers{
		Config:    cfg,
		Name:      ServiceName,
		Version:   buildinfo.Version,
		Commit:    buildinfo.Commit,
		GoVersion: buildinfo.GoVersion(),
		Hostname:  hostname,
		StartedAt: now(),
		Now:       now,
		Readiness: s.Readiness,
		Faults:    s.Faults,
		Recorder:  s.Stats,
		Spec:      api.Spec,
	}
	if err := h.Prepare(); err != nil {
		return nil, err
	}
	v := newValidator(doc)
	s.Engine = s.buildEngine(h, v)
	s.routes = newRouteTable(s.Engine.Routes())
	v.bind(s.Engine.Routes())
	s.HTTP = &http.Server{
		Addr:              cfg.Addr(),
		Handler:           s.Engine,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    config.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// buildEngine builds the engine. Middleware order, outermost first:
//
//	recovery (last resort) → telemetry (request ID, tracing, then metrics,
//	statistics and access log) → recovery (counted as 500) → security
//	headers → CORS → body limit → fault injection → [group: chaos gate →
//	OpenAPI validation] → handler
func (s *Server) buildEngine(h *handlers.Handlers, v *validator) *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(nil) // ClientIP is the peer address unless a proxy is configured

	e.Use(
		problemRecovery(s.log.Logger),
		s.telemetry(),
		problemRecovery(s.log.Logger),
		securityHeaders(),
		cors(s.cfg.CORSOrigins),
		bodyLimit(s.cfg.MaxBodyBytes),
		s.Faults.Inject(func(route string) bool { return route != "" && !s.routes[route].faultExempt }),
	)
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)

	e.GET("/", h.Summary)
	e.GET("/version", h.VersionInfo)
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.POST("/readyz/enable", h.ReadyzEnable)
	e.POST("/readyz/disable", h.ReadyzDisable)
	e.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	e.GET("/openapi.yaml", h.OpenAPI)
	e.GET("/swagger", h.SwaggerRedirect)
	e.GET("/swagger/*file", h.Swagger)
	e.POST("/echo", h.Echo)

	apiGroup := e.Group("/api", v.middleware())
	apiGroup.GET("/info", h.Info)
	apiGroup.GET("/stats", h.Stats)

	chaos := e.Group("/chaos", h.ChaosGate, v.middleware())
	chaos.GET("/delay/:seconds", h.ChaosDelay)
	chaos.GET("/status/:code", h.ChaosStatus)
	chaos.GET("/faults", h.GetFaults)
	chaos.POST("/faults", h.SetFaults)
	chaos.DELETE("/faults", h.ClearFaults)
	chaos.GET("/panic", h.ChaosPanic)
	return e
}

// Run serves on ln until ctx is done (SIGTERM), then shuts down in this
// order:
//
//  1. readiness reports "draining" (503) and keep-alives are turned off, so
//     load balancers and kube-proxy stop routing new requests here;
//  2. wait DrainDelay while requests still in the pipeline arrive and are
//     served (endpoint removal is not instantaneous);
//  3. stop accepting: close the listener and idle connections, and let
//     in-flight requests finish within ShutdownTimeout (then force-close);
//  4. flush buffered trace spans and stop the exporter.
//
// Run returns nil after a clean shutdown, or the serving error.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.HTTP.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "version", buildinfo.Version, "commit", buildinfo.Commit,
		"environment", s.cfg.Environment, "chaos_enabled", s.cfg.ChaosEnabled, "tracing", s.tracing.Enabled,
		"otlp_protocol", s.tracing.Protocol, "sampler", s.tracing.SamplerName)

	select {
	case err := <-serveErr:
		_ = s.tracing.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return s.Shutdown(serveErr)
}

// Shutdown runs the shutdown sequence described at Run.
func (s *Server) Shutdown(serveErr <-chan error) error {
	s.log.Info("shutdown: readiness set to draining", "step", 1)
	s.Readiness.BeginShutdown()
	s.HTTP.SetKeepAlivesEnabled(false)

	s.log.Info("shutdown: waiting for the drain delay", "step", 2, "drain_delay", s.cfg.DrainDelay.String())
	time.Sleep(s.cfg.DrainDelay)

	s.log.Info("shutdown: closing the listener, waiting for in-flight requests", "step", 3,
		"timeout", s.cfg.ShutdownTimeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := s.HTTP.Shutdown(ctx); err != nil {
		s.log.Warn("shutdown: in-flight requests did not finish in time; closing connections", "error", err.Error())
		_ = s.HTTP.Close()
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}

	s.log.Info("shutdown: flushing traces", "step", 4)
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	if err := s.tracing.Shutdown(fctx); err != nil {
		s.log.Warn("shutdown: trace flush failed", "error", err.Error())
		errs = append(errs, fmt.Errorf("trace flush: %w", err))
	}
	s.log.Info("shutdown: complete")
	return errors.Join(errs...)
}
