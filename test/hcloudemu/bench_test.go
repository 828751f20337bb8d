package hcloudemu

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// peakRSSMiB reads VmHWM (peak resident set) of this process, 0 if unknown.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func reportMemory(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(peakRSSMiB(), "peak-rss-MiB")
}

func benchEnv(b *testing.B, stateDir string) *env {
	cfg := []envOpt{withSpeed(1e6)}
	if stateDir != "" {
		cfg = append(cfg, withStateDir(stateDir))
	}
	e := newEnvTB(b, cfg...)
	huge := 1 << 30
	if err := e.emu.Configure(AdminConfig{RateLimit: &huge, Limits: map[string]Limits{"a": {Servers: huge, Networks: huge,
		Firewalls: huge, LoadBalancers: huge, PrimaryIPs: huge, PlacementGroups: huge, SSHKeys: huge}}}); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchCreateGetDelete(b *testing.B, stateDir string) {
	e := benchEnv(b, stateDir)
	c := e.c
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("b%d", i),
			ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Server.GetByID(ctx, res.Server.ID); err != nil {
			b.Fatal(err)
		}
		del, _, err := c.Server.DeleteWithResult(ctx, res.Server)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Action.WaitFor(ctx, del.Action); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportMemory(b)
	var n int64
	for _, v := range e.emu.RequestCounts() {
		n += v
	}
	b.ReportMetric(float64(n)/float64(b.N), "requests/op")
}

// BenchmarkServerCreateGetDelete: a server's whole life through hcloud-go
// (create, wait for its actions, get, delete, wait), in memory.
func BenchmarkServerCreateGetDelete(b *testing.B) { benchCreateGetDelete(b, "") }

// BenchmarkServerCreateGetDeleteDurable: the same with fsync'd snapshots.
func BenchmarkServerCreateGetDeleteDurable(b *testing.B) { benchCreateGetDelete(b, b.TempDir()) }

// BenchmarkListServers10k lists 10,000 servers page by page (50 per page,
// 200 requests) through hcloud-go.
func BenchmarkListServers10k(b *testing.B) {
	e := benchEnv(b, "")
	const n = 10000
	e.emu.mu.Lock()
	p := e.emu.st.project("a")
	c := &reqCtx{e: e.emu, p: p, project: "a", now: time.Now()}
	for i := 0; i < n; i++ {
		ip, err := c.newPrimaryIP("ipv4", "fsn1", true, "")
		if err != nil {
			b.Fatal(err)
		}
		s := &Server{base: base{ID: e.emu.st.nextID("server"), Name: fmt.Sprintf("s%05d", i), Created: c.now,
			Labels: map[string]string{"i": strconv.Itoa(i % 10)}}, Status: "running",
			ServerTypeID: 104, Location: "fsn1", ImageID: 114690387, IPv4ID: ip.ID, PrimaryDiskSize: 40}
		ip.AssigneeID = s.ID
		p.Servers[s.ID] = s
	}
	e.emu.mu.Unlock()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		all, err := e.c.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{PerPage: 50}})
		if err != nil {
			b.Fatal(err)
		}
		if len(all) != n {
			b.Fatalf("listed %d", len(all))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n/50), "pages/op")
	reportMemory(b)
}
