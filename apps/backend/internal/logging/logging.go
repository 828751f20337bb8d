package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// Logger writes JSON lines to one writer: slog records through the embedded
// *slog.Logger (with trace_id and span_id from the context of the call), and
// access lines through Access, which formats the same JSON shape without
// slog's per-record allocations.
type Logger struct {
	*slog.Logger
	out   io.Writer
	level slog.Leveler
}

// New returns a logger writing to out at the given minimum level.
func New(out io.Writer, level slog.Leveler) *Logger {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Logger{
		Logger: slog.New(contextHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})}),
		out:    out,
		level:  level,
	}
}

// Discard is a logger that writes nothing.
func Discard() *Logger {
	return &Logger{Logger: slog.New(slog.DiscardHandler), out: io.Discard, level: slog.Level(127)}
}

// AccessEnabled reports whether an access line at level is written.
func (l *Logger) AccessEnabled(level slog.Level) bool { return level >= l.level.Level() }

// Access is one access-log line.
type Access struct {
	Time      time.Time
	Level     slog.Level
	Method    string
	Route     string
	Path      string
	Status    int
	Bytes     int
	Duration  time.Duration
	ClientIP  string
	UserAgent string
	RequestID string
	Span      trace.SpanContext // trace_id and span_id when valid
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Access writes one line (when its level is enabled) with a single Write.
func (l *Logger) Access(a *Access) {
	if !l.AccessEnabled(a.Level) {
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := AppendAccess((*bp)[:0], a)
	_, _ = l.out.Write(b)
	if cap(b) <= 4<<10 {
		*bp = b
		bufPool.Put(bp)
	}
}

// AppendAccess appends a as a JSON line in the shape slog's JSON handler
// writes: time (RFC 3339, milliseconds), level, msg "request", the request's
// fields, then request_id, trace_id and span_id.
func AppendAccess(b []byte, a *Access) []byte {
	b = append(b, `{"time":"`...)
	b = appendTime(b, a.Time)
	b = append(b, `","level":"`...)
	b = append(b, a.Level.String()...)
	b = append(b, `","msg":"request","method":`...)
	b = appendString(b, a.Method)
	b = append(b, `,"route":`...)
	b = appendString(b, a.Route)
	b = append(b, `,"path":`...)
	b = appendString(b, a.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(a.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(a.Bytes), 10)
	b = append(b, `,"duration_seconds":`...)
	b = appendSeconds(b, a.Duration)
	b = append(b, `,"client_ip":`...)
	b = appendString(b, a.ClientIP)
	b = append(b, `,"user_agent":`...)
	b = appendString(b, a.UserAgent)
	if a.RequestID != "" {
		b = append(b, `,"request_id":`...)
		b = appendString(b, a.RequestID)
	}
	if a.Span.IsValid() {
		tid, sid := a.Span.TraceID(), a.Span.SpanID()
		b = append(b, `,"trace_id":"`...)
		b = appendHex(b, tid[:])
		b = append(b, `","span_id":"`...)
		b = appendHex(b, sid[:])
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendTime writes t as RFC 3339 with milliseconds, as slog's JSON handler
// does ("2006-01-02T15:04:05.000Z07:00"), without parsing a layout.
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	_, offset := t.Zone()
	if offset == 0 {
		return append(b, 'Z')
	}
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	b = append(b, sign)
	b = appendDigits(b, offset/3600, 2)
	b = append(b, ':')
	return appendDigits(b, offset/60%60, 2)
}

// appendDigits writes v (≥ 0) zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [4]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

// appendSeconds writes d in seconds as a JSON number with up to nine
// decimals and no trailing zeros ("0.001234", "2", "12.5").
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	frac := int(d % time.Second)
	if frac == 0 {
		return b
	}
	var tmp [9]byte
	n := 9
	for i := 8; i >= 0; i-- {
		tmp[i] = byte('0' + frac%10)
		frac /= 10
	}
	for n > 0 && tmp[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, tmp[:n]...)
}

func appendHex(b []byte, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029
// escaped (as encoding/json does), so client-controlled text such as the path
// or the user agent can never break the line.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// contextHandler adds trace_id and span_id to records logged with a context
// that carries a span.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(a)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
