package hcloudx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

type recorder struct {
	mu     sync.Mutex
	waits  []time.Duration
	fields []map[string]any
}

func newTestTransport(p RetryPolicy) (*Transport, *recorder) {
	rec := &recorder{}
	tr := NewTransport(nil, p, func(_ context.Context, _ string, f map[string]any) {
		rec.mu.Lock()
		rec.fields = append(rec.fields, f)
		rec.mu.Unlock()
	})
	tr.sleep = func(ctx context.Context, d time.Duration) error {
		rec.mu.Lock()
		rec.waits = append(rec.waits, d)
		rec.mu.Unlock()
		return ctx.Err()
	}
	return tr, rec
}

func TestRateLimitWaitsUntilResetThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	reset := time.Now().Add(3 * time.Second).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("RateLimit-Limit", "3600")
			w.Header().Set("RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"rate_limit_exceeded","message":"limit"}}`)
			return
		}
		w.Header().Set("X-Correlation-Id", "abc123")
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	tr, rec := newTestTransport(DefaultRetryPolicy())
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/v1/servers")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("resp=%v err=%v", resp, err)
	}
	if calls.Load() != 2 || len(rec.waits) != 1 {
		t.Fatalf("calls=%d waits=%v", calls.Load(), rec.waits)
	}
	if w := rec.waits[0]; w < time.Second || w > 4*time.Second {
		t.Errorf("waited %v, want until the reset (~2-3 s)", w)
	}
	last := rec.fields[len(rec.fields)-1]
	if last["request_id"] != "abc123" {
		t.Errorf("request id not logged: %v", last)
	}
}

func TestRateLimitResetTooFarIsReturned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	tr, rec := newTestTransport(DefaultRetryPolicy())
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || len(rec.waits) != 0 {
		t.Fatalf("want the 429 back without waiting: resp=%v err=%v waits=%v", resp, err, rec.waits)
	}
}

func TestServerErrorsRetriedWithBackoffAndBodyReplayed(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"name":"x"}` {
			t.Errorf("attempt %d got body %q", calls.Load()+1, b)
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	p := DefaultRetryPolicy()
	p.BaseDelay, p.MaxDelay = 100*time.Millisecond, time.Second
	tr, rec := newTestTransport(p)
	resp, err := (&http.Client{Transport: tr}).Post(srv.URL, "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("resp=%v err=%v", resp, err)
	}
	if len(rec.waits) != 2 {
		t.Fatalf("waits=%v", rec.waits)
	}
	for i, w := range rec.waits {
		step := p.BaseDelay << i
		if w < step/4 || w > step {
			t.Errorf("wait %d = %v outside [%v, %v]", i, w, step/4, step)
		}
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	p := DefaultRetryPolicy()
	p.MaxRetries = 3
	tr, _ := newTestTransport(p)
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil || resp.StatusCode != http.StatusBadGateway || calls.Load() != 4 {
		t.Fatalf("resp=%v err=%v calls=%d, want 502 after 4 attempts", resp, err, calls.Load())
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnprocessableEntity)
	}))
	defer srv.Close()
	tr, _ := newTestTransport(DefaultRetryPolicy())
	resp, _ := (&http.Client{Transport: tr}).Get(srv.URL)
	if resp.StatusCode != 422 || calls.Load() != 1 {
		t.Fatalf("status=%d calls=%d", resp.StatusCode, calls.Load())
	}
}

func TestNetworkErrorRetriedAndCancellationHonoured(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // connection refused from now on
	tr, rec := newTestTransport(DefaultRetryPolicy())
	_, err := (&http.Client{Transport: tr}).Get(url)
	if err == nil || len(rec.waits) != DefaultRetryPolicy().MaxRetries {
		t.Fatalf("err=%v waits=%d", err, len(rec.waits))
	}

	ctx, cancel := context.WithCancel(context.Background())
	tr2 := NewTransport(nil, DefaultRetryPolicy(), nil)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	start := time.Now()
	_, err = (&http.Client{Transport: tr2}).Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancellation not honoured promptly")
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) }))
	defer srv.Close()
	tr, rec := newTestTransport(DefaultRetryPolicy())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/servers", strings.NewReader(`{"user_data":"PRIVATE KEY"}`))
	req.Header.Set("Authorization", "Bearer supersecret")
	if _, err := (&http.Client{Transport: tr}).Do(req); err != nil {
		t.Fatal(err)
	}
	for _, f := range rec.fields {
		for k, v := range f {
			s, _ := v.(string)
			if strings.Contains(s, "supersecret") || strings.Contains(s, "PRIVATE KEY") {
				t.Errorf("secret in log field %s=%q", k, s)
			}
		}
	}
}

func TestNewClientUsesTransport(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"locations":[],"meta":{"pagination":{"page":1,"per_page":50,"last_page":1,"total_entries":0}}}`)
	}))
	defer srv.Close()
	p := DefaultRetryPolicy()
	p.BaseDelay, p.MaxDelay = time.Millisecond, 5*time.Millisecond
	c := NewClient(Config{Token: "t", Endpoint: srv.URL + "/v1", PollInterval: time.Millisecond, Retry: p})
	if _, err := c.Location.All(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls=%d, want one retry", calls.Load())
	}
	_ = hcloud.Version
}

// virtualClock stands in for time in the transport: a sleep moves it on at
// once, unless the request's context would end first, exactly as the real
// sleep would fail at that deadline.
type virtualClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *virtualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok && dl.Before(c.now.Add(d)) {
		return context.DeadlineExceeded
	}
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// A rate limit that resets in 3 minutes is waited out when
// rate_limit_max_wait allows 5, through the very http.Client the provider
// uses: no deadline of the client cuts the retry chain short (a 2-minute
// http.Client.Timeout did, whatever rate_limit_max_wait said).
func TestRateLimitWaitLongerThanTwoMinutesHolds(t *testing.T) {
	clock := &virtualClock{now: time.Now()}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(clock.Now().Add(3*time.Minute).Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	p := DefaultRetryPolicy()
	p.MaxRateLimitWait = 5 * time.Minute
	hc := Config{Retry: p}.httpClient()
	tr := hc.Transport.(*Transport)
	tr.now, tr.sleep = clock.Now, clock.Sleep

	resp, err := hc.Get(srv.URL + "/v1/servers")
	if err != nil {
		t.Fatalf("the request failed during the rate-limit wait: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("status %d after %d calls, want 200 after 2", resp.StatusCode, calls.Load())
	}
	if len(clock.slept) != 1 || clock.slept[0] < 2*time.Minute {
		t.Errorf("waited %v, want one wait of about 3 minutes", clock.slept)
	}

	// Above rate_limit_max_wait the 429 comes back without waiting.
	calls.Store(0)
	p.MaxRateLimitWait = time.Minute
	hc = Config{Retry: p}.httpClient()
	hc.Transport.(*Transport).now = clock.Now
	resp, err = hc.Get(srv.URL + "/v1/servers")
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || calls.Load() != 1 {
		t.Fatalf("want the 429 at once: %v, %v after %d calls", resp, err, calls.Load())
	}
	resp.Body.Close()
}

// An attempt that gets no answer within AttemptTimeout is abandoned and
// retried; the caller sees the next attempt's answer.
func TestAttemptTimeoutRetriesAHangingAttempt(t *testing.T) {
	var calls atomic.Int32
	var hangAll atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		if calls.Add(1) == 1 || hangAll.Load() {
			<-r.Context().Done() // hangs until the client gives up on it
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	p := DefaultRetryPolicy()
	p.AttemptTimeout = 100 * time.Millisecond
	tr, rec := newTestTransport(p)
	resp, err := (&http.Client{Transport: tr}).Post(srv.URL+"/v1/servers", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != `{"ok":true}` || calls.Load() != 2 || len(rec.waits) != 1 {
		t.Fatalf("body %q (%v) after %d calls and %d waits, want the second attempt's answer", b, err, calls.Load(), len(rec.waits))
	}

	// Every attempt hangs: the error says the attempts ran out of time.
	hangAll.Store(true)
	p.MaxRetries = 1
	tr, _ = newTestTransport(p)
	_, err = (&http.Client{Transport: tr}).Get(srv.URL + "/v1/servers")
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("err = %v, want the attempt timeout named", err)
	}
}

// The attempt's deadline covers the body too, without cutting off a body
// read after the headers arrived.
func TestResponseBodyReadableAfterRoundTrip(t *testing.T) {
	big := strings.Repeat("x", 4<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // headers first
		io.WriteString(w, big)
	}))
	defer srv.Close()
	resp, err := Config{Retry: DefaultRetryPolicy()}.httpClient().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) != len(big) {
		t.Fatalf("read %d of %d bytes: %v", len(b), len(big), err)
	}
}
