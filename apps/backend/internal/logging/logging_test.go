package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// gate is a writer that blocks every Write until opened, like a stdout pipe
// whose reader has stalled.
type gate struct {
	mu     sync.Mutex
	open   chan struct{}
	buf    bytes.Buffer
	writes int
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes++
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestAsyncWriterKeepsOrderAndFlushesOnClose(t *testing.T) {
	g := newGate()
	close(g.open)
	w := NewAsyncWriter(g, 0)
	var want strings.Builder
	for i := range 10000 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if g.String() != want.String() {
		t.Fatalf("lines lost or reordered: got %d bytes, want %d", len(g.String()), want.Len())
	}
	if g.writes >= 10000 {
		t.Errorf("%d writes for 10000 lines: not batched", g.writes)
	}
	if _, err := w.Write([]byte("after close\n")); err != nil || !strings.HasSuffix(g.String(), "after close\n") {
		t.Errorf("write after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestAsyncWriterNeverBlocksAndCountsDrops(t *testing.T) {
	g := newGate() // stalled reader
	w := NewAsyncWriter(g, 100)
	line := []byte(strings.Repeat("x", 9) + "\n") // 10 bytes
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			_, _ = w.Write(line)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a stalled writer")
	}
	// At most two buffers' worth (one handed to the stalled Write, one
	// queued) got through; the rest was counted.
	if d := w.Dropped(); d < 1000-20 || d >= 1000 {
		t.Fatalf("dropped %d of 1000 with a 100-byte queue", d)
	}
	close(g.open)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := g.String()
	kept := strings.Count(out, strings.Repeat("x", 9)+"\n")
	if uint64(kept)+w.Dropped() != 1000 {
		t.Errorf("kept %d + dropped %d != 1000", kept, w.Dropped())
	}
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	var m map[string]any
	if err := json.Unmarshal([]byte(last), &m); err != nil || m["msg"] != "log lines lost" || m["dropped_queue_full"] != float64(w.Dropped()) {
		t.Errorf("no loss report at the end: %q (%v)", last, err)
	}
}

func TestAccessLineIsJSONForHostileInput(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	hostile := []string{
		"plain", "", `quote " and \ backslash`, "new\nline\r\ttab", "\x00\x01\x1f\x7f",
		"invalid \xff\xfe utf-8", "\u2028\u2029 separators", "émoji 🚀", "</script><b>",
	}
	for _, s := range hostile {
		var buf bytes.Buffer
		l := New(&buf, slog.LevelInfo)
		l.Access(&Access{
			Time: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC), Level: slog.LevelWarn,
			Method: "GET", Route: "/x", Path: s, Status: 418, Bytes: 12, Duration: 1500 * time.Microsecond,
			ClientIP: "127.0.0.1", UserAgent: s, RequestID: "r-1",
			Span: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}),
		})
		out := buf.String()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Errorf("%q: not one line: %q", s, out)
		}
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%q: not JSON: %v: %s", s, err, out)
		}
		var want string // what encoding/json makes of s (one U+FFFD per invalid byte)
		enc, _ := json.Marshal(s)
		_ = json.Unmarshal(enc, &want)
		if m["path"] != want || m["user_agent"] != want {
			t.Errorf("%q: path %q user_agent %q", s, m["path"], m["user_agent"])
		}
		for k, v := range map[string]any{
			"time": "2026-01-02T03:04:05.678Z", "level": "WARN", "msg": "request", "method": "GET", "route": "/x",
			"status": 418.0, "bytes": 12.0, "duration_seconds": 0.0015, "client_ip": "127.0.0.1",
			"request_id": "r-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
		} {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
	}
}

func TestAccessLevelPolicy(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, slog.LevelInfo)
	l.Access(&Access{Level: slog.LevelDebug, Method: "GET", Path: "/healthz"})
	if buf.Len() != 0 {
		t.Errorf("debug line written at info: %s", buf.String())
	}
	l.Access(&Access{Level: slog.LevelInfo, Method: "GET", Path: "/api/info"})
	if !strings.Contains(buf.String(), `"path":"/api/info"`) || strings.Contains(buf.String(), "trace_id") {
		t.Errorf("info line: %s", buf.String())
	}
	l.Info("plain slog record", "k", "v")
	if !strings.Contains(buf.String(), `"msg":"plain slog record"`) {
		t.Errorf("slog records share the writer: %s", buf.String())
	}
}

func TestTimeAndSecondsFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -8*3600)}
	for _, loc := range zones {
		for _, ts := range []time.Time{
			time.Date(2026, 12, 5, 10, 4, 5, 678_901_234, loc), time.Date(1999, 1, 2, 3, 4, 5, 0, loc),
			time.Date(2000, 2, 29, 23, 59, 59, 999_999_999, loc),
		} {
			if got, want := string(appendTime(nil, ts)), ts.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
				t.Errorf("appendTime = %s, want %s", got, want)
			}
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0", time.Second: "1", 1500 * time.Millisecond: "1.5", 1234 * time.Nanosecond: "0.000001234",
		90 * time.Second: "90", time.Nanosecond: "0.000000001", -2 * time.Millisecond: "-0.002",
	} {
		if got := string(appendSeconds(nil, d)); got != want {
			t.Errorf("appendSeconds(%s) = %s, want %s", d, got, want)
		}
	}
}
