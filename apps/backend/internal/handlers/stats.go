package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
	"github.com/sre-platform/platform/apps/backend/internal/stats"
)

// Window bounds of GET /api/stats, in seconds.
const (
	MinStatsWindow     = 60
	MaxStatsWindow     = 3600
	DefaultStatsWindow = 300
)

// StatsBody is the body of GET /api/stats.
type StatsBody struct {
	WindowSeconds int           `json:"windowSeconds"`
	StepSeconds   int           `json:"stepSeconds"`
	Points        []stats.Point `json:"points"`
}

// ParseWindow reads the window query value: empty means the default.
func ParseWindow(s string) (int, bool) {
	if s == "" {
		return DefaultStatsWindow, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < MinStatsWindow || n > MaxStatsWindow {
		return 0, false
	}
	return n, true
}

// Stats answers GET /api/stats?window=N.
func (h *Handlers) Stats(c *gin.Context) {
	w, ok := ParseWindow(c.Query("window"))
	if !ok {
		problem.Write(c, http.StatusBadRequest, "window must be an integer number of seconds in 60..3600")
		return
	}
	step := h.Recorder.Step()
	c.JSON(http.StatusOK, StatsBody{
		WindowSeconds: w,
		StepSeconds:   int(step / time.Second),
		Points:        h.Recorder.Series(time.Duration(w) * time.Second),
	})
}
