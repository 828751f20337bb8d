package logging

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkAccess is the cost of one access line (format + queue) on the
// request path.
func BenchmarkAccess(b *testing.B) {
	w := NewAsyncWriter(io.Discard, 0)
	defer w.Close()
	l := New(w, slog.LevelInfo)
	a := Access{Time: time.Now(), Level: slog.LevelInfo, Method: "GET", Route: "/api/info", Path: "/api/info", Status: 200,
		Bytes: 312, Duration: 123456 * time.Nanosecond, ClientIP: "127.0.0.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", RequestID: "0123456789abcdef0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		l.Access(&a)
	}
}
