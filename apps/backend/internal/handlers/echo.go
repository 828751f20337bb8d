package handlers

import (
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// EchoBody is the body of POST /echo. The request body is never sent back
// as-is: it is a JSON string (HTML-escaped by encoding/json), base64 when it
// is not valid UTF-8.
type EchoBody struct {
	Bytes       int    `json:"bytes"`
	ContentType string `json:"contentType"`
	Encoding    string `json:"encoding"`
	Body        string `json:"body"`
}

// Echo answers POST /echo. The body size is bounded by the server's body
// limit (413 above it).
func (h *Handlers) Echo(c *gin.Context) {
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if problem.BodyTooLarge(err) {
			problem.Write(c, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		problem.Write(c, http.StatusBadRequest, "could not read the request body")
		return
	}
	out := EchoBody{Bytes: len(data), ContentType: safeMediaType(c.GetHeader("Content-Type"))}
	if utf8.Valid(data) {
		out.Encoding, out.Body = "text", string(data)
	} else {
		out.Encoding, out.Body = "base64", base64.StdEncoding.EncodeToString(data)
	}
	c.JSON(http.StatusOK, out)
}

// safeMediaType reduces a Content-Type header to its media type, or "" when
// it does not parse.
func safeMediaType(h string) string {
	if h == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(h)
	if err != nil || len(mt) > 128 {
		return ""
	}
	return mt
}
