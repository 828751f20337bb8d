// Package hcloudemu is a stateful emulator of the Hetzner Cloud API (/v1).
//
// It speaks the request and response shapes of hcloud-go's schema package so
// that hcloud-go, the hcloud CLI and the official Terraform provider work
// against it unchanged. State is kept per project (a project is selected by
// the API token), persisted atomically after every mutating request, and
// actions progress in (scaled) real time. A separate admin handler controls
// speed, latency, fault injection, rate limits and tokens, counts requests
// and dumps state.
package hcloudemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// Token grants access to a project.
type Token struct {
	Project  string
	Token    string
	ReadOnly bool
}

// Config configures an Emulator.
type Config struct {
	// StateDir holds state.json; empty keeps state in memory only.
	StateDir string
	// AdminToken, when set, is required (Authorization: Bearer) on admin
	// requests that do not arrive on a loopback address. Without it the
	// admin API answers on loopback only.
	AdminToken string
	// Speed divides every action duration: 1 is realistic (server create
	// ≈ 10 s), 1000 makes it ≈ 10 ms. Zero means 1.
	Speed float64
	// IPv4Pool is the public IPv4 pool. Default 127.0.0.0/8, handing out
	// 127.0.1.1 upward.
	IPv4Pool netip.Prefix
	// Tokens to register at start (merged with persisted ones).
	Tokens []Token
	// RateLimit is the per-token request budget (default 3600, like
	// Hetzner's hourly budget) refilled at RateRefill per second (default 1).
	RateLimit  int
	RateRefill float64
	// Hook is called on server power transitions; may be nil.
	Hook PowerHook
	// Logf logs; nil logs through the standard logger.
	Logf func(format string, args ...any)
}

// Emulator is the in-process Hetzner Cloud API emulator.
type Emulator struct {
	cfg Config

	mu      sync.Mutex // guards st, running, seq, hooks queue
	st      *State
	running map[int64]runningAction
	seq     uint64
	pending []hookEvent

	// persistence
	pmu     sync.Mutex
	pcond   *sync.Cond
	durable uint64 // the last change on disk
	failed  uint64 // the last change whose write failed
	failErr error
	dirty   chan struct{}
	closed  bool

	wake   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	rt   *runtimeConfig
	hook *hookRunner

	api   http.Handler
	admin http.Handler
}

type runningAction struct {
	p *Project
	a *Action
}

// New creates an emulator, loading state from cfg.StateDir when present.
// Actions that were running when the previous process stopped resume with
// their original deadlines (those already past complete immediately).
func New(cfg Config) (*Emulator, error) {
	if cfg.Speed <= 0 {
		cfg.Speed = 1
	}
	if !cfg.IPv4Pool.IsValid() {
		cfg.IPv4Pool = netip.MustParsePrefix("127.0.0.0/8")
	}
	if !cfg.IPv4Pool.Addr().Is4() {
		return nil, fmt.Errorf("ipv4 pool %s is not an IPv4 prefix", cfg.IPv4Pool)
	}
	cfg.IPv4Pool = cfg.IPv4Pool.Masked()
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 3600
	}
	if cfg.RateRefill <= 0 {
		cfg.RateRefill = 1
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	st, err := loadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	for _, t := range cfg.Tokens {
		st.Tokens[t.Token] = TokenRef{Project: t.Project, ReadOnly: t.ReadOnly}
		st.project(t.Project)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{cfg: cfg, st: st, running: map[int64]runningAction{},
		dirty: make(chan struct{}, 1), wake: make(chan struct{}, 1), stop: make(chan struct{}),
		ctx: ctx, cancel: cancel}
	e.pcond = sync.NewCond(&e.pmu)
	e.rt = newRuntimeConfig(cfg)
	e.hook = newHookRunner(e, nil)
	for _, p := range st.Projects {
		for _, a := range p.Actions {
			if a.Status == "running" {
				e.running[a.ID] = runningAction{p, a}
			}
		}
	}
	e.api = e.routes()
	e.admin = guardAdmin(cfg.AdminToken, e.adminRoutes())
	e.mu.Lock()
	e.advanceLocked(time.Now())
	e.seq++
	events := e.takeHooksLocked()
	e.mu.Unlock()
	e.hook.dispatch(events)
	if cfg.Hook != nil {
		e.hook.set(cfg.Hook) // servers running before a restart power on again
	}
	if cfg.StateDir != "" {
		e.wg.Add(1)
		go e.persistLoop()
		e.signalDirty()
	}
	e.wg.Add(1)
	go e.actionLoop()
	return e, nil
}

// Handler serves the Hetzner API under /v1.
func (e *Emulator) Handler() http.Handler { return e.api }

// AdminHandler serves the admin API under /admin (mount it on its own
// listener, never next to /v1).
func (e *Emulator) AdminHandler() http.Handler { return e.admin }

// SetPowerHook installs (or removes, with nil) the power hook.
func (e *Emulator) SetPowerHook(h PowerHook) { e.hook.set(h) }

// Close stops background work and writes a final snapshot.
func (e *Emulator) Close() error {
	e.pmu.Lock()
	if e.closed {
		e.pmu.Unlock()
		return nil
	}
	e.pmu.Unlock()
	e.mu.Lock()
	seq := e.seq
	e.mu.Unlock()
	err := e.waitDurable(seq)
	e.pmu.Lock()
	e.closed = true
	e.pcond.Broadcast()
	e.pmu.Unlock()
	close(e.stop)
	e.cancel()
	e.wg.Wait()
	e.hook.wait()
	return err
}

func (e *Emulator) logf(format string, args ...any) { e.cfg.Logf(format, args...) }

// ---- persistence ----

func (e *Emulator) signalDirty() { notify(e.dirty) }

// notify wakes the loop waiting on ch unless a wake-up is already pending.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// persistLoop writes a snapshot whenever the state changed. A snapshot
// counts as durable only once written; a failed write is reported to the
// requests waiting for it and retried with backoff until it succeeds.
func (e *Emulator) persistLoop() {
	defer e.wg.Done()
	const minBackoff, maxBackoff = 50 * time.Millisecond, 2 * time.Second
	backoff := time.Duration(0)
	for {
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(backoff)
		}
		select {
		case <-e.stop:
			return
		case <-e.dirty:
		case <-retry:
		}
		e.mu.Lock()
		seq := e.seq
		data, err := json.Marshal(e.st)
		e.mu.Unlock()
		if err == nil {
			err = writeFileAtomic(e.cfg.StateDir, stateFile, data)
		}
		e.pmu.Lock()
		if err != nil {
			e.logf("hcloudemu: writing state: %v", err)
			e.failed, e.failErr = seq, err
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
		} else {
			e.durable = max(e.durable, seq)
			backoff = 0
		}
		e.pcond.Broadcast()
		e.pmu.Unlock()
	}
}

// waitDurable blocks until the snapshot containing change seq is on disk,
// or fails when the write attempt that covered it failed.
func (e *Emulator) waitDurable(seq uint64) error {
	if e.cfg.StateDir == "" {
		return nil
	}
	e.signalDirty()
	e.pmu.Lock()
	defer e.pmu.Unlock()
	for e.durable < seq && !e.closed {
		if e.failed >= seq {
			return fmt.Errorf("state not written: %w", e.failErr)
		}
		e.pcond.Wait()
	}
	if e.durable < seq {
		return errors.New("emulator closed before the state was written")
	}
	return nil
}

// ---- actions over time ----

func (e *Emulator) kick() { notify(e.wake) }

func (e *Emulator) actionLoop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		now := time.Now()
		changed := e.advanceLocked(now)
		var next time.Time
		for _, ra := range e.running {
			if next.IsZero() || ra.a.Deadline.Before(next) {
				next = ra.a.Deadline
			}
		}
		var seq uint64
		if changed {
			e.seq++
			seq = e.seq
		}
		events := e.takeHooksLocked()
		e.mu.Unlock()
		e.hook.dispatch(events)
		if seq > 0 && e.cfg.StateDir != "" {
			e.signalDirty()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-e.stop:
			return
		case <-e.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// advanceLocked completes every running action whose deadline has passed,
// in deadline order. It reports whether anything changed.
func (e *Emulator) advanceLocked(now time.Time) bool {
	var due []runningAction
	for _, ra := range e.running {
		if !ra.a.Deadline.After(now) {
			due = append(due, ra)
		}
	}
	if len(due) == 0 {
		return false
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].a.Deadline.Equal(due[j].a.Deadline) {
			return due[i].a.Deadline.Before(due[j].a.Deadline)
		}
		return due[i].a.ID < due[j].a.ID
	})
	for _, ra := range due {
		delete(e.running, ra.a.ID)
		e.completeActionLocked(ra.p, ra.a)
	}
	return true
}

func (e *Emulator) takeHooksLocked() []hookEvent {
	ev := e.pending
	e.pending = nil
	return ev
}

// ---- request plumbing ----

type reqCtx struct {
	e       *Emulator
	w       http.ResponseWriter
	r       *http.Request
	params  map[string]string
	p       *Project
	project string
	now     time.Time
	body    []byte // the request body once read (see decode)
}

type apiHandler func(c *reqCtx) (int, any, *APIError)

func (e *Emulator) routes() http.Handler {
	rt := &router{}
	registerAPI(rt.add)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Correlation-Id", correlationID())
		route, params, known := rt.match(r.Method, r.URL.Path)
		switch {
		case route != nil:
			e.serve(route.pattern, params, route.fn, w, r)
		case known:
			e.serve(r.Method+" (method not allowed)", nil, func(*reqCtx) (int, any, *APIError) {
				return 0, nil, newErr("method_not_allowed", "method %s is not allowed on %s", r.Method, r.URL.Path)
			}, w, r)
		default:
			e.serve("(unknown path)", nil, func(*reqCtx) (int, any, *APIError) {
				return 0, nil, newErr("not_found", "the requested resource %s does not exist", r.URL.Path)
			}, w, r)
		}
	})
}

// registerAPI lists every endpoint of the /v1 API.
func registerAPI(h func(string, apiHandler)) {
	registerActions(h)
	registerCatalog(h)
	registerServers(h)
	registerNetworks(h)
	registerFirewalls(h)
	registerPlacementGroups(h)
	registerLoadBalancers(h)
	registerSSHKeys(h)
	registerPrimaryIPs(h)
	registerVolumes(h)
	registerFloatingIPs(h)
	registerCertificates(h)
}

func (e *Emulator) serve(pattern string, params map[string]string, fn apiHandler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			e.logf("hcloudemu: panic serving %s: %v", pattern, v)
			writeError(w, newErr("server_error", "internal error"))
		}
	}()
	e.rt.count(pattern)
	ref, ok := e.admit(pattern, w, r)
	if !ok {
		return
	}

	var (
		status int
		body   any
		apiErr *APIError
		seq    uint64
		events []hookEvent
	)
	func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		now := time.Now()
		e.advanceLocked(now)
		c := &reqCtx{e: e, w: w, r: r, params: params, p: e.st.project(ref.Project), project: ref.Project, now: now}
		status, body, apiErr = fn(c)
		if r.Method != http.MethodGet && apiErr == nil {
			e.seq++
			seq = e.seq
		}
		events = e.takeHooksLocked()
	}()
	e.hook.dispatch(events)
	if seq > 0 {
		e.kick()
		if err := e.waitDurable(seq); err != nil {
			e.logf("hcloudemu: %s: %v", pattern, err)
			writeError(w, newErr("server_error", "the change could not be stored; it may still take effect: retry or check the resource"))
			return
		}
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// admit runs what comes before a request is served: authentication, the
// token's rate limit, injected latency and faults, and the read-only check.
// It answers the request itself when it is not admitted.
func (e *Emulator) admit(pattern string, w http.ResponseWriter, r *http.Request) (TokenRef, bool) {
	// Authentication.
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	e.mu.Lock()
	ref, known := e.st.Tokens[strings.TrimSpace(tok)]
	e.mu.Unlock()
	if !ok || !known {
		writeError(w, newErr("unauthorized", "unable to authenticate"))
		return TokenRef{}, false
	}
	// Rate limit (per token).
	if !e.rt.takeToken(w.Header(), strings.TrimSpace(tok), time.Now()) {
		writeError(w, newErr("rate_limit_exceeded", "limit of %d requests per hour reached", e.rt.limit()))
		return TokenRef{}, false
	}
	// Latency and fault injection.
	if d := e.rt.latencyFor(pattern); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return TokenRef{}, false
		}
	}
	if f := e.rt.fault(pattern); f != nil {
		writeError(w, f)
		return TokenRef{}, false
	}
	if ref.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, newErr("forbidden", "insufficient permissions for this request: token is read-only"))
		return TokenRef{}, false
	}
	return ref, true
}

// correlationID is a random request ID like the one Hetzner sends in
// X-Correlation-Id.
func correlationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
