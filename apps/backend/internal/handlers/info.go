package handlers

import (
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Info is the body of GET /api/info.
type Info struct {
	Name          string  `json:"name"`
	Version       string  `json:"version"`
	Commit        string  `json:"commit"`
	Hostname      string  `json:"hostname"`
	GoVersion     string  `json:"goVersion"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	StartedAt     string  `json:"startedAt"`
	Message       string  `json:"message"`
	Color         string  `json:"color"`
	Environment   string  `json:"environment"`
	ChaosEnabled  bool    `json:"chaosEnabled"`
}

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

// VersionInfo answers GET /version.
func (h *Handlers) VersionInfo(c *gin.Context) {
	c.JSON(http.StatusOK, Version{Version: h.Version, Commit: h.Commit})
}

// Info answers GET /api/info.
func (h *Handlers) Info(c *gin.Context) {
	up := h.Now().Sub(h.StartedAt).Seconds()
	c.JSON(http.StatusOK, Info{
		Name:          h.Name,
		Version:       h.Version,
		Commit:        h.Commit,
		Hostname:      h.Hostname,
		GoVersion:     h.GoVersion,
		UptimeSeconds: math.Round(up*1000) / 1000,
		StartedAt:     h.StartedAt.UTC().Format(time.RFC3339),
		Message:       h.Config.UIMessage,
		Color:         h.Config.UIColor,
		Environment:   h.Config.Environment,
		ChaosEnabled:  h.Config.ChaosEnabled,
	})
}
