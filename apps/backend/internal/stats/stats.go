// Package stats keeps a ring buffer of per-step request counters and latency
// histograms so the dashboard can draw request rate, error ratio and p99
// latency over the last minutes without a Prometheus server.
package stats

import (
	"math"
	"sync"
	"time"
)

// bounds are the upper bounds (seconds) of the latency buckets; a last
// implicit bucket holds everything above. Roughly 25% apart, so p99 is
// interpolated within a quarter.
var bounds = func() []float64 {
	var b []float64
	for v := 0.0005; v < 70; v *= 1.25 {
		b = append(b, v)
	}
	return b
}()

type bucket struct {
	step   int64 // step index (unix seconds / step); identifies the slot's owner
	count  uint64
	errors uint64
	hist   []uint32
}

// Recorder aggregates requests into fixed-length steps.
type Recorder struct {
	step  time.Duration
	now   func() time.Time
	mu    sync.Mutex
	slots []bucket
}

// Point is one step of the series.
type Point struct {
	Time        time.Time `json:"time"`
	RequestRate float64   `json:"requestRate"`
	ErrorRatio  float64   `json:"errorRatio"`
	P99Seconds  float64   `json:"p99Seconds"`
}

// New returns a recorder with the given step that keeps at least keep of
// history. now is the clock (time.Now in production).
func New(step, keep time.Duration, now func() time.Time) *Recorder {
	n := int(keep/step) + 1
	r := &Recorder{step: step, now: now, slots: make([]bucket, n)}
	for i := range r.slots {
		r.slots[i].step = -1
		r.slots[i].hist = make([]uint32, len(bounds)+1)
	}
	return r
}

// Step is the step length.
func (r *Recorder) Step() time.Duration { return r.step }

func (r *Recorder) index(t time.Time) int64 {
	return t.UnixNano() / int64(r.step)
}

// Observe records one finished request.
func (r *Recorder) Observe(status int, d time.Duration) {
	idx := r.index(r.now())
	secs := d.Seconds()
	b := len(bounds)
	for i, ub := range bounds {
		if secs <= ub {
			b = i
			break
		}
	}
	r.mu.Lock()
	s := &r.slots[idx%int64(len(r.slots))]
	if s.step != idx {
		s.step, s.count, s.errors = idx, 0, 0
		clear(s.hist)
	}
	s.count++
	if status >= 500 {
		s.errors++
	}
	s.hist[b]++
	r.mu.Unlock()
}

// Series returns one point per step covering window, oldest first; the last
// point is the step in progress. Empty steps are all zero.
func (r *Recorder) Series(window time.Duration) []Point {
	n := int64(window / r.step)
	if n < 1 {
		n = 1
	}
	if max := int64(len(r.slots)); n > max {
		n = max
	}
	last := r.index(r.now())
	out := make([]Point, 0, n)
	hist := make([]uint32, len(bounds)+1)
	r.mu.Lock()
	defer r.mu.Unlock()
	for idx := last - n + 1; idx <= last; idx++ {
		p := Point{Time: time.Unix(0, idx*int64(r.step)).UTC()}
		s := &r.slots[((idx%int64(len(r.slots)))+int64(len(r.slots)))%int64(len(r.slots))]
		if s.step == idx && s.count > 0 {
			p.RequestRate = float64(s.count) / r.step.Seconds()
			p.ErrorRatio = float64(s.errors) / float64(s.count)
			copy(hist, s.hist)
			p.P99Seconds = quantile(0.99, hist, s.count)
		}
		out = append(out, p)
	}
	return out
}

// quantile estimates the q-quantile by linear interpolation inside the
// bucket that holds it (the same way Prometheus' histogram_quantile does).
func quantile(q float64, hist []uint32, total uint64) float64 {
	rank := q * float64(total)
	var cum float64
	for i, c := range hist {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = bounds[i-1]
			}
			if i == len(bounds) { // above the last bound: report the bound
				return bounds[len(bounds)-1]
			}
			hi := bounds[i]
			v := lo + (hi-lo)*(rank-cum)/float64(c)
			return math.Round(v*1e6) / 1e6
		}
		cum += float64(c)
	}
	return 0
}
