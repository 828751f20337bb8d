package loadgen

import (
	"os"
	"reflect"
	"testing"
	"time"
)

// A report of Debian's wrk 4.1.0 (-t1 -c32 -d2s --latency), with errors.
const wrkReport = `Running 2s test @ http://127.0.0.1:40113/api/info
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.43ms    2.10ms  41.35ms   93.88%
    Req/Sec    24.06k     1.39k   26.08k    70.00%
  Latency Distribution
     50%  824.00us
     75%    1.35ms
     90%    2.75ms
     99%   11.52ms
  47912 requests in 2.00s, 25.54MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  23951.31
Transfer/sec:     12.77MB
`

func TestParseWrk(t *testing.T) {
	r, err := ParseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Requests: 47912, Elapsed: 2 * time.Second, RPS: 23951.31, P50: 824 * time.Microsecond,
		P99: 11520 * time.Microsecond, Max: 41350 * time.Microsecond, Errors: 7}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if _, err := ParseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("a failed run parsed")
	}
}

func TestSplitAndCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0-1": {0, 1}, "0,2-3": {0, 2, 3}, "5": {5}} {
		got, err := ParseCPUList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a", "3-1"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, l, err := Split([]int{0, 1}); err != nil || s != "0" || l != "1" {
		t.Errorf("2 CPUs: %q %q %v", s, l, err)
	}
	if s, l, _ := Split([]int{0, 1, 2, 3}); s != "0,1" || l != "2,3" {
		t.Errorf("4 CPUs: %q %q", s, l)
	}
	if _, _, err := Split([]int{0}); err == nil {
		t.Error("1 CPU accepted")
	}
	if cpus, err := AllowedCPUs(); err != nil || len(cpus) == 0 {
		t.Errorf("AllowedCPUs: %v %v", cpus, err)
	}
}

func TestPeakRSS(t *testing.T) {
	rss, err := PeakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
	if _, err := PeakRSS(1 << 30); err == nil {
		t.Error("no error for a missing process")
	}
}
