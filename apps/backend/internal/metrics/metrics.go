// Package metrics holds the backend's Prometheus registry and the gin
// middleware that records every request by method, route template and
// status.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of requests that matched no route.
const Unmatched = "unmatched"

// Buckets of http_request_duration_seconds: fine below a second, and up to
// the longest chaos delay plus fault latency.
var Buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the registry and the HTTP collectors.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// New registers http_requests_total, http_request_duration_seconds,
// http_requests_in_flight, build_info and the Go and process collectors in a
// fresh registry.
func New(version, commit, goVersion string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: Buckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "build_info",
		Help:        "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion},
	})
	buildInfo.Set(1)
	reg.MustRegister(m.requests, m.duration, m.inFlight, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Route is the route label for c: the gin route template, or "unmatched".
func Route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return Unmatched
}

// Method bounds the method label to the standard methods.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// Observer receives every finished request (the dashboard statistics).
type Observer interface {
	Observe(route string, status int, d time.Duration)
}

// Middleware records each request. It must run outside the panic recovery so
// that a recovered panic is counted as the 500 it became.
func (m *Metrics) Middleware(obs Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		c.Next()
		d := time.Since(start)
		route := Route(c)
		method := Method(c.Request.Method)
		status := c.Writer.Status()
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(d.Seconds())
		if obs != nil {
			obs.Observe(route, status, d)
		}
	}
}
