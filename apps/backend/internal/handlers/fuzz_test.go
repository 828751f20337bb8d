package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/handlers"
	"github.com/sre-platform/platform/apps/backend/internal/problem"
	"github.com/sre-platform/platform/apps/backend/internal/server"
)

const maxBody = 1024

func newServer(t testing.TB) *server.Server {
	cfg := config.Defaults()
	cfg.ChaosEnabled = true
	cfg.MaxBodyBytes = maxBody
	srv, err := server.New(cfg, server.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// FuzzEcho sends arbitrary bodies and content types through the whole
// router: the answer is always JSON (never reflected markup), the body comes
// back intact, and only oversize bodies are refused (413).
func FuzzEcho(f *testing.F) {
	f.Add([]byte("hello"), "text/plain")
	f.Add([]byte("<script>alert(1)</script>"), "text/html")
	f.Add([]byte{0xff, 0x00, 0xfe}, "application/octet-stream")
	f.Add([]byte(`{"a":1}`), "application/json; charset=utf-8")
	f.Add([]byte(""), "")
	f.Add(bytes.Repeat([]byte("x"), maxBody+1), "text/plain")
	f.Add([]byte("\u2028</script>"), "text/plain;;;=")
	srv := newServer(f)
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		req := httptest.NewRequest(http.MethodPost, "/echo", bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		srv.Engine.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		if bytes.ContainsAny(out, "<>") {
			t.Fatalf("response reflects markup: %q", out)
		}
		if len(body) > maxBody {
			if rec.Code != http.StatusRequestEntityTooLarge || rec.Header().Get("Content-Type") != problem.ContentType {
				t.Fatalf("oversize body: %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			return
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("echo: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), out)
		}
		var e handlers.EchoBody
		if err := json.Unmarshal(out, &e); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if e.Bytes != len(body) {
			t.Fatalf("bytes = %d, want %d", e.Bytes, len(body))
		}
		got := []byte(e.Body)
		if e.Encoding == "base64" {
			var err error
			if got, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
				t.Fatal(err)
			}
		} else if !utf8.Valid(body) {
			t.Fatal("invalid UTF-8 echoed as text")
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("body changed: %q -> %q", body, got)
		}
		if strings.ContainsAny(e.ContentType, "\r\n<>\"") {
			t.Fatalf("unsafe content type echoed: %q", e.ContentType)
		}
	})
}

// FuzzChaos sends arbitrary path values to /chaos/delay and /chaos/status:
// valid values answer as documented, everything else is a 4xx problem —
// never a panic or a 5xx of the server's own making. Requests carry a
// canceled context so that valid delays end at once.
func FuzzChaos(f *testing.F) {
	for _, s := range []string{"0", "1", "30", "31", "-1", "abc", "200", "599", "600", "199", "1e2", "+5", "007", " 5", "%", "a/b", "..", "", "\x00", "9999999999999999999999"} {
		f.Add(true, s)
		f.Add(false, s)
	}
	srv := newServer(f)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, delay bool, value string) {
		route := "/chaos/status/"
		if delay {
			route = "/chaos/delay/"
		}
		req := httptest.NewRequestWithContext(canceled, http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: route + value, RawPath: route + url.PathEscape(value)}
		req.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		srv.Engine.ServeHTTP(rec, req)

		valid := false
		want := 0
		if delay {
			if n, err := handlers.ParseDelay(value); err == nil {
				valid, want = true, http.StatusOK
				if n > 0 {
					want = http.StatusServiceUnavailable // canceled while waiting
				}
			}
		} else if n, err := handlers.ParseStatus(value); err == nil {
			valid, want = true, n
		}
		switch {
		case valid && rec.Code != want:
			t.Fatalf("%s%q: %d, want %d", route, value, rec.Code, want)
		case !valid && rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound:
			t.Fatalf("%s%q: %d, want 400 or 404 (body %q)", route, value, rec.Code, rec.Body.String())
		case !valid && rec.Header().Get("Content-Type") != problem.ContentType:
			t.Fatalf("%s%q: error is not problem JSON", route, value)
		}
	})
}

func TestParsers(t *testing.T) {
	for s, ok := range map[string]bool{"0": true, "30": true, "31": false, "-1": false, "1.5": false, "": false, "x": false, "007": false} {
		if _, err := handlers.ParseDelay(s); (err == nil) != ok {
			t.Errorf("ParseDelay(%q) ok=%v", s, err == nil)
		}
	}
	for s, ok := range map[string]bool{"200": true, "599": true, "199": false, "600": false, "2e2": false, "": false, "-200": false} {
		if _, err := handlers.ParseStatus(s); (err == nil) != ok {
			t.Errorf("ParseStatus(%q) ok=%v", s, err == nil)
		}
	}
	for body, ok := range map[string]bool{
		`{}`: true, `{"latencyMinMs":10,"latencyMaxMs":200,"errorRatio":0.2}`: true, `{"latencyMaxMs":10000,"errorRatio":1}`: true,
		`{"latencyMinMs":10}`: false, `{"errorRatio":-0.1}`: false, `{"x":1}`: false, `[]`: false, `{}{}`: false, `null`: true,
	} {
		if _, err := handlers.DecodeFaults(strings.NewReader(body)); (err == nil) != ok {
			t.Errorf("DecodeFaults(%s) err=%v", body, err)
		}
	}
}
