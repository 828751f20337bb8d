package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/metrics"
	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = "X-Request-ID"

// requestID accepts a well-formed incoming X-Request-ID or makes one, puts it
// in the gin context, the request context (for logs) and the response.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(problem.RequestIDKey, id)
		c.Request = c.Request.WithContext(withRequestID(c.Request.Context(), id))
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request; probes and scrapes log at debug.
func accessLog(log *slog.Logger, quiet func(route string) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := metrics.Route(c)
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case quiet(route):
			level = slog.LevelDebug
		}
		ctx := c.Request.Context()
		if !log.Enabled(ctx, level) {
			return
		}
		log.LogAttrs(ctx, level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_seconds", time.Since(start).Seconds()),
			slog.String("client_ip", c.ClientIP()),
			slog.String("user_agent", c.Request.UserAgent()),
		)
	}
}

// securityHeaders sets the headers every response carries. Handlers that
// serve HTML (Swagger UI) replace the Content-Security-Policy.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
	}
}

// cors allows the configured origins (none by default) and answers their
// preflight requests.
func cors(origins []string) gin.HandlerFunc {
	const (
		methods = "GET, POST, DELETE, OPTIONS"
		headers = "Content-Type, X-Request-ID, traceparent, tracestate, baggage"
	)
	return func(c *gin.Context) {
		if len(origins) == 0 {
			return
		}
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		origin := c.GetHeader("Origin")
		if origin == "" || !slices.Contains(origins, origin) {
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", RequestIDHeader)
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", headers)
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
		}
	}
}

// bodyLimit bounds every request body; larger declared bodies are refused
// before reading.
func bodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			problem.Write(c, http.StatusRequestEntityTooLarge, "request body larger than the limit")
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
	}
}

// routeSet matches route templates exactly or by "prefix*".
type routeSet []string

func (s routeSet) has(route string) bool {
	for _, p := range s {
		if strings.HasSuffix(p, "*") {
			if strings.HasPrefix(route, strings.TrimSuffix(p, "*")) {
				return true
			}
		} else if route == p {
			return true
		}
	}
	return false
}
