package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sre-platform/platform/apps/backend/internal/config"
)

// healthcheck GETs /healthz of the instance configured by the same
// environment (LISTEN_ADDR / PORT) and exits 0 only on 200.
func healthcheck(args []string, getenv func(string) string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "", "URL to probe (default: http://127.0.0.1:<port>/healthz from LISTEN_ADDR / PORT)")
	timeout := fs.Duration("timeout", 3*time.Second, "probe timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target := *url
	if target == "" {
		cfg, err := config.Load(nil, getenv, io.Discard)
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			return 2
		}
		host, port, err := net.SplitHostPort(cfg.Addr())
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			return 2
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "healthcheck: status", resp.StatusCode)
		return 1
	}
	return 0
}
