// Package metrics holds the backend's Prometheus registry and the gin
// middleware that records every request by method, route template and
// status.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
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

	// series caches the counter and histogram child of each method, route
	// and status seen, so observing a request is one lock-free map lookup
	// (no label hashing, no label strings built). Copy-on-write: the set is
	// small and bounded (standard methods × route templates × status codes).
	series atomic.Pointer[map[seriesKey]series]
	mu     sync.Mutex // serialises additions to series
}

type seriesKey struct {
	method, route string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
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
	m.series.Store(&map[seriesKey]series{})
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

// Begin counts a request in flight; Done must follow (deferred).
func (m *Metrics) Begin() { m.inFlight.Inc() }

// Done ends what Begin started.
func (m *Metrics) Done() { m.inFlight.Dec() }

// Observe records a finished request: method (bounded by Method), route label
// and status. It must be called outside the panic recovery so that a
// recovered panic is counted as the 500 it became.
func (m *Metrics) Observe(method, route string, status int, d time.Duration) {
	k := seriesKey{Method(method), route, status}
	s, ok := (*m.series.Load())[k]
	if !ok {
		s = m.add(k)
	}
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
}

func (m *Metrics) add(k seriesKey) series {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := series{
		requests: m.requests.WithLabelValues(k.method, k.route, strconv.Itoa(k.status)),
		duration: m.duration.WithLabelValues(k.method, k.route),
	}
	next := make(map[seriesKey]series, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}
