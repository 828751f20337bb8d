package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = problem.RequestIDHeader

// securityHeaderValues are set on every response. The value slices are
// shared (net/http only reads them; a handler that changes a header, such as
// the Swagger pages' CSP, replaces the slice).
var securityHeaderValues = []struct {
	key   string // canonical form
	value []string
}{
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
	{"Cache-Control", []string{"no-store"}},
}

// securityHeaders sets the headers every response carries. Handlers that
// serve HTML (Swagger UI) replace the Content-Security-Policy.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, kv := range securityHeaderValues {
			h[kv.key] = kv.value[:1:1]
		}
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
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
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
