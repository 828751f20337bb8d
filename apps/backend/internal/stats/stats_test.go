package stats

import (
	"math"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSeriesShapeAndWrap(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	r := New(5*time.Second, time.Minute, c.now) // 13 slots
	r.Observe(200, 10*time.Millisecond)
	r.Observe(503, 10*time.Millisecond)
	pts := r.Series(30 * time.Second)
	if len(pts) != 6 {
		t.Fatalf("%d points", len(pts))
	}
	last := pts[5]
	if last.RequestRate != 2.0/5 || last.ErrorRatio != 0.5 {
		t.Errorf("last = %+v", last)
	}
	if !pts[0].Time.Before(last.Time) || last.Time.Second()%5 != 0 {
		t.Errorf("times %v .. %v", pts[0].Time, last.Time)
	}
	// After more than the kept history the slot is reused and old data is gone.
	c.t = c.t.Add(2 * time.Minute)
	for _, p := range r.Series(time.Minute) {
		if p.RequestRate != 0 || p.ErrorRatio != 0 || p.P99Seconds != 0 {
			t.Fatalf("stale data after wrap: %+v", p)
		}
	}
	r.Observe(200, time.Millisecond)
	pts = r.Series(time.Minute)
	if pts[len(pts)-1].RequestRate != 0.2 {
		t.Errorf("after wrap = %+v", pts[len(pts)-1])
	}
	// Windows longer than the history are capped.
	if n := len(r.Series(time.Hour)); n != 13 {
		t.Errorf("capped window: %d points", n)
	}
}

func TestP99(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	r := New(5*time.Second, time.Minute, c.now)
	for i := 0; i < 990; i++ {
		r.Observe(200, 10*time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		r.Observe(200, 2*time.Second)
	}
	p := r.Series(5 * time.Second)[0]
	// The 990th of 1000 falls in the bucket holding 10ms.
	if p.P99Seconds < 0.008 || p.P99Seconds > 0.0126 {
		t.Errorf("p99 = %v, want about 0.01", p.P99Seconds)
	}
	for i := 0; i < 100; i++ {
		r.Observe(200, 2*time.Second)
	}
	p = r.Series(5 * time.Second)[0]
	if math.Abs(p.P99Seconds-2) > 0.5 {
		t.Errorf("p99 = %v, want about 2", p.P99Seconds)
	}
	r.Observe(200, time.Hour) // above the last bound: capped, not lost
	if p := r.Series(5 * time.Second)[0]; p.P99Seconds <= 0 {
		t.Errorf("p99 = %v", p.P99Seconds)
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New(5*time.Second, time.Hour, time.Now)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Observe(200, 3*time.Millisecond)
		}
	})
}
