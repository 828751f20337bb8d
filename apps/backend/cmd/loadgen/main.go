// Command loadgen benchmarks the backend binary on loopback: /healthz and
// /api/info with metrics and tracing on (spans go to an in-process OTLP/HTTP
// sink that discards them), and the same two paths on a bare net/http server
// as the baseline, so the framework's overhead shows as a ratio. It prints
// req/s, p50, p99 and the peak RSS (VmHWM) of each server process.
//
//	loadgen --binary .cache/bin/backend [--duration 5s --concurrency 16]
//	loadgen baseline --listen 127.0.0.1:0   (the bare server; started by loadgen itself)
package main

import (
	"bufio"
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
	"syscall"
	"text/tabwriter"
	"time"

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

type target struct {
	server, path string
}

func run(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	binary := fs.String("binary", ".cache/bin/backend", "backend binary to benchmark")
	duration := fs.Duration("duration", 5*time.Second, "measured duration per target (at most 60s)")
	warmup := fs.Duration("warmup", time.Second, "warm-up per target (not measured)")
	conc := fs.Int("concurrency", 16, "concurrent keep-alive clients")
	tracingOn := fs.Bool("tracing", true, "enable tracing in the backend (exported to a local OTLP/HTTP sink)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *duration <= 0 || *duration > time.Minute || *conc < 1 || *conc > 512 {
		return errors.New("duration must be in (0, 60s] and concurrency in 1..512")
	}

	sink, err := loadgen.StartSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	env := []string{"LOG_LEVEL=info", "ENVIRONMENT=bench"}
	if *tracingOn {
		env = append(env,
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+sink.Addr,
			"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_TRACES_SAMPLER=always_on")
	}
	backend, err := start(*binary, nil, env)
	if err != nil {
		return err
	}
	defer backend.stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bare, err := start(self, []string{"baseline"}, nil)
	if err != nil {
		return err
	}
	defer bare.stop()

	fmt.Printf("loopback benchmark: %d keep-alive clients, %s per target after %s warm-up, GOMAXPROCS=%d, tracing=%v\n",
		*conc, *duration, *warmup, runtime.GOMAXPROCS(0), *tracingOn)
	fmt.Println("(the load generator shares the CPUs with the server: compare ratios, not absolute numbers)")

	servers := map[string]*proc{"backend (gin)": backend, "bare net/http": bare}
	targets := []target{
		{"bare net/http", "/healthz"}, {"backend (gin)", "/healthz"},
		{"bare net/http", "/api/info"}, {"backend (gin)", "/api/info"},
	}
	results := map[target]loadgen.Result{}
	for _, tg := range targets {
		p := servers[tg.server]
		r, err := loadgen.Run(context.Background(), loadgen.Options{
			URL: "http://" + p.addr + tg.path, Concurrency: *conc, Duration: *duration, Warmup: *warmup,
		})
		if err != nil {
			return err
		}
		results[tg] = r
	}
	rss := map[string]int64{}
	for name, p := range servers {
		rss[name], _ = loadgen.PeakRSS(p.cmd.Process.Pid)
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tpath\treq/s\tp50\tp99\tmax\terrors\tpeak RSS\tvs bare\t")
	for _, tg := range targets {
		r := results[tg]
		ratio := r.RPS() / results[target{"bare net/http", tg.path}].RPS()
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t%.1f MiB\t%.2fx\t\n", tg.server, tg.path, r.RPS(),
			round(r.P50), round(r.P99), round(r.Max), r.Errors, float64(rss[tg.server])/(1<<20), ratio)
	}
	_ = tw.Flush()
	if *tracingOn {
		fmt.Printf("OTLP sink received %d export requests (%.1f KiB)\n", sink.Requests.Load(), float64(sink.Bytes.Load())/1024)
	}
	var failed int
	for _, r := range results {
		failed += r.Errors
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

type proc struct {
	cmd  *exec.Cmd
	addr string
}

// start runs a server on a free loopback port and waits until /healthz
// answers.
func start(bin string, args, env []string) (*proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "LISTEN_ADDR="+addr, "DRAIN_DELAY=0s")
	if len(args) > 0 {
		cmd.Args = append(cmd.Args, "--listen", addr)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = devnull // access logs are written (realistic cost) and dropped
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			fmt.Fprintln(os.Stderr, "  [server]", s.Text())
		}
	}()
	p := &proc{cmd: cmd, addr: addr}
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
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// baseline is the bare net/http server: the same two JSON answers with no
// middleware at all.
func baseline(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	started := time.Now()
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /api/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": "backend", "version": "bench", "commit": "bench", "hostname": host, "goVersion": runtime.Version(),
			"uptimeSeconds": time.Since(started).Seconds(), "startedAt": started.UTC().Format(time.RFC3339),
			"message": "Hello", "color": "#34577c", "environment": "bench", "chaosEnabled": false,
		})
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
