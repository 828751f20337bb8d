// Package loadgen is a small closed-loop HTTP load generator for the API
// benchmark: N concurrent keep-alive clients hammer one URL for a bounded
// duration and the latencies of every request are kept for exact
// percentiles.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options of one run.
type Options struct {
	URL         string
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
}

// Result of one run.
type Result struct {
	Requests int
	Errors   int // transport errors and non-2xx answers
	Elapsed  time.Duration
	P50, P99 time.Duration
	Max      time.Duration
}

// RPS is requests per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run drives the load. Requests started during the warm-up are not counted.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Concurrency < 1 || o.Duration <= 0 {
		return Result{}, fmt.Errorf("loadgen: concurrency and duration must be positive")
	}
	tr := &http.Transport{
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	start := time.Now()
	measureFrom := start.Add(o.Warmup)
	end := measureFrom.Add(o.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	type worker struct {
		lat    []time.Duration
		errors int
	}
	workers := make([]worker, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			w.lat = make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				ok := once(ctx, client, o.URL)
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				if !ok {
					w.errors++
					continue
				}
				w.lat = append(w.lat, t1.Sub(t0))
			}
		}(&workers[i])
	}
	wg.Wait()

	var all []time.Duration
	res := Result{Elapsed: o.Duration}
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Errors += w.errors
	}
	res.Requests = len(all)
	slices.Sort(all)
	res.P50, res.P99 = Percentile(all, 0.50), Percentile(all, 0.99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	return res, nil
}

func once(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Percentile returns the q-quantile (nearest rank) of sorted samples.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// PeakRSS reads VmHWM (peak resident set) of pid from /proc, in bytes.
func PeakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
