package hcloudemu

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runtimeConfig is what the admin API changes at run time. It has its own
// lock so that admin traffic never waits for API state.
type runtimeConfig struct {
	mu           sync.Mutex
	speed        float64
	latency      time.Duration
	latencyByEP  map[string]time.Duration
	faults       []*Fault
	actionFaults []*ActionFault
	rlLimit      int
	rlRefill     float64
	buckets      map[string]*bucket
	counts       map[string]int64
}

// Fault injects an error answer on an endpoint. Endpoint is a route pattern
// such as "POST /v1/servers" (see GET /admin/requests for the names) or "*".
// With Count > 0 the next Count matching requests fail; otherwise each fails
// with Probability.
type Fault struct {
	Endpoint    string  `json:"endpoint"`
	Status      int     `json:"status"`
	Code        string  `json:"code"`
	Message     string  `json:"message"`
	Probability float64 `json:"probability"`
	Count       int     `json:"count"`
}

// ActionFault makes actions of a command finish with status "error".
type ActionFault struct {
	Command     string  `json:"command"`
	Code        string  `json:"code"`
	Message     string  `json:"message"`
	Probability float64 `json:"probability"`
	Count       int     `json:"count"`
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRuntimeConfig(cfg Config) *runtimeConfig {
	return &runtimeConfig{speed: cfg.Speed, latencyByEP: map[string]time.Duration{},
		rlLimit: cfg.RateLimit, rlRefill: cfg.RateRefill, buckets: map[string]*bucket{}, counts: map[string]int64{}}
}

func (rt *runtimeConfig) scale(d time.Duration) time.Duration {
	rt.mu.Lock()
	s := rt.speed
	rt.mu.Unlock()
	return time.Duration(float64(d) / s)
}

func (rt *runtimeConfig) count(ep string) {
	rt.mu.Lock()
	rt.counts[ep]++
	rt.mu.Unlock()
}

func (rt *runtimeConfig) limit() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rlLimit
}

// takeToken charges one request to the token's budget, sets Hetzner's
// RateLimit-* headers and reports whether the request may proceed.
func (rt *runtimeConfig) takeToken(h http.Header, token string, now time.Time) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := rt.buckets[token]
	if b == nil {
		b = &bucket{tokens: float64(rt.rlLimit), last: now}
		rt.buckets[token] = b
	}
	b.tokens = math.Min(float64(rt.rlLimit), b.tokens+now.Sub(b.last).Seconds()*rt.rlRefill)
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	missing := float64(rt.rlLimit) - b.tokens
	reset := now.Add(time.Duration(missing / rt.rlRefill * float64(time.Second)))
	h.Set("RateLimit-Limit", strconv.Itoa(rt.rlLimit))
	h.Set("RateLimit-Remaining", strconv.Itoa(int(math.Floor(b.tokens))))
	h.Set("RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
	return ok
}

func (rt *runtimeConfig) latencyFor(ep string) time.Duration {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if d, ok := rt.latencyByEP[ep]; ok {
		return d
	}
	return rt.latency
}

func (rt *runtimeConfig) fault(ep string) *APIError {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	f, ok := takeFault(&rt.faults, ep)
	if !ok {
		return nil
	}
	e := newErr(cmp.Or(f.Code, "server_error"), "%s", cmp.Or(f.Message, "injected fault"))
	if f.Status != 0 {
		e.Status = f.Status
	}
	return e
}

func (rt *runtimeConfig) actionFault(command string) (string, string, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	f, ok := takeFault(&rt.actionFaults, command)
	if !ok {
		return "", "", false
	}
	return cmp.Or(f.Code, "action_failed"), cmp.Or(f.Message, "injected action failure"), true
}

// injected is a fault of either sort: it targets an endpoint or a command
// ("*": all) and fires the next Count times, else with a probability.
type injected interface {
	target() string
	rate() (count int, prob float64)
	fire() (hit, used bool)
}

func (f *Fault) target() string               { return f.Endpoint }
func (f *Fault) rate() (int, float64)         { return f.Count, f.Probability }
func (f *Fault) fire() (hit, used bool)       { return trigger(&f.Count, f.Probability) }
func (f *ActionFault) target() string         { return f.Command }
func (f *ActionFault) rate() (int, float64)   { return f.Count, f.Probability }
func (f *ActionFault) fire() (hit, used bool) { return trigger(&f.Count, f.Probability) }

// takeFault returns the first fault for key that fires; a counted fault
// is dropped once it has fired its last time.
func takeFault[F injected](faults *[]F, key string) (F, bool) {
	for i, f := range *faults {
		if f.target() != key && f.target() != "*" {
			continue
		}
		hit, used := f.fire()
		if used {
			*faults = append((*faults)[:i:i], (*faults)[i+1:]...)
		}
		if hit {
			return f, true
		}
	}
	var none F
	return none, false
}

// trigger decides whether a fault fires: the next *count times when count
// is set (used reports the last one), else with probability prob.
func trigger(count *int, prob float64) (hit, used bool) {
	if *count > 0 {
		*count--
		return true, *count == 0
	}
	return prob > 0 && rand.Float64() < prob, false
}

// ---- admin HTTP API ----

// AdminConfig is the document of GET/PUT /admin/config.
type AdminConfig struct {
	Speed           *float64          `json:"speed,omitempty"`
	LatencyMS       *int              `json:"latency_ms,omitempty"`
	EndpointLatency map[string]int    `json:"endpoint_latency_ms,omitempty"`
	RateLimit       *int              `json:"rate_limit,omitempty"`
	RateRefill      *float64          `json:"rate_refill_per_second,omitempty"`
	ResetBudgets    bool              `json:"reset_budgets,omitempty"`
	Limits          map[string]Limits `json:"project_limits,omitempty"`
}

func (e *Emulator) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	get := func(path string, body func(r *http.Request) any) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, body(r)) })
	}
	del := func(path string, do func(r *http.Request)) {
		mux.HandleFunc("DELETE "+path, func(w http.ResponseWriter, r *http.Request) {
			do(r)
			w.WriteHeader(http.StatusNoContent)
		})
	}
	get("/admin/healthz", func(*http.Request) any { return map[string]string{"status": "ok"} })
	get("/admin/config", func(*http.Request) any { return e.adminConfig() })
	adminWrite(mux, "PUT /admin/config", http.StatusOK, func(c AdminConfig) (any, error) {
		err := e.Configure(c)
		return e.adminConfig(), err
	})
	get("/admin/faults", func(*http.Request) any {
		e.rt.mu.Lock()
		defer e.rt.mu.Unlock()
		return map[string]any{"faults": e.rt.faults, "action_faults": e.rt.actionFaults}
	})
	adminWrite(mux, "POST /admin/faults", http.StatusCreated, func(f Fault) (any, error) { return f, e.InjectFault(f) })
	adminWrite(mux, "POST /admin/action-faults", http.StatusCreated, func(f ActionFault) (any, error) { return f, e.InjectActionFault(f) })
	del("/admin/faults", func(*http.Request) { e.ClearFaults() })
	get("/admin/requests", func(*http.Request) any {
		counts := e.RequestCounts()
		var total int64
		for _, n := range counts {
			total += n
		}
		return map[string]any{"requests": counts, "total": total}
	})
	del("/admin/requests", func(*http.Request) { e.ResetRequestCounts() })
	get("/admin/projects", func(*http.Request) any { return map[string]any{"projects": e.Projects()} })
	adminWrite(mux, "POST /admin/tokens", http.StatusCreated, func(t adminToken) (any, error) {
		return t, e.AddToken(Token(t))
	})
	del("/admin/tokens/{token}", func(r *http.Request) { e.RemoveToken(r.PathValue("token")) })
	get("/admin/dump", func(r *http.Request) any { return e.Dump(r.URL.Query().Get("project")) })
	get("/admin/hooks", func(*http.Request) any {
		st := e.hook.statuses()
		sort.Slice(st, func(i, j int) bool { return st[i].ServerID < st[j].ServerID })
		return map[string]any{"servers": st}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newErr("not_found", "unknown admin endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type adminToken struct {
	Project  string `json:"project"`
	Token    string `json:"token"`
	ReadOnly bool   `json:"read_only"`
}

// adminWrite serves a write endpoint: the body decodes strictly into Req,
// do applies it and returns the answer (written only when do succeeds).
func adminWrite[Req any](mux *http.ServeMux, pattern string, status int, do func(Req) (any, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var req Req
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
		dec.DisallowUnknownFields()
		err := dec.Decode(&req)
		var out any
		if err == nil {
			out, err = do(req)
		}
		if err != nil {
			writeError(w, newErr("invalid_input", "%v", err))
			return
		}
		writeJSON(w, status, out)
	})
}

func (e *Emulator) adminConfig() map[string]any {
	rt := e.rt
	rt.mu.Lock()
	defer rt.mu.Unlock()
	eps := map[string]int64{}
	for k, v := range rt.latencyByEP {
		eps[k] = v.Milliseconds()
	}
	return map[string]any{"speed": rt.speed, "latency_ms": rt.latency.Milliseconds(),
		"endpoint_latency_ms": eps, "rate_limit": rt.rlLimit, "rate_refill_per_second": rt.rlRefill}
}

// Configure changes speed, latency, rate limits or project limits.
func (e *Emulator) Configure(c AdminConfig) error {
	rt := e.rt
	if c.Speed != nil && (*c.Speed <= 0 || math.IsInf(*c.Speed, 0) || math.IsNaN(*c.Speed)) {
		return fmt.Errorf("speed must be > 0")
	}
	if c.RateLimit != nil && *c.RateLimit < 1 {
		return fmt.Errorf("rate_limit must be >= 1")
	}
	if c.RateRefill != nil && !(*c.RateRefill > 0) {
		return fmt.Errorf("rate_refill_per_second must be > 0")
	}
	if c.LatencyMS != nil && *c.LatencyMS < 0 {
		return fmt.Errorf("latency_ms must be >= 0")
	}
	rt.mu.Lock()
	setIf(&rt.speed, c.Speed)
	if c.LatencyMS != nil {
		rt.latency = time.Duration(*c.LatencyMS) * time.Millisecond
	}
	for ep, ms := range c.EndpointLatency {
		if ms <= 0 {
			delete(rt.latencyByEP, ep)
		} else {
			rt.latencyByEP[ep] = time.Duration(ms) * time.Millisecond
		}
	}
	setIf(&rt.rlLimit, c.RateLimit)
	setIf(&rt.rlRefill, c.RateRefill)
	if c.ResetBudgets || c.RateLimit != nil {
		rt.buckets = map[string]*bucket{}
	}
	rt.mu.Unlock()
	if len(c.Limits) > 0 {
		e.mu.Lock()
		for name, l := range c.Limits {
			e.st.project(name).Limits = l
		}
		e.seq++
		seq := e.seq
		e.mu.Unlock()
		return e.waitDurable(seq)
	}
	return nil
}

// InjectFault adds an endpoint fault.
func (e *Emulator) InjectFault(f Fault) error {
	if f.Endpoint == "" {
		return fmt.Errorf("endpoint is required (a pattern like \"POST /v1/servers\" or \"*\")")
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("status must be 4xx or 5xx")
	}
	return inject(e.rt, &e.rt.faults, &f)
}

// InjectActionFault makes actions of a command end in status error.
func (e *Emulator) InjectActionFault(f ActionFault) error {
	if f.Command == "" {
		return fmt.Errorf("command is required")
	}
	return inject(e.rt, &e.rt.actionFaults, &f)
}

// inject adds f to faults when it fires a number of times or with a
// probability.
func inject[F injected](rt *runtimeConfig, faults *[]F, f F) error {
	if count, prob := f.rate(); count <= 0 && !(prob > 0 && prob <= 1) {
		return fmt.Errorf("set count > 0 or 0 < probability <= 1")
	}
	rt.mu.Lock()
	*faults = append(*faults, f)
	rt.mu.Unlock()
	return nil
}

// ClearFaults removes every endpoint and action fault.
func (e *Emulator) ClearFaults() {
	e.rt.mu.Lock()
	e.rt.faults, e.rt.actionFaults = nil, nil
	e.rt.mu.Unlock()
}

// RequestCounts returns requests per endpoint pattern since the last reset.
func (e *Emulator) RequestCounts() map[string]int64 {
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	out := make(map[string]int64, len(e.rt.counts))
	for k, v := range e.rt.counts {
		out[k] = v
	}
	return out
}

// ResetRequestCounts zeroes the request counters.
func (e *Emulator) ResetRequestCounts() {
	e.rt.mu.Lock()
	e.rt.counts = map[string]int64{}
	e.rt.mu.Unlock()
}

// AddToken registers (or re-binds) an API token.
func (e *Emulator) AddToken(t Token) error {
	if t.Project == "" || strings.TrimSpace(t.Token) == "" || strings.ContainsAny(t.Token, " \t\r\n") {
		return fmt.Errorf("project and token (without spaces) are required")
	}
	e.mu.Lock()
	e.st.Tokens[t.Token] = TokenRef{Project: t.Project, ReadOnly: t.ReadOnly}
	e.st.project(t.Project)
	e.seq++
	seq := e.seq
	e.mu.Unlock()
	return e.waitDurable(seq)
}

// RemoveToken forgets a token.
func (e *Emulator) RemoveToken(token string) {
	e.mu.Lock()
	delete(e.st.Tokens, token)
	e.seq++
	seq := e.seq
	e.mu.Unlock()
	if err := e.waitDurable(seq); err != nil {
		e.logf("hcloudemu: removing a token: %v", err)
	}
}

// ProjectInfo summarizes a project for the admin API.
type ProjectInfo struct {
	Name      string         `json:"name"`
	Tokens    int            `json:"tokens"`
	Limits    Limits         `json:"limits"`
	Resources map[string]int `json:"resources"`
}

// Projects lists projects with resource counts.
func (e *Emulator) Projects() []ProjectInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ProjectInfo
	for _, p := range e.st.Projects {
		n := 0
		for _, t := range e.st.Tokens {
			if t.Project == p.Name {
				n++
			}
		}
		out = append(out, ProjectInfo{Name: p.Name, Tokens: n, Limits: p.Limits, Resources: resourceCounts(p)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func resourceCounts(p *Project) map[string]int {
	return map[string]int{"servers": len(p.Servers), "networks": len(p.Networks), "firewalls": len(p.Firewalls),
		"placement_groups": len(p.PlacementGroups), "load_balancers": len(p.LoadBalancers),
		"ssh_keys": len(p.SSHKeys), "primary_ips": len(p.PrimaryIPs), "volumes": len(p.Volumes),
		"floating_ips": len(p.FloatingIPs), "certificates": len(p.Certificates)}
}

// ProjectDump is every resource of a project as the API renders it.
type ProjectDump struct {
	Counts          map[string]int `json:"counts"`
	Total           int            `json:"total"`
	Servers         []any          `json:"servers"`
	Networks        []any          `json:"networks"`
	Firewalls       []any          `json:"firewalls"`
	PlacementGroups []any          `json:"placement_groups"`
	LoadBalancers   []any          `json:"load_balancers"`
	SSHKeys         []any          `json:"ssh_keys"`
	PrimaryIPs      []any          `json:"primary_ips"`
	Volumes         []any          `json:"volumes"`
	FloatingIPs     []any          `json:"floating_ips"`
	Certificates    []any          `json:"certificates"`
	RunningActions  int            `json:"running_actions"`
}

// Dump renders all resources per project (or of one project). Actions are
// not resources: they are counted, not listed. "total" is the number of
// resources left — zero after a clean destroy.
func (e *Emulator) Dump(project string) map[string]ProjectDump {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	e.advanceLocked(now)
	out := map[string]ProjectDump{}
	for name, p := range e.st.Projects {
		if project != "" && name != project {
			continue
		}
		c := &reqCtx{e: e, p: p, project: name, now: now}
		d := ProjectDump{Counts: resourceCounts(p)}
		for _, n := range d.Counts {
			d.Total += n
		}
		d.Servers, d.Networks, d.Firewalls = serverKind.all(c), networkKind.all(c), firewallKind.all(c)
		d.PlacementGroups, d.LoadBalancers = placementGroupKind.all(c), loadBalancerKind.all(c)
		d.SSHKeys, d.PrimaryIPs = sshKeyKind.all(c), primaryIPKind.all(c)
		d.Volumes, d.FloatingIPs, d.Certificates = volumeKind.all(c), floatingIPKind.all(c), certificateKind.all(c)
		for _, ra := range e.running {
			if ra.p == p {
				d.RunningActions++
			}
		}
		out[name] = d
	}
	return out
}

func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
