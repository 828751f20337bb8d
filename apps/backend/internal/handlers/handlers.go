// Package handlers holds the backend's HTTP handlers, one file per group:
// info.go (summary, version, info), health.go (liveness, readiness, drain),
// stats.go (dashboard series), chaos.go (delays, status codes, faults,
// panics), echo.go and docs.go (OpenAPI document and Swagger UI).
package handlers

import (
	"time"

	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/stats"
)

// Handlers carries what the handlers need.
type Handlers struct {
	Config    config.Config
	Name      string
	Version   string
	Commit    string
	GoVersion string
	Hostname  string
	StartedAt time.Time
	Now       func() time.Time
	Readiness *Readiness
	Faults    *Faults
	Recorder  *stats.Recorder
	Spec      []byte

	bodies bodies // set by Prepare
}
