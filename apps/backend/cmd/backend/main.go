// Command backend is the platform's backend API. `backend healthcheck` probes
// a running instance (used by the container HEALTHCHECK); `backend version`
// prints the build version.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sre-platform/platform/apps/backend/internal/buildinfo"
	"github.com/sre-platform/platform/apps/backend/internal/config"
	"github.com/sre-platform/platform/apps/backend/internal/logging"
	"github.com/sre-platform/platform/apps/backend/internal/server"
	"github.com/sre-platform/platform/apps/backend/internal/tracing"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "healthcheck":
			os.Exit(healthcheck(os.Args[2:], os.Getenv))
		case "version":
			fmt.Printf("backend %s (commit %s, %s)\n", buildinfo.Version, buildinfo.Commit, buildinfo.GoVersion())
			return
		}
	}
	os.Exit(run(os.Args[1:]))
}

// The garbage collector's settings when GOGC and GOMEMLIMIT are not set. The
// service's live heap is small (about 2 MB, most of it the tables its
// libraries build at start), so with Go's defaults it collects every 2–3 MB
// of allocation, dozens of times a second under load. Collecting at 200 %
// growth halves that; the soft limit keeps the heap, and so the footprint,
// near 20 MiB whatever the load (measured by bench:api: peak RSS ≤ 40 MiB).
const (
	defaultGCPercent   = 200
	defaultMemoryLimit = 20 << 20
)

func run(args []string) int {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	cfg, err := config.Load(args, os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Every line (access lines included) goes through one asynchronous
	// writer: a request never waits for stdout, and Close below writes what
	// is still queued once the server has stopped, so no line is lost on
	// SIGTERM.
	out := logging.NewAsyncWriter(os.Stdout, logging.DefaultBufferBytes)
	defer func() { _ = out.Close() }()
	log := logging.New(out, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	settings, err := tracing.FromEnv(os.Getenv)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		return 2
	}
	tr, err := tracing.Setup(ctx, settings, server.ServiceName, buildinfo.Version, cfg.Environment)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		return 1
	}
	srv, err := server.New(cfg, server.Deps{Logger: log, Tracing: tr})
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		return 1
	}
	if err := srv.Run(ctx, ln); err != nil {
		log.Error("stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}
