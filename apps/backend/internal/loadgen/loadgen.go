// Package loadgen drives the API benchmark: wrk (Debian's wrk, an
// event-loop HTTP load generator in C, cheap enough per request that one
// core of it can saturate one core of a Go server) pinned to its own CPUs,
// the parsing of its report, the CPU split, and the peak RSS of a process.
package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Result is one wrk run.
type Result struct {
	Requests int
	Elapsed  time.Duration
	RPS      float64
	P50, P99 time.Duration
	Max      time.Duration
	Errors   int // non-2xx/3xx answers and socket errors
}

// Options of one wrk run.
type Options struct {
	URL         string
	Connections int
	Duration    time.Duration
	CPUs        string // taskset list for wrk, e.g. "1"; empty: not pinned
}

// Run runs wrk once (one thread: wrk's event loop is single-threaded per
// thread, and it gets one CPU) and parses its report.
func Run(ctx context.Context, o Options) (Result, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(o.Connections), "-d" + strconv.Itoa(max(1, int(o.Duration.Seconds()))) + "s",
		"--latency", "--timeout", "10s", o.URL}
	name := "wrk"
	if o.CPUs != "" {
		args = append([]string{"-c", o.CPUs, "wrk"}, args...)
		name = "taskset"
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w: %s", o.URL, err, strings.TrimSpace(string(out)))
	}
	return ParseWrk(string(out))
}

var (
	reSummary   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m),`)
	reRPS       = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reLatency   = regexp.MustCompile(`(?m)^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)`)
	rePercent   = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	reNon2xx    = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	reSocketErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// ParseWrk reads wrk's report (run with --latency).
func ParseWrk(out string) (Result, error) {
	var r Result
	m := reSummary.FindStringSubmatch(out)
	rps := reRPS.FindStringSubmatch(out)
	lat := reLatency.FindStringSubmatch(out)
	pct := rePercent.FindAllStringSubmatch(out, -1)
	if m == nil || rps == nil || lat == nil || len(pct) != 2 {
		return r, fmt.Errorf("unexpected wrk output:\n%s", out)
	}
	r.Requests, _ = strconv.Atoi(m[1])
	var err error
	if r.Elapsed, err = parseDuration(m[2] + m[3]); err != nil {
		return r, err
	}
	r.RPS, _ = strconv.ParseFloat(rps[1], 64)
	if r.Max, err = parseDuration(lat[3]); err != nil {
		return r, err
	}
	for _, p := range pct {
		d, err := parseDuration(p[2])
		if err != nil {
			return r, err
		}
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if n := reNon2xx.FindStringSubmatch(out); n != nil {
		v, _ := strconv.Atoi(n[1])
		r.Errors += v
	}
	if s := reSocketErr.FindStringSubmatch(out); s != nil {
		for _, f := range s[1:] {
			v, _ := strconv.Atoi(f)
			r.Errors += v
		}
	}
	return r, nil
}

// parseDuration reads wrk's units: us, ms, s, m.
func parseDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk duration %q: %w", s, err)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk duration %q: unknown unit", s)
}

// Split divides the CPUs this process may run on between the servers under
// test and the load generator: the first half for the servers, the second
// half for wrk (on 2 CPUs: servers on one, wrk on the other). It needs at
// least 2 CPUs: with one, the load generator would starve the server.
func Split(cpus []int) (server, load string, err error) {
	if len(cpus) < 2 {
		return "", "", fmt.Errorf("the benchmark needs at least 2 CPUs (one for the servers, one for the load generator), this process may use %d", len(cpus))
	}
	h := len(cpus) / 2
	return list(cpus[:h]), list(cpus[h:]), nil
}

func list(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// PeakRSS reads VmHWM (peak resident set) of pid from /proc, in bytes.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fs := strings.Fields(rest) // "12345 kB"
			if len(fs) != 2 || fs[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmHWM line %q", sc.Text())
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// AllowedCPUs lists the CPUs this process may run on (Cpus_allowed_list in
// /proc/self/status, e.g. "0-1" or "0,2-3").
func AllowedCPUs() ([]int, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return ParseCPUList(strings.TrimSpace(rest))
		}
	}
	return nil, fmt.Errorf("no Cpus_allowed_list in /proc/self/status")
}

// ParseCPUList reads a Linux CPU list ("0-1", "0,2-3").
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// CPUTime is the CPU time (user + system, all threads, exited ones
// included) pid has used so far, from /proc/<pid>/stat.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(string(data))
}

// ParseStatCPU reads utime + stime from a /proc/<pid>/stat line.
func ParseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) may hold spaces; fields after it are fixed.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
