// Command hcloud-emulator runs the Hetzner Cloud API emulator standalone.
//
//	hcloud-emulator --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081 \
//	    --state-dir .cache/emulator --token dev:$(printf 'x%.0s' {1..64})
//
// Point clients at it with HCLOUD_ENDPOINT=http://127.0.0.1:8080/v1 and
// HCLOUD_TOKEN=<token>.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sre-platform/platform/test/hcloudemu"
)

func main() {
	var (
		listen      = flag.String("listen", "127.0.0.1:8080", "API listen address (serves /v1)")
		adminListen = flag.String("admin-listen", "127.0.0.1:8081", "admin listen address (serves /admin)")
		stateDir    = flag.String("state-dir", "", "directory for state.json (empty: in memory)")
		speed       = flag.Float64("speed", 1, "action speed factor (1 realistic, 100 = 100x faster)")
		pool        = flag.String("ipv4-pool", "127.0.0.0/8", "public IPv4 pool (127.0.0.0/8 hands out 127.0.1.1 upward)")
		rateLimit   = flag.Int("rate-limit", 3600, "per-token request budget")
		rateRefill  = flag.Float64("rate-refill", 1, "budget refill per second")
		adminToken  = flag.String("admin-token", os.Getenv("HCLOUD_EMULATOR_ADMIN_TOKEN"), "token the admin API requires off loopback (default $HCLOUD_EMULATOR_ADMIN_TOKEN; prefer the variable, flags show in ps)")
		tokens      hcloudemu.TokenFlags
	)
	flag.Var(&tokens, "token", "project:token[:ro] (repeatable)")
	flag.Parse()

	if err := hcloudemu.CheckAdminListen(*adminListen, *adminToken); err != nil {
		log.Fatal(err)
	}
	pfx, err := netip.ParsePrefix(*pool)
	if err != nil {
		log.Fatalf("--ipv4-pool: %v", err)
	}
	emu, err := hcloudemu.New(hcloudemu.Config{StateDir: *stateDir, AdminToken: *adminToken, Speed: *speed, IPv4Pool: pfx,
		Tokens: tokens, RateLimit: *rateLimit, RateRefill: *rateRefill})
	if err != nil {
		log.Fatal(err)
	}
	apiLn, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", *adminListen)
	if err != nil {
		log.Fatal(err)
	}
	api := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	admin := &http.Server{Handler: emu.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(apiLn) }()
	go func() { _ = admin.Serve(adminLn) }()
	log.Printf("hcloud emulator: API http://%s/v1, admin http://%s/admin, state %q, speed %g",
		apiLn.Addr(), adminLn.Addr(), *stateDir, *speed)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	// Shutdown: stop accepting, let in-flight requests finish (their
	// changes are durable before they answer), then write a final snapshot.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = api.Shutdown(sctx)
	_ = admin.Shutdown(sctx)
	if err := emu.Close(); err != nil {
		log.Printf("closing: %v", err)
	}
}
