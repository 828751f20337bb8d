// Package hcloudx is the provider's one place for Hetzner Cloud API plumbing:
// client construction, retries, rate limits, action polling and logging.
package hcloudx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy bounds how the transport retries.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt for 5xx
	// responses and network errors.
	MaxRetries int
	// BaseDelay and MaxDelay shape the exponential backoff (full jitter).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRateLimitWait caps one wait for RateLimit-Reset after a 429; a longer
	// reset returns the 429 to the caller.
	MaxRateLimitWait time.Duration
	// MaxRateLimitRetries bounds how many 429s one request waits out.
	MaxRateLimitRetries int
	// AttemptTimeout bounds one attempt (connect, send, headers and body).
	// An attempt that runs out is retried like a network error. Nothing
	// bounds the whole retry chain but the caller's context (the resource's
	// operation timeout), so waits for a rate-limit reset hold however long
	// MaxRateLimitWait allows. Zero: no per-attempt bound.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy suits Hetzner's 3600 requests/hour budget.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second,
		MaxRateLimitWait: 2 * time.Minute, MaxRateLimitRetries: 10, AttemptTimeout: time.Minute}
}

// Logger receives one line per attempt. It never sees headers or bodies, so
// tokens and user_data (which carries cluster keys) cannot leak into logs.
type Logger func(ctx context.Context, msg string, fields map[string]any)

// Transport retries Hetzner API requests: it waits out 429s until
// RateLimit-Reset (bounded), retries 5xx responses and network errors with
// exponential backoff and jitter, and honours context cancellation.
//
// Retrying a POST after an ambiguous 5xx may repeat a create that did happen;
// callers that create named resources treat a later uniqueness_error as
// "already created" and adopt the existing resource (see Adopt* helpers).
type Transport struct {
	Base   http.RoundTripper
	Policy RetryPolicy
	Log    Logger
	// now and sleep are replaceable for tests of the transport itself.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// NewTransport wraps base (http.DefaultTransport when nil).
func NewTransport(base http.RoundTripper, p RetryPolicy, log Logger) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{Base: base, Policy: p, Log: log, now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	retries, limited := 0, 0
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if t.Policy.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, t.Policy.AttemptTimeout)
		}
		r := req.Clone(actx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		start := t.now()
		resp, err := t.Base.RoundTrip(r)
		fields := map[string]any{"method": req.Method, "path": req.URL.Path, "attempt": attempt,
			"duration_ms": t.now().Sub(start).Milliseconds()}
		if resp != nil {
			fields["status"] = resp.StatusCode
			if id := resp.Header.Get("X-Correlation-Id"); id != "" {
				fields["request_id"] = id
			}
		}
		if err != nil {
			fields["error"] = err.Error()
		}
		t.log(ctx, "hcloud request", fields)

		if ctx.Err() != nil {
			if resp != nil {
				return keep(resp, cancel), nil
			}
			cancel()
			return nil, ctx.Err()
		}

		var wait time.Duration
		switch {
		case err != nil:
			// The attempt ran out of its own time (the caller's has not).
			timedOut := actx.Err() != nil
			cancel()
			if !(timedOut || retryableNetErr(err)) || retries >= t.Policy.MaxRetries {
				if timedOut {
					err = fmt.Errorf("%s %s: no answer within %s: %w", req.Method, req.URL.Path, t.Policy.AttemptTimeout, err)
				}
				return nil, err
			}
			wait = t.backoff(retries)
			retries++
		case resp.StatusCode == http.StatusTooManyRequests:
			if limited >= t.Policy.MaxRateLimitRetries {
				return keep(resp, cancel), nil
			}
			wait = t.untilReset(resp)
			if wait > t.Policy.MaxRateLimitWait {
				return keep(resp, cancel), nil
			}
			limited++
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
			if retries >= t.Policy.MaxRetries {
				return keep(resp, cancel), nil
			}
			wait = t.backoff(retries)
			retries++
		default:
			return keep(resp, cancel), nil
		}
		if resp != nil {
			// Drained so the connection can be reused; a failed drain or
			// close costs only that reuse.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		cancel()
		t.log(ctx, "hcloud retry", map[string]any{"method": req.Method, "path": req.URL.Path, "wait_ms": wait.Milliseconds()})
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
}

// keep hands resp to the caller: the attempt's deadline goes on covering the
// body, and is released when the caller closes it.
func keep(resp *http.Response, cancel context.CancelFunc) *http.Response {
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (t *Transport) log(ctx context.Context, msg string, f map[string]any) {
	if t.Log != nil {
		t.Log(ctx, msg, f)
	}
}

// backoff is exponential with full jitter, at least a quarter of the step.
func (t *Transport) backoff(retry int) time.Duration {
	d := t.Policy.BaseDelay << retry
	if d <= 0 || d > t.Policy.MaxDelay {
		d = t.Policy.MaxDelay
	}
	return d/4 + time.Duration(rand.Int64N(int64(d-d/4)+1)) //nolint:gosec // jitter needs no cryptographic randomness
}

// untilReset reads RateLimit-Reset (a Unix timestamp, as Hetzner sends it).
func (t *Transport) untilReset(resp *http.Response) time.Duration {
	if s := resp.Header.Get("RateLimit-Reset"); s != "" {
		if ts, err := strconv.ParseInt(s, 10, 64); err == nil {
			d := time.Unix(ts, 0).Sub(t.now())
			if d < 0 {
				d = 0
			}
			return d + 100*time.Millisecond
		}
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return time.Second
}

func retryableNetErr(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
