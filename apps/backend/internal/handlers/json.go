package handlers

import (
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// jsonContentType is the Content-Type of every JSON answer (the one gin's
// c.JSON sets). The header value slice is shared by all responses: net/http
// only reads it, and a handler that changes it replaces the slice.
var jsonContentType = []string{"application/json; charset=utf-8"}

// writeJSON sends a body encoded ahead of time.
func writeJSON(c *gin.Context, status int, body []byte) {
	c.Writer.Header()["Content-Type"] = jsonContentType
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(body)
}

// bodies are the answers that do not change while the process runs, encoded
// once by Prepare with encoding/json (the same bytes c.JSON would write).
type bodies struct {
	healthz, ready, draining, version []byte
	// /api/info: everything but uptimeSeconds and ready, which are spliced
	// in between: head + uptime + readyTail or drainingTail.
	infoHead, readyTail, drainingTail []byte
}

// Prepare encodes the constant answers. New handlers must call it once
// before serving.
func (h *Handlers) Prepare() error {
	var err error
	enc := func(v any) []byte {
		b, e := json.Marshal(v)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	h.bodies.healthz = enc(ReadinessBody{Status: "ok"})
	h.bodies.ready = enc(ReadinessBody{Status: "ready"})
	h.bodies.draining = enc(ReadinessBody{Status: "draining"})
	h.bodies.version = enc(Version{Version: h.Version, Commit: h.Commit})
	head := enc(struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		Hostname  string `json:"hostname"`
		GoVersion string `json:"goVersion"`
	}{h.Name, h.Version, h.Commit, h.Hostname, h.GoVersion})
	tail := enc(struct {
		StartedAt    string `json:"startedAt"`
		Message      string `json:"message"`
		Color        string `json:"color"`
		Environment  string `json:"environment"`
		ChaosEnabled bool   `json:"chaosEnabled"`
	}{h.StartedAt.UTC().Format(time.RFC3339), h.Config.UIMessage, h.Config.UIColor, h.Config.Environment, h.Config.ChaosEnabled})
	if err != nil {
		return err
	}
	// {"name":…,"goVersion":"…"  +  ,"uptimeSeconds":N  +  ,"ready":true,"startedAt":…}
	h.bodies.infoHead = append(head[:len(head)-1:len(head)-1], `,"uptimeSeconds":`...)
	h.bodies.readyTail = append([]byte(`,"ready":true,`), tail[1:]...)
	h.bodies.drainingTail = append([]byte(`,"ready":false,`), tail[1:]...)
	return nil
}

// appendJSONFloat formats f as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// infoBody is /api/info with the current uptime.
func (h *Handlers) infoBody(b []byte) []byte {
	up := math.Round(h.Now().Sub(h.StartedAt).Seconds()*1000) / 1000
	b = append(b, h.bodies.infoHead...)
	b = appendJSONFloat(b, up)
	if h.Readiness != nil && !h.Readiness.Ready() {
		return append(b, h.bodies.drainingTail...)
	}
	return append(b, h.bodies.readyTail...)
}

var infoBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
