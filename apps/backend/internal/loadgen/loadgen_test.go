package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if p := Percentile(s, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %s", p)
	}
	if p := Percentile(s, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %s", p)
	}
	if Percentile(nil, 0.99) != 0 || Percentile(s[:1], 0.99) != time.Millisecond {
		t.Error("edge cases")
	}
}

func TestRunCountsRequestsAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	r, err := Run(context.Background(), Options{URL: srv.URL + "/ok", Concurrency: 1, Duration: 100 * time.Millisecond})
	if err != nil || r.Requests == 0 || r.Errors != 0 || r.P50 <= 0 || r.P99 < r.P50 {
		t.Errorf("ok run = %+v %v", r, err)
	}
	r, _ = Run(context.Background(), Options{URL: srv.URL + "/bad", Concurrency: 1, Duration: 100 * time.Millisecond})
	if r.Errors == 0 || r.Requests != 0 {
		t.Errorf("bad run = %+v", r)
	}
}

func TestSinkAcceptsTraces(t *testing.T) {
	s, err := StartSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Post("http://"+s.Addr+"/v1/traces", "application/x-protobuf", bytes.NewReader([]byte{1, 2, 3}))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %v %v", resp, err)
	}
	resp.Body.Close()
	if s.Requests.Load() != 1 || s.Bytes.Load() != 3 {
		t.Errorf("sink counted %d requests, %d bytes", s.Requests.Load(), s.Bytes.Load())
	}
}

func TestPeakRSS(t *testing.T) {
	if rss, err := PeakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
}
