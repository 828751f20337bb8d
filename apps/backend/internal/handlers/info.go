package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/api"
)

// Info is the body of GET /api/info.
type Info = api.Info

// Version is the body of GET /version.
type Version struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Summary is the body of GET /.
type Summary struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Environment string            `json:"environment"`
	Links       map[string]string `json:"links"`
}

// Summary answers GET / with the service name and links to its endpoints.
func (h *Handlers) Summary(c *gin.Context) {
	links := map[string]string{
		"info":    "/api/info",
		"stats":   "/api/stats",
		"version": "/version",
		"health":  "/healthz",
		"ready":   "/readyz",
		"metrics": "/metrics",
		"openapi": "/openapi.yaml",
		"swagger": "/swagger/",
		"echo":    "/echo",
	}
	if h.Config.ChaosEnabled {
		links["chaos"] = "/chaos/faults"
	}
	c.JSON(http.StatusOK, Summary{Name: h.Name, Version: h.Version, Environment: h.Config.Environment, Links: links})
}

// VersionInfo answers GET /version (encoded once, by Prepare).
func (h *Handlers) VersionInfo(c *gin.Context) {
	writeJSON(c, http.StatusOK, h.bodies.version)
}

// Info answers GET /api/info: the Info document, encoded once by Prepare
// except for uptimeSeconds (rounded to milliseconds) and ready (the readiness
// probe's state, for clients that reach only /api/, such as the public
// front end).
func (h *Handlers) Info(c *gin.Context) {
	bp := infoBufs.Get().(*[]byte)
	*bp = h.infoBody((*bp)[:0])
	writeJSON(c, http.StatusOK, *bp)
	infoBufs.Put(bp)
}
