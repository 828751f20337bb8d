package server

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sre-platform/platform/apps/backend/api"
	"github.com/sre-platform/platform/apps/backend/internal/config"
)

func TestSpecIsValid(t *testing.T) {
	if _, err := LoadSpec(context.Background(), api.Spec); err != nil {
		t.Fatal(err)
	}
}

// TestRoutesMatchSpec checks both directions: every gin route is described
// in openapi.yaml, and every operation there is routed.
func TestRoutesMatchSpec(t *testing.T) {
	doc, err := LoadSpec(context.Background(), api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			spec[method+" "+path] = true
		}
	}
	f := newFixture(t, nil)
	routed := map[string]bool{}
	for _, r := range f.srv.Engine.Routes() {
		key := r.Method + " " + SpecPath(r.Path)
		routed[key] = true
		if !spec[key] {
			t.Errorf("route %s %s is not in openapi.yaml", r.Method, r.Path)
		}
	}
	for key := range spec {
		if !routed[key] {
			t.Errorf("openapi.yaml operation %s is not routed", key)
		}
	}
	if len(routed) < 17 {
		t.Errorf("only %d routes", len(routed))
	}
}

func TestConfigDocumentedInSpec(t *testing.T) {
	for _, o := range config.Options() {
		if !strings.Contains(string(api.Spec), "`"+o.Env+"`") || !strings.Contains(string(api.Spec), "`--"+o.Flag+"`") {
			t.Errorf("openapi.yaml description does not document %s / --%s", o.Env, o.Flag)
		}
	}
}

func TestInfoEndpoints(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.Environment = "staging"
		c.UIMessage = "hi there"
		c.UIColor = "#abc"
	})

	r := f.do(t, "GET", "/api/info", nil)
	if r.Code != 200 || !strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/info: %d %q", r.Code, r.Header().Get("Content-Type"))
	}
	m := r.JSON(t)
	for _, k := range []string{"name", "version", "commit", "hostname", "goVersion", "uptimeSeconds", "ready", "startedAt", "message", "color", "environment", "chaosEnabled"} {
		if _, ok := m[k]; !ok {
			t.Errorf("/api/info lacks %q", k)
		}
	}
	if m["name"] != "backend" || m["message"] != "hi there" || m["color"] != "#abc" || m["environment"] != "staging" || m["chaosEnabled"] != true {
		t.Errorf("/api/info = %v", m)
	}
	if !strings.HasPrefix(m["goVersion"].(string), "go1.") {
		t.Errorf("goVersion = %v", m["goVersion"])
	}
	if _, err := time.Parse(time.RFC3339, m["startedAt"].(string)); err != nil {
		t.Errorf("startedAt: %v", err)
	}

	v := f.do(t, "GET", "/version", nil).JSON(t)
	if v["version"] == nil || v["commit"] == nil {
		t.Errorf("/version = %v", v)
	}
	s := f.do(t, "GET", "/", nil).JSON(t)
	if s["name"] != "backend" || s["links"] == nil {
		t.Errorf("/ = %v", s)
	}
}

func TestProbesAndDrain(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "GET", "/healthz", nil); r.Code != 200 || r.JSON(t)["status"] != "ok" {
		t.Fatalf("/healthz: %d %s", r.Code, r.Body)
	}
	expect := func(method, path string, code int, status string) {
		t.Helper()
		r := f.do(t, method, path, nil)
		if r.Code != code || r.JSON(t)["status"] != status {
			t.Fatalf("%s %s: %d %s, want %d %s", method, path, r.Code, r.Body, code, status)
		}
	}
	ready := func() any { return f.do(t, "GET", "/api/info", nil).JSON(t)["ready"] }
	expect("GET", "/readyz", 200, "ready")
	if ready() != true {
		t.Error("/api/info ready = false while /readyz is ready")
	}
	expect("POST", "/readyz/disable", 200, "draining")
	expect("GET", "/readyz", 503, "draining")
	if ready() != false {
		t.Error("/api/info ready = true while /readyz is draining")
	}
	expect("POST", "/readyz/disable", 200, "draining")
	expect("POST", "/readyz/enable", 200, "ready")
	expect("GET", "/readyz", 200, "ready")

	f.srv.Readiness.BeginShutdown()
	expect("GET", "/readyz", 503, "draining")
	requireProblem(t, f.do(t, "POST", "/readyz/enable", nil), http.StatusConflict)
	expect("GET", "/readyz", 503, "draining")
	// Wrong methods are problems too.
	requireProblem(t, f.do(t, "GET", "/readyz/enable", nil), http.StatusMethodNotAllowed)
}

func TestStats(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	f := newFixture(t, nil, Deps{Now: clock.Now})

	// Step 1: 4 requests, 1 of them a 5xx; probes and scrapes are left out.
	f.do(t, "GET", "/version", nil)
	f.do(t, "GET", "/", nil)
	f.do(t, "GET", "/chaos/status/500", nil)
	f.do(t, "GET", "/chaos/status/404", nil)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/swagger/", "/api/stats"} {
		f.do(t, "GET", p, nil)
	}
	clock.Add(StatsStep)
	// Step 2: nothing. Step 3: 1 request.
	clock.Add(StatsStep)
	f.do(t, "GET", "/version", nil)

	r := f.do(t, "GET", "/api/stats?window=60", nil)
	if r.Code != 200 {
		t.Fatalf("/api/stats: %d %s", r.Code, r.Body)
	}
	m := r.JSON(t)
	if m["windowSeconds"] != 60.0 || m["stepSeconds"] != 5.0 {
		t.Fatalf("stats = %v", m)
	}
	pts := m["points"].([]any)
	if len(pts) != 12 {
		t.Fatalf("%d points, want 12", len(pts))
	}
	last := pts[11].(map[string]any)
	mid := pts[10].(map[string]any)
	first := pts[9].(map[string]any)
	if first["requestRate"] != 4.0/5 || first["errorRatio"] != 0.25 || first["p99Seconds"].(float64) <= 0 {
		t.Errorf("first step = %v", first)
	}
	if mid["requestRate"] != 0.0 || mid["errorRatio"] != 0.0 || mid["p99Seconds"] != 0.0 {
		t.Errorf("empty step = %v", mid)
	}
	if last["requestRate"] != 1.0/5 || last["errorRatio"] != 0.0 {
		t.Errorf("last step = %v", last)
	}
	t0, _ := time.Parse(time.RFC3339, pts[0].(map[string]any)["time"].(string))
	t11, _ := time.Parse(time.RFC3339, last["time"].(string))
	if t11.Sub(t0) != 55*time.Second {
		t.Errorf("points span %s, want oldest first 55s apart", t11.Sub(t0))
	}

	if n := len(f.do(t, "GET", "/api/stats", nil).JSON(t)["points"].([]any)); n != 60 {
		t.Errorf("default window: %d points, want 60", n)
	}
	for _, bad := range []string{"59", "3601", "abc", "1.5", "-60", ""} {
		if bad == "" {
			continue
		}
		requireProblem(t, f.do(t, "GET", "/api/stats?window="+bad, nil), 400)
	}
	if n := len(f.do(t, "GET", "/api/stats?window=3600", nil).JSON(t)["points"].([]any)); n != 720 {
		t.Errorf("window=3600: %d points, want 720", n)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "GET", "/api/info", nil)
	f.do(t, "GET", "/api/info", nil)
	f.do(t, "GET", "/no/such/path", nil)
	f.do(t, "GET", "/chaos/status/503", nil)
	f.do(t, "GET", "/chaos/panic", nil)
	f.do(t, "BREW", "/api/info", nil)

	r := f.do(t, "GET", "/metrics", nil)
	if r.Code != 200 || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", r.Code, r.Header().Get("Content-Type"))
	}
	body := r.Body.String()
	for _, want := range []string{
		`http_requests_total{method="GET",route="/api/info",status="200"} 2`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_requests_total{method="GET",route="/chaos/status/:code",status="503"} 1`,
		`http_requests_total{method="GET",route="/chaos/panic",status="500"} 1`,
		`http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/api/info",le="0.005"}`,
		`http_request_duration_seconds_count{method="GET",route="/api/info"} 2`,
		`http_requests_in_flight 1`, // the scrape itself
		`build_info{commit="unknown",goversion="go1.`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if regexp.MustCompile(`route="/no/such/path"`).MatchString(body) {
		t.Error("raw paths leak into route labels")
	}
}

func TestErrorsAreProblems(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MaxBodyBytes = 64 })
	cases := []struct {
		method, path, body string
		headers            []string
		status             int
	}{
		{"GET", "/nope", "", nil, 404},
		{"GET", "/healthz/", "", nil, 404},
		{"DELETE", "/api/info", "", nil, 405},
		{"PUT", "/echo", "", nil, 405},
		{"GET", "/api/stats?window=x", "", nil, 400},
		{"GET", "/chaos/status/199", "", nil, 400},
		{"GET", "/chaos/status/600", "", nil, 400},
		{"GET", "/chaos/status/2000", "", nil, 400},
		{"GET", "/chaos/status/%3Cb%3E", "", nil, 400},
		{"GET", "/chaos/delay/-1", "", nil, 400},
		{"GET", "/chaos/delay/31", "", nil, 400},
		{"GET", "/chaos/delay/1.5", "", nil, 400},
		{"GET", "/chaos/delay/abc", "", nil, 400},
		{"GET", "/chaos/panic", "", nil, 500},
		{"POST", "/chaos/faults", `{"latencyMinMs":-1}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"latencyMaxMs":10001}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"latencyMinMs":20,"latencyMaxMs":10}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"errorRatio":1.01}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"errorRatio":"x"}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"bogus":1}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{} {}`, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", ``, []string{"Content-Type", "application/json"}, 400},
		{"POST", "/chaos/faults", `{"errorRatio":0.5}`, []string{"Content-Type", "text/plain"}, 400},
		{"POST", "/chaos/faults", `{"errorRatio":0.5,"pad":"` + strings.Repeat("x", 100) + `"}`, []string{"Content-Type", "application/json"}, 413},
		{"POST", "/echo", strings.Repeat("x", 65), nil, 413},
		{"GET", "/swagger/swagger-ui.js.map", "", nil, 404},
		{"GET", "/swagger/../openapi.yaml", "", nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var r response
			if body == nil {
				r = f.do(t, tc.method, tc.path, nil, tc.headers...)
			} else {
				r = f.do(t, tc.method, tc.path, body, tc.headers...)
			}
			p := requireProblem(t, r, tc.status)
			if p["requestId"] == "" || p["requestId"] == nil {
				t.Errorf("problem lacks the request ID")
			}
			if strings.ContainsAny(r.Body.String(), "<>") {
				t.Errorf("problem reflects markup: %s", r.Body)
			}
		})
	}
	if r := f.do(t, "DELETE", "/api/info", nil); r.Header().Get("Allow") == "" {
		t.Errorf("405 without Allow header")
	}
}

func TestChaosStatusEveryCode(t *testing.T) {
	f := newFixture(t, nil)
	for code := 200; code <= 599; code++ {
		r := f.do(t, "GET", "/chaos/status/"+strconv.Itoa(code), nil)
		if r.Code != code {
			t.Fatalf("/chaos/status/%d answered %d", code, r.Code)
		}
		switch {
		case code == 204 || code == 205 || code == 304:
			if r.Body.Len() != 0 {
				t.Errorf("%d has a body", code)
			}
		case code >= 400:
			requireProblem(t, r, code)
		default:
			if r.JSON(t)["status"] != float64(code) {
				t.Errorf("%d body %s", code, r.Body)
			}
		}
	}
}

func TestChaosDelay(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "GET", "/chaos/delay/0", nil); r.Code != 200 || r.JSON(t)["delayedSeconds"] != 0.0 {
		t.Fatalf("/chaos/delay/0: %d %s", r.Code, r.Body)
	}
	// A canceled request ends the delay early.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	requireProblem(t, f.doCtx(t, ctx, "GET", "/chaos/delay/30", nil), 503)
}

func TestChaosDisabled(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.ChaosEnabled = false })
	for _, r := range []struct{ method, path string }{
		{"GET", "/chaos/delay/1"}, {"GET", "/chaos/delay/abc"}, {"GET", "/chaos/status/500"},
		{"GET", "/chaos/faults"}, {"POST", "/chaos/faults"}, {"DELETE", "/chaos/faults"}, {"GET", "/chaos/panic"},
	} {
		requireProblem(t, f.do(t, r.method, r.path, nil), 404)
	}
	if f.do(t, "GET", "/api/info", nil).JSON(t)["chaosEnabled"] != false {
		t.Error("chaosEnabled should be false")
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, nil)
	get := func() map[string]any { return f.do(t, "GET", "/chaos/faults", nil).JSON(t) }
	if s := get(); s["active"] != false || s["errorRatio"] != 0.0 || s["latencyMinMs"] != 0.0 || s["latencyMaxMs"] != 0.0 {
		t.Fatalf("initial faults = %v", s)
	}
	r := f.do(t, "POST", "/chaos/faults", strings.NewReader(`{"latencyMinMs":0,"latencyMaxMs":1,"errorRatio":1}`), "Content-Type", "application/json")
	if r.Code != 200 {
		t.Fatalf("POST /chaos/faults: %d %s", r.Code, r.Body)
	}
	if s := r.JSON(t); s["active"] != true || s["errorRatio"] != 1.0 || s["latencyMaxMs"] != 1.0 {
		t.Fatalf("POST answer = %v", s)
	}
	// Every non-exempt route fails ...
	for _, p := range []string{"/", "/version"} {
		if p := requireProblem(t, f.do(t, "GET", p, nil), 503); !strings.Contains(p["detail"].(string), "injected") {
			t.Errorf("detail = %v", p["detail"])
		}
	}
	requireProblem(t, f.do(t, "POST", "/echo", strings.NewReader("x")), 503)
	// ... the dashboard's routes, probes and chaos itself do not.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/info", "/api/stats", "/chaos/faults", "/openapi.yaml", "/swagger/"} {
		if r := f.do(t, "GET", p, nil); r.Code != 200 {
			t.Errorf("%s under faults: %d", p, r.Code)
		}
	}
	// Latency honours cancellation.
	f.do(t, "POST", "/chaos/faults", strings.NewReader(`{"latencyMinMs":10000,"latencyMaxMs":10000}`), "Content-Type", "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	requireProblem(t, f.doCtx(t, ctx, "GET", "/version", nil), 503)

	if r := f.do(t, "DELETE", "/chaos/faults", nil); r.Code != 200 || r.JSON(t)["active"] != false {
		t.Fatalf("DELETE: %d %s", r.Code, r.Body)
	}
	if r := f.do(t, "GET", "/version", nil); r.Code != 200 {
		t.Errorf("after DELETE /version = %d", r.Code)
	}
}

func TestPanicIsRecoveredAndLogged(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "GET", "/chaos/panic", nil, "X-Request-ID", "panic-1")
	p := requireProblem(t, r, 500)
	if strings.Contains(r.Body.String(), "deliberate") {
		t.Error("panic value leaks to the client")
	}
	if p["requestId"] != "panic-1" {
		t.Errorf("requestId = %v", p["requestId"])
	}
	found := false
	for _, l := range f.logs.Lines(t) {
		if l["msg"] == "panic recovered" && l["request_id"] == "panic-1" && strings.Contains(l["stack"].(string), "ChaosPanic") {
			found = true
		}
	}
	if !found {
		t.Error("no panic log line with request ID and stack")
	}
}

func TestEcho(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "POST", "/echo", strings.NewReader(`<script>alert(1)</script>`), "Content-Type", "text/html; charset=utf-8")
	if r.Code != 200 || r.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("echo: %d %q", r.Code, r.Header().Get("Content-Type"))
	}
	if strings.ContainsAny(r.Body.String(), "<>") {
		t.Fatalf("echo reflects markup: %s", r.Body)
	}
	m := r.JSON(t)
	if m["body"] != `<script>alert(1)</script>` || m["encoding"] != "text" || m["contentType"] != "text/html" || m["bytes"] != 25.0 {
		t.Errorf("echo = %v", m)
	}
	m = f.do(t, "POST", "/echo", strings.NewReader("\xff\xfe")).JSON(t)
	if m["encoding"] != "base64" || m["body"] != "//4=" {
		t.Errorf("binary echo = %v", m)
	}
	m = f.do(t, "POST", "/echo", nil).JSON(t)
	if m["bytes"] != 0.0 {
		t.Errorf("empty echo = %v", m)
	}
}

func TestHeaders(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.CORSOrigins = []string{"https://dash.example.com"} })
	r := f.do(t, "GET", "/api/info", nil, "Origin", "https://dash.example.com", "X-Request-ID", "abc-123")
	h := r.Header()
	for k, v := range map[string]string{
		"X-Content-Type-Options":        "nosniff",
		"X-Frame-Options":               "DENY",
		"Referrer-Policy":               "no-referrer",
		"Content-Security-Policy":       "default-src 'none'; frame-ancestors 'none'",
		"Access-Control-Allow-Origin":   "https://dash.example.com",
		"Access-Control-Expose-Headers": "X-Request-ID",
		"X-Request-Id":                  "abc-123",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Preflight.
	r = f.do(t, "OPTIONS", "/chaos/faults", nil, "Origin", "https://dash.example.com", "Access-Control-Request-Method", "POST")
	if r.Code != 204 || !strings.Contains(r.Header().Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(r.Header().Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", r.Code, r.Header())
	}
	// Other origins get nothing; their preflight is a 405 problem.
	r = f.do(t, "GET", "/api/info", nil, "Origin", "https://evil.example.com")
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("foreign origin allowed")
	}
	requireProblem(t, f.do(t, "OPTIONS", "/api/info", nil, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "GET"), 405)
	// A malformed request ID is replaced.
	if id := f.do(t, "GET", "/healthz", nil, "X-Request-ID", "<bad id>").Header().Get("X-Request-ID"); id == "<bad id>" || len(id) != 32 {
		t.Errorf("request ID = %q", id)
	}
	// Swagger gets its own CSP, loads our document and no CDN.
	r = f.do(t, "GET", "/swagger/", nil)
	if r.Code != 200 || !strings.Contains(r.Header().Get("Content-Security-Policy"), "script-src 'self'") || strings.Contains(r.Body.String(), "https://") {
		t.Errorf("swagger: %d %v", r.Code, r.Header())
	}
	if r := f.do(t, "GET", "/swagger/swagger-initializer.js", nil); !strings.Contains(r.Body.String(), `"../openapi.yaml"`) {
		t.Errorf("initializer does not load our document: %s", r.Body)
	}
	for _, a := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js", "index.css", "favicon-32x32.png"} {
		if r := f.do(t, "GET", "/swagger/"+a, nil); r.Code != 200 || r.Body.Len() == 0 {
			t.Errorf("/swagger/%s: %d", a, r.Code)
		}
	}
	if r := f.do(t, "GET", "/swagger", nil); r.Code != 301 || r.Header().Get("Location") != "/swagger/" {
		t.Errorf("/swagger: %d %q", r.Code, r.Header().Get("Location"))
	}
	if r := f.do(t, "GET", "/openapi.yaml", nil); r.Code != 200 || r.Header().Get("Content-Type") != "application/yaml" || r.Body.String() != string(api.Spec) {
		t.Errorf("/openapi.yaml: %d %q", r.Code, r.Header().Get("Content-Type"))
	}
}

func TestAccessLogCarriesIDs(t *testing.T) {
	f := newFixture(t, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	f.do(t, "GET", "/version", nil, "X-Request-ID", "req-42", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	for _, l := range f.logs.Lines(t) {
		if l["msg"] == "request" && l["route"] == "/version" {
			if l["request_id"] != "req-42" || l["trace_id"] != traceID || l["status"] != 200.0 || l["level"] != "INFO" {
				t.Errorf("access log = %v", l)
			}
			return
		}
	}
	t.Fatal("no access log line for /version")
}
