package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// Bounds of the chaos inputs.
const (
	MaxDelaySeconds  = 30
	MinStatusCode    = 200
	MaxStatusCode    = 599
	MaxFaultLatency  = 10000 // milliseconds
	InjectedFaultMsg = "injected fault (chaos)"
)

// FaultState is the fault injection configuration.
type FaultState struct {
	LatencyMinMs int     `json:"latencyMinMs"`
	LatencyMaxMs int     `json:"latencyMaxMs"`
	ErrorRatio   float64 `json:"errorRatio"`
	Active       bool    `json:"active"`
}

// Validate checks 0 ≤ min ≤ max ≤ 10000 and 0 ≤ ratio ≤ 1.
func (s FaultState) Validate() error {
	switch {
	case s.LatencyMinMs < 0 || s.LatencyMinMs > MaxFaultLatency:
		return errors.New("latencyMinMs must be in 0..10000")
	case s.LatencyMaxMs < 0 || s.LatencyMaxMs > MaxFaultLatency:
		return errors.New("latencyMaxMs must be in 0..10000")
	case s.LatencyMinMs > s.LatencyMaxMs:
		return errors.New("latencyMinMs must not exceed latencyMaxMs")
	case !(s.ErrorRatio >= 0 && s.ErrorRatio <= 1): // also rejects NaN
		return errors.New("errorRatio must be in 0..1")
	}
	return nil
}

// Faults holds the fault injection state shared by the chaos handlers and
// the injection middleware.
// The state is read by every request, so it is an immutable value behind an
// atomic pointer (no lock on the request path).
type Faults struct {
	state atomic.Pointer[FaultState]
}

// Get returns the current state.
func (f *Faults) Get() FaultState {
	if s := f.state.Load(); s != nil {
		return *s
	}
	return FaultState{}
}

// Set replaces the state (validated by the caller) and returns it.
func (f *Faults) Set(s FaultState) FaultState {
	s.Active = s.LatencyMaxMs > 0 || s.ErrorRatio > 0
	f.state.Store(&s)
	return s
}

// Inject is the middleware that applies the faults to the routes for which
// applies(route) is true: a uniform random latency in [min, max] and, with
// probability errorRatio, a 503 problem instead of the handler.
func (f *Faults) Inject(applies func(route string) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		s := f.state.Load()
		if s == nil || !s.Active || !applies(c.FullPath()) {
			return
		}
		if s.LatencyMaxMs > 0 {
			ms := s.LatencyMinMs
			if s.LatencyMaxMs > s.LatencyMinMs {
				ms += rand.IntN(s.LatencyMaxMs - s.LatencyMinMs + 1)
			}
			t := time.NewTimer(time.Duration(ms) * time.Millisecond)
			select {
			case <-t.C:
			case <-c.Request.Context().Done():
				t.Stop()
				problem.Write(c, http.StatusServiceUnavailable, "request canceled during injected latency")
				return
			}
		}
		if s.ErrorRatio > 0 && rand.Float64() < s.ErrorRatio {
			problem.Write(c, http.StatusServiceUnavailable, InjectedFaultMsg)
		}
	}
}

// ChaosGate answers 404 for every chaos route unless chaos is enabled.
func (h *Handlers) ChaosGate(c *gin.Context) {
	if !h.Config.ChaosEnabled {
		problem.NotFound(c)
	}
}

// ParseDelay parses the {seconds} of /chaos/delay: an integer in 0..30.
func ParseDelay(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 2 || n < 0 || n > MaxDelaySeconds {
		return 0, errors.New("seconds must be an integer in 0..30")
	}
	return n, nil
}

// ParseStatus parses the {code} of /chaos/status: an integer in 200..599.
func ParseStatus(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 || n < MinStatusCode || n > MaxStatusCode {
		return 0, errors.New("code must be an integer in 200..599")
	}
	return n, nil
}

// ChaosDelay answers GET /chaos/delay/{seconds} after that many seconds.
func (h *Handlers) ChaosDelay(c *gin.Context) {
	n, err := ParseDelay(c.Param("seconds"))
	if err != nil {
		problem.Write(c, http.StatusBadRequest, err.Error())
		return
	}
	if n > 0 {
		t := time.NewTimer(time.Duration(n) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.Request.Context().Done():
			problem.Write(c, http.StatusServiceUnavailable, "request canceled before the delay ended")
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"delayedSeconds": n})
}

// ChaosStatus answers GET /chaos/status/{code} with that status: JSON
// {"status": code} below 400, problem JSON from 400.
func (h *Handlers) ChaosStatus(c *gin.Context) {
	code, err := ParseStatus(c.Param("code"))
	if err != nil {
		problem.Write(c, http.StatusBadRequest, err.Error())
		return
	}
	if code >= 400 {
		problem.Write(c, code, "status requested by /chaos/status")
		return
	}
	switch code {
	case http.StatusNoContent, http.StatusResetContent, http.StatusNotModified:
		c.Status(code)
		c.Writer.WriteHeaderNow()
	default:
		c.JSON(code, gin.H{"status": code})
	}
}

// ChaosPanic panics; the recovery middleware turns it into a 500 problem and
// a log line.
func (h *Handlers) ChaosPanic(c *gin.Context) {
	panic("deliberate panic requested by /chaos/panic")
}

// GetFaults answers GET /chaos/faults.
func (h *Handlers) GetFaults(c *gin.Context) {
	c.JSON(http.StatusOK, h.Faults.Get())
}

// DecodeFaults reads a POST /chaos/faults body strictly: one JSON object,
// known fields only, values in range.
func DecodeFaults(r io.Reader) (FaultState, error) {
	var req struct {
		LatencyMinMs *int     `json:"latencyMinMs"`
		LatencyMaxMs *int     `json:"latencyMaxMs"`
		ErrorRatio   *float64 `json:"errorRatio"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return FaultState{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return FaultState{}, errors.New("body must hold exactly one JSON object")
	}
	var s FaultState
	if req.LatencyMinMs != nil {
		s.LatencyMinMs = *req.LatencyMinMs
	}
	if req.LatencyMaxMs != nil {
		s.LatencyMaxMs = *req.LatencyMaxMs
	}
	if req.ErrorRatio != nil {
		s.ErrorRatio = *req.ErrorRatio
	}
	return s, s.Validate()
}

// SetFaults answers POST /chaos/faults.
func (h *Handlers) SetFaults(c *gin.Context) {
	s, err := DecodeFaults(c.Request.Body)
	if err != nil {
		if problem.BodyTooLarge(err) {
			problem.Write(c, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		problem.Write(c, http.StatusBadRequest, "invalid faults: "+strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	c.JSON(http.StatusOK, h.Faults.Set(s))
}

// ClearFaults answers DELETE /chaos/faults.
func (h *Handlers) ClearFaults(c *gin.Context) {
	c.JSON(http.StatusOK, h.Faults.Set(FaultState{}))
}
