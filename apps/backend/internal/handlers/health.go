package handlers

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// Readiness is the drain state: ready, drained by an operator
// (POST /readyz/disable) or drained for good by shutdown.
type Readiness struct {
	mu           sync.Mutex
	ready        bool
	shuttingDown bool
}

// NewReadiness starts ready.
func NewReadiness() *Readiness { return &Readiness{ready: true} }

// Ready reports whether the readiness probe passes.
func (r *Readiness) Ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready && !r.shuttingDown
}

// Set changes the operator state; it refuses to become ready once shutdown
// has begun.
func (r *Readiness) Set(ready bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ready && r.shuttingDown {
		return false
	}
	r.ready = ready
	return true
}

// BeginShutdown reports unready from now on, whatever the operator asks.
func (r *Readiness) BeginShutdown() {
	r.mu.Lock()
	r.shuttingDown = true
	r.mu.Unlock()
}

// ReadinessBody is the body of the readiness endpoints.
type ReadinessBody struct {
	Status string `json:"status"`
}

// Healthz is the liveness probe: the process serves HTTP.
func (h *Handlers) Healthz(c *gin.Context) {
	writeJSON(c, http.StatusOK, h.bodies.healthz)
}

// Readyz is the readiness probe: 503 "draining" while drained.
func (h *Handlers) Readyz(c *gin.Context) { h.writeReadiness(c) }

func (h *Handlers) writeReadiness(c *gin.Context) {
	if h.Readiness.Ready() {
		writeJSON(c, http.StatusOK, h.bodies.ready)
		return
	}
	writeJSON(c, http.StatusServiceUnavailable, h.bodies.draining)
}

// ReadyzEnable leaves the drain state (409 once shutdown has begun).
func (h *Handlers) ReadyzEnable(c *gin.Context) {
	if !h.Readiness.Set(true) {
		problem.Write(c, http.StatusConflict, "the server is shutting down; readiness cannot be enabled")
		return
	}
	writeJSON(c, http.StatusOK, h.bodies.ready)
}

// ReadyzDisable enters the drain state; the response mirrors /readyz with
// status 200.
func (h *Handlers) ReadyzDisable(c *gin.Context) {
	h.Readiness.Set(false)
	writeJSON(c, http.StatusOK, h.bodies.draining)
}
