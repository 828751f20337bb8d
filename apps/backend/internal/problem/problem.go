// Package problem writes RFC 9457 problem details (application/problem+json)
// and provides the gin handlers that turn every error path (no route, wrong
// method, panic, oversize body) into one.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"
)

// ContentType is the media type of problem details.
const ContentType = "application/problem+json"

// RequestIDHeader is the response header that carries the request ID (set
// first thing by the server's telemetry middleware).
const RequestIDHeader = "X-Request-ID"

// RequestID is the ID of the request being answered, or "".
func RequestID(c *gin.Context) string { return c.Writer.Header().Get(RequestIDHeader) }

// Details is an RFC 9457 problem document.
type Details struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// maxDetail bounds the detail text (it can quote client input).
const maxDetail = 512

// New builds the problem for status with a detail message.
func New(status int, detail string) Details {
	title := http.StatusText(status)
	if title == "" {
		title = fmt.Sprintf("Status %d", status)
	}
	if len(detail) > maxDetail {
		detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
	}
	return Details{Type: "about:blank", Title: title, Status: status, Detail: detail}
}

// Write sends the problem for status with detail and aborts the chain.
func Write(c *gin.Context, status int, detail string) {
	p := New(status, detail)
	p.Instance = c.Request.URL.Path
	p.RequestID = RequestID(c)
	Render(c, p)
}

// Render sends p as the response and aborts the chain.
func Render(c *gin.Context, p Details) {
	body, err := json.Marshal(p)
	if err != nil { // cannot happen for this struct; keep a valid answer anyway
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	c.Abort()
	c.Status(p.Status)
	if bodyAllowed(p.Status) && c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(body)
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified && status != http.StatusResetContent
}

// NotFound answers requests that match no route.
func NotFound(c *gin.Context) {
	Write(c, http.StatusNotFound, "no route for "+c.Request.Method+" "+c.Request.URL.Path)
}

// MethodNotAllowed answers requests whose path matches but method does not
// (gin sets the Allow header before calling it).
func MethodNotAllowed(c *gin.Context) {
	Write(c, http.StatusMethodNotAllowed, "method "+c.Request.Method+" is not allowed here")
}

// Recovery turns a panic into a 500 problem and one error log line with the
// stack; the panic value is not sent to the client. http.ErrAbortHandler is
// re-raised so net/http aborts the connection as intended.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.ErrorContext(c.Request.Context(), "panic recovered",
				"panic", fmt.Sprint(v),
				"request_id", RequestID(c),
				"method", c.Request.Method,
				"path", c.Request.URL.Path,
				"stack", string(debug.Stack()))
			if c.Writer.Written() {
				// Headers are gone; the best we can do is end the response.
				c.Abort()
				return
			}
			c.Writer.Header().Del("Content-Length")
			Write(c, http.StatusInternalServerError, "internal error")
			_ = c.Error(fmt.Errorf("panic: %v", v))
		}()
		c.Next()
	}
}

// BodyTooLarge reports whether err comes from a body over the size limit.
func BodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
