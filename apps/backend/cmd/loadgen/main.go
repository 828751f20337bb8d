// Command loadgen benchmarks the backend binary on loopback against a bare
// net/http server that answers the same paths with the same JSON, in
// interleaved rounds, and checks the targets:
//
//   - /api/info ≥ 0.90 × bare, /healthz ≥ 0.95 × bare (median of the
//     per-round ratios of requests per second);
//   - backend peak RSS (VmHWM) ≤ 40 MiB.
//
// The backend runs as deployed: tracing on (OTLP/HTTP to a sink in this
// process that discards the spans, default sampler), metrics on, access log
// at the default level with stdout read through a pipe. The CPUs are split:
// the servers on the first half of the CPUs this process may use, wrk (and
// this driver) on the other half — on 2 CPUs, servers on one, load on the
// other — so the load generator never takes CPU from the server it measures.
// A missed target or any failed request exits 1.
//
//	loadgen --binary .cache/bin/backend [--duration 2s --rounds 5 --connections 32]
//	loadgen baseline --listen 127.0.0.1:0   (the bare server; started by loadgen itself)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sre-platform/platform/apps/backend/api"
	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/loadgen"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := baseline(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// The targets, as ratios to the bare server in the same run.
const (
	infoTarget    = 0.90
	healthzTarget = 0.95
	rssTargetMiB  = 40
)

const (
	bare    = "bare net/http"
	backend = "backend (gin)"
)

var allPaths = []string{"/healthz", "/readyz", "/api/info", "/version", "/metrics"}

type key struct{ server, path string }

// measured is one wrk run and the CPU time the server used meanwhile.
type measured struct {
	loadgen.Result
	CPU time.Duration
}

// PerCPU is requests per second of server CPU time: the throughput the
// server would have on a core of its own. Unlike req/s it does not move when
// other processes on a shared machine take CPU time from the server.
func (m measured) PerCPU() float64 {
	if m.CPU <= 0 {
		return 0
	}
	return float64(m.Requests) / m.CPU.Seconds()
}

func run(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	binary := fs.String("binary", ".cache/bin/backend", "backend binary to benchmark")
	duration := fs.Duration("duration", time.Second, "measured duration of each run (whole seconds, 1s..60s)")
	rounds := fs.Int("rounds", 20, "interleaved rounds (each runs every path on both servers)")
	conns := fs.Int("connections", 32, "keep-alive connections of wrk")
	tracingOn := fs.Bool("tracing", true, "tracing in the backend (exported to a local OTLP/HTTP sink)")
	sampler := fs.String("sampler", "", "OTEL_TRACES_SAMPLER of the backend (empty: its default)")
	samplerArg := fs.String("sampler-arg", "", "OTEL_TRACES_SAMPLER_ARG of the backend")
	only := fs.String("paths", strings.Join(allPaths, ","), "comma-separated paths to measure (targets apply to the ones measured)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths := strings.Split(*only, ",")
	for _, p := range paths {
		if !slices.Contains(allPaths, p) {
			return fmt.Errorf("--paths: %q is not one of %s", p, strings.Join(allPaths, ", "))
		}
	}
	if *duration < time.Second || *duration > time.Minute || *rounds < 1 || *rounds > 50 || *conns < 1 || *conns > 1024 {
		return errors.New("--duration must be in 1s..60s, --rounds in 1..50, --connections in 1..1024")
	}
	for _, tool := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing (install it: go tool task deps -- bench)", tool)
		}
	}
	cpus, err := loadgen.AllowedCPUs()
	if err != nil {
		return err
	}
	serverCPUs, loadCPUs, err := loadgen.Split(cpus)
	if err != nil {
		return err
	}
	// This driver (the OTLP sink, the stdout reader) shares the load CPUs.
	if out, err := exec.Command("taskset", "-a", "-cp", loadCPUs, strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return fmt.Errorf("pinning the driver: %v: %s", err, out)
	}

	sink, err := loadgen.StartSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	env := []string{"ENVIRONMENT=bench"}
	if *tracingOn {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+sink.Addr, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
		if *sampler != "" {
			env = append(env, "OTEL_TRACES_SAMPLER="+*sampler)
		}
		if *samplerArg != "" {
			env = append(env, "OTEL_TRACES_SAMPLER_ARG="+*samplerArg)
		}
	}
	var lines atomic.Int64
	be, err := start(serverCPUs, *binary, nil, env, &lines)
	if err != nil {
		return err
	}
	defer be.stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bs, err := start(serverCPUs, self, []string{"baseline"}, nil, nil)
	if err != nil {
		return err
	}
	defer bs.stop()
	servers := map[string]*proc{bare: bs, backend: be}

	fmt.Printf("API benchmark: wrk -t1 -c%d, %s per run, %d interleaved rounds over %s; Go %s\n",
		*conns, *duration, *rounds, strings.Join(paths, " "), runtime.Version())
	fmt.Printf("CPUs %v: servers pinned to CPU %s (GOMAXPROCS follows: %d), wrk and this driver to CPU %s\n",
		cpus, serverCPUs, strings.Count(serverCPUs, ",")+1, loadCPUs)
	fmt.Printf("backend: tracing %v (%s), metrics on, access log at info to a pipe\n", *tracingOn, describeSampler(*tracingOn, *sampler, *samplerArg))

	// Ctrl-C or SIGTERM stops wrk and then both servers (deferred above).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wrk := func(server, path string, d time.Duration) (measured, error) {
		pid := servers[server].cmd.Process.Pid
		before, err := loadgen.CPUTime(pid)
		if err != nil {
			return measured{}, err
		}
		r, err := loadgen.Run(ctx, loadgen.Options{URL: "http://" + servers[server].addr + path, Connections: *conns, Duration: d, CPUs: loadCPUs})
		if err != nil {
			return measured{}, err
		}
		after, err := loadgen.CPUTime(pid)
		return measured{r, after - before}, err
	}
	for _, path := range paths { // warm-up: connections, caches, heap growth
		for _, s := range []string{bare, backend} {
			if _, err := wrk(s, path, time.Second); err != nil {
				return err
			}
		}
	}
	results := map[key][]measured{}
	for r := range *rounds {
		order := []string{bare, backend}
		if r%2 == 1 {
			order = []string{backend, bare}
		}
		for _, path := range paths {
			for _, s := range order {
				res, err := wrk(s, path, *duration)
				if err != nil {
					return err
				}
				results[key{s, path}] = append(results[key{s, path}], res)
			}
		}
	}
	rss := map[string]int64{}
	for name, p := range servers {
		if rss[name], err = loadgen.PeakRSS(p.cmd.Process.Pid); err != nil {
			return err
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tpath\treq/s\tvs bare\treq/CPU-s\tvs bare\tp50\tp99\tmax\terrors\tpeak RSS\t")
	ratios := map[string]float64{}
	perRound := map[string][]float64{}
	failed := 0
	for _, path := range paths {
		var rr, cr []float64
		for i := range *rounds {
			b, x := results[key{bare, path}][i], results[key{backend, path}][i]
			rr = append(rr, x.RPS/b.RPS)
			cr = append(cr, x.PerCPU()/b.PerCPU())
		}
		ratios[path] = median(cr)
		perRound[path] = cr
		for _, s := range []string{bare, backend} {
			rs := results[key{s, path}]
			errs := 0
			var mx time.Duration
			for _, x := range rs {
				errs += x.Errors
				mx = max(mx, x.Max)
			}
			failed += errs
			rpsRatio, cpuRatio := 1.0, 1.0
			if s == backend {
				rpsRatio, cpuRatio = median(rr), ratios[path]
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2fx\t%.0f\t%.2fx\t%s\t%s\t%s\t%d\t%.1f MiB\t\n", s, path,
				median(pick(rs, func(x measured) float64 { return x.RPS })), rpsRatio,
				median(pick(rs, measured.PerCPU)), cpuRatio,
				round(time.Duration(median(pick(rs, func(x measured) float64 { return float64(x.P50) })))),
				round(time.Duration(median(pick(rs, func(x measured) float64 { return float64(x.P99) })))),
				round(mx), errs, float64(rss[s])/(1<<20))
		}
	}
	_ = tw.Flush()
	fmt.Println("(median over the rounds; vs bare: median of the per-round ratios; req/CPU-s: requests per second of the server's own CPU time)")
	for _, path := range paths {
		fmt.Printf("per-round req/CPU-s ratios %-10s", path)
		for _, r := range perRound[path] {
			fmt.Printf(" %.2f", r)
		}
		fmt.Println()
	}
	fmt.Printf("backend wrote %d log lines; the OTLP sink received %d export requests (%.1f KiB)\n",
		lines.Load(), sink.Requests.Load(), float64(sink.Bytes.Load())/1024)

	missed := 0
	check := func(name string, ok bool, got, want string) {
		verdict := "PASS"
		if !ok {
			verdict, missed = "FAIL", missed+1
		}
		fmt.Printf("target %-34s %-10s (want %s) %s\n", name, got, want, verdict)
	}
	for path, want := range map[string]float64{"/api/info": infoTarget, "/healthz": healthzTarget} {
		if got, ok := ratios[path]; ok {
			check(path+" req/CPU-s vs bare", got >= want, fmt.Sprintf("%.2fx", got), fmt.Sprintf("≥ %.2fx", want))
		}
	}
	check("backend peak RSS", rss[backend] <= rssTargetMiB<<20, fmt.Sprintf("%.1f MiB", float64(rss[backend])/(1<<20)), fmt.Sprintf("≤ %d MiB", rssTargetMiB))
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	if missed > 0 {
		return fmt.Errorf("%d target(s) missed", missed)
	}
	return nil
}

func describeSampler(on bool, name, arg string) string {
	switch {
	case !on:
		return "no exporter"
	case name == "":
		return "default sampler"
	case arg == "":
		return "sampler " + name
	}
	return "sampler " + name + "(" + arg + ")"
}

func pick(rs []measured, f func(measured) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else if n > 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return 0
}

func round(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

type proc struct {
	cmd  *exec.Cmd
	addr string
	out  chan struct{} // closed when stdout is drained
}

// start runs a server pinned to cpus on a free loopback port and waits
// until /healthz answers. When lines is set, stdout is a pipe whose lines
// are counted (as a container runtime reads it); otherwise it is discarded.
func start(cpus, bin string, args, env []string, lines *atomic.Int64) (*proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
	// A clean environment for the server: nothing from the caller's
	// OTEL_*, LOG_LEVEL or listen settings leaks into the figures.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "LOG_LEVEL=") && !strings.HasPrefix(kv, "PORT=") &&
			!strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, "LISTEN_ADDR="+addr, "DRAIN_DELAY=0s")
	if len(args) > 0 {
		cmd.Args = append(cmd.Args, "--listen", addr)
	}
	p := &proc{cmd: cmd, addr: addr, out: make(chan struct{})}
	if lines != nil {
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		go func() {
			defer close(p.out)
			r := bufio.NewReaderSize(stdout, 256<<10)
			buf := make([]byte, 256<<10)
			for {
				n, err := r.Read(buf)
				lines.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
				if err != nil {
					return
				}
			}
		}()
	} else {
		close(p.out)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s did not become healthy on %s", bin, addr)
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-p.out; _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// baseline is the bare net/http server: the backend's probe, info and
// version answers encoded per request as an idiomatic handler would, with
// the same static security headers and the same http.Server limits as the
// backend's defaults (a bare server held to the same hardening policy has
// them too), and a Prometheus registry with the Go and process collectors on
// /metrics. No router but net/http's, no request ID, no metrics of its own,
// no logs, no traces: the difference to the backend is the cost of those
// features and of gin.
func baseline(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	started := time.Now()
	host, _ := os.Hostname()
	reply := func(w http.ResponseWriter, v any) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		b, _ := json.Marshal(v)
		_, _ = w.Write(b)
	}
	type status struct {
		Status string `json:"status"`
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { reply(w, status{"ok"}) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { reply(w, status{"ready"}) })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		reply(w, struct {
			Version string `json:"version"`
			Commit  string `json:"commit"`
		}{"dev", "unknown"})
	})
	mux.HandleFunc("GET /api/info", func(w http.ResponseWriter, r *http.Request) {
		reply(w, api.Info{Name: "backend", Version: "dev", Commit: "unknown", Hostname: host, GoVersion: runtime.Version(),
			UptimeSeconds: float64(time.Since(started).Milliseconds()) / 1000, StartedAt: started.UTC().Format(time.RFC3339),
			Message: "Hello from the backend", Color: "#34577c", Environment: "bench"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	d := config.Defaults()
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: d.ReadHeaderTimeout, ReadTimeout: d.ReadTimeout,
		WriteTimeout: d.WriteTimeout, IdleTimeout: d.IdleTimeout, MaxHeaderBytes: config.MaxHeaderBytes}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
