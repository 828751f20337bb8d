package hcloudemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func TestAuthAndProjects(t *testing.T) {
	e := newEnv(t)
	st, body, _ := e.raw("GET", "/v1/servers", "", nil)
	if st != 401 || errCode(body) != "unauthorized" {
		t.Errorf("no token: %d %v", st, body)
	}
	st, body, _ = e.raw("GET", "/v1/servers", "wrong", nil)
	if st != 401 || errCode(body) != "unauthorized" {
		t.Errorf("unknown token: %d %v", st, body)
	}
	_, _, err := e.client("nope").Server.List(ctx, hcloud.ServerListOpts{})
	wantCode(t, err, hcloud.ErrorCodeUnauthorized)
	// Read-only token: reads fine, writes forbidden.
	ro := e.client(tokARO)
	if _, _, err := ro.Server.List(ctx, hcloud.ServerListOpts{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = ro.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "x", IPRange: mustCIDR("10.0.0.0/16")})
	wantCode(t, err, hcloud.ErrorCodeForbidden)
	// Isolation: project b cannot see project a's resources, names are per project.
	s := e.createServer(hcloud.ServerCreateOpts{Name: "same"})
	b := e.client(tokB)
	if got, _, err := b.Server.GetByID(ctx, s.ID); err != nil || got != nil {
		t.Errorf("project b sees server of a: %v %v", got, err)
	}
	st, body, _ = e.raw("GET", fmt.Sprintf("/v1/servers/%d", s.ID), tokB, nil)
	if st != 404 || errCode(body) != "not_found" {
		t.Errorf("cross-project get: %d %v", st, body)
	}
	if all, err := b.Server.All(ctx); err != nil || len(all) != 0 {
		t.Errorf("project b list: %d %v", len(all), err)
	}
	res, _, err := b.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "same", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Server.PublicNet.IPv4.IP.Equal(s.PublicNet.IPv4.IP) {
		t.Errorf("public IPs must be unique across projects")
	}
	// Read-only token of project a sees a's server.
	if got, _, _ := ro.Server.GetByID(ctx, s.ID); got == nil {
		t.Errorf("read-only token does not see its project")
	}
}

func TestErrorShapes(t *testing.T) {
	e := newEnv(t)
	// Malformed JSON.
	st, body, _ := e.raw("POST", "/v1/servers", tokA, `{"name": `)
	if st != 400 || errCode(body) != "json_error" {
		t.Errorf("malformed: %d %v", st, body)
	}
	// Wrong type names the field.
	st, body, _ = e.raw("POST", "/v1/networks", tokA, `{"name": 5, "ip_range": "10.0.0.0/16"}`)
	if st != 400 || errCode(body) != "invalid_input" {
		t.Fatalf("wrong type: %d %v", st, body)
	}
	fields := body["error"].(map[string]any)["details"].(map[string]any)["fields"].([]any)
	if fields[0].(map[string]any)["name"] != "name" {
		t.Errorf("fields %v", fields)
	}
	// hcloud-go sees details.fields.
	_, _, err := e.c.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: mustCIDR("8.8.0.0/16")})
	var herr hcloud.Error
	if !hcloud.IsError(err, hcloud.ErrorCodeInvalidInput) || !errors.As(err, &herr) {
		t.Fatal(err)
	}
	if d, ok := herr.Details.(hcloud.ErrorDetailsInvalidInput); !ok || d.Fields[0].Name != "ip_range" {
		t.Errorf("details %#v", herr.Details)
	}
	// not_found, unknown path, method not allowed.
	for _, c := range []struct{ method, path, code string }{
		{"GET", "/v1/servers/424242", "not_found"},
		{"GET", "/v1/servers/abc", "invalid_input"},
		{"GET", "/v1/nothing", "not_found"},
		{"PATCH", "/v1/servers", "method_not_allowed"},
		{"GET", "/v1/servers?page=0", "invalid_input"},
		{"GET", "/v1/servers?sort=bogus", "invalid_input"},
		{"GET", "/v1/servers?label_selector=a%20in%20(b", "invalid_input"},
	} {
		_, body, _ := e.raw(c.method, c.path, tokA, nil)
		if errCode(body) != c.code {
			t.Errorf("%s %s: %v, want %s", c.method, c.path, body, c.code)
		}
	}
	// resource_limit_exceeded.
	if err := e.emu.Configure(AdminConfig{Limits: map[string]Limits{"a": {Servers: 1, Networks: 1, Firewalls: 1, LoadBalancers: 1, PrimaryIPs: 10, PlacementGroups: 1, SSHKeys: 1}}}); err != nil {
		t.Fatal(err)
	}
	e.createServer(hcloud.ServerCreateOpts{Name: "one"})
	_, _, err = e.c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "two", ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}})
	wantCode(t, err, hcloud.ErrorCodeResourceLimitExceeded)
	// conflict is injected (the emulator never races); hcloud-go retries it.
	if err := e.emu.InjectFault(Fault{Endpoint: "GET /v1/servers", Code: "conflict", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.Server.List(ctx, hcloud.ServerListOpts{}); err != nil {
		t.Errorf("conflict was not retried to success: %v", err)
	}
	noRetry := e.client(tokA, hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 0}))
	_ = e.emu.InjectFault(Fault{Endpoint: "GET /v1/servers", Code: "conflict", Count: 1})
	_, _, err = noRetry.Server.List(ctx, hcloud.ServerListOpts{})
	wantCode(t, err, hcloud.ErrorCodeConflict)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	limit, refill := 3, 20.0
	if err := e.emu.Configure(AdminConfig{RateLimit: &limit, RateRefill: &refill}); err != nil {
		t.Fatal(err)
	}
	var reset int64
	for i := 0; i < 3; i++ {
		st, _, h := e.raw("GET", "/v1/locations", tokA, nil)
		if st != 200 || h.Get("RateLimit-Limit") != "3" || h.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d limit %s remaining %s", i, st, h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"))
		}
	}
	st, body, h := e.raw("GET", "/v1/locations", tokA, nil)
	if st != 429 || errCode(body) != "rate_limit_exceeded" || h.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("4th request: %d %v %v", st, body, h)
	}
	reset, _ = strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if reset < time.Now().Unix() {
		t.Errorf("reset %d in the past", reset)
	}
	// Another token has its own budget.
	if st, _, _ := e.raw("GET", "/v1/locations", tokB, nil); st != 200 {
		t.Errorf("token b throttled: %d", st)
	}
	// hcloud-go sees rate_limit_exceeded, then succeeds after the refill.
	noRetry := e.client(tokA, hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 0}))
	_, _, err := noRetry.Location.List(ctx, hcloud.LocationListOpts{})
	wantCode(t, err, hcloud.ErrorCodeRateLimitExceeded)
	time.Sleep(time.Duration(float64(time.Second) / refill * 1.5))
	if _, _, err := noRetry.Location.List(ctx, hcloud.LocationListOpts{}); err != nil {
		t.Errorf("after refill: %v", err)
	}
}

func TestPaginationAndSort(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 60; i++ {
		pub, _ := testKey(byte(i + 1))
		must[*hcloud.SSHKey](t)(e.c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: fmt.Sprintf("key-%02d", i), PublicKey: pub,
			Labels: map[string]string{"parity": []string{"even", "odd"}[i%2], "tier": strconv.Itoa(i % 3)}}))
	}
	st, body, _ := e.raw("GET", "/v1/ssh_keys?per_page=25", tokA, nil)
	p := body["meta"].(map[string]any)["pagination"].(map[string]any)
	if st != 200 || p["page"] != 1.0 || p["per_page"] != 25.0 || p["previous_page"] != nil || p["next_page"] != 2.0 || p["last_page"] != 3.0 || p["total_entries"] != 60.0 {
		t.Errorf("page 1 meta %v", p)
	}
	_, body, _ = e.raw("GET", "/v1/ssh_keys?per_page=25&page=3", tokA, nil)
	p = body["meta"].(map[string]any)["pagination"].(map[string]any)
	if len(body["ssh_keys"].([]any)) != 10 || p["next_page"] != nil || p["previous_page"] != 2.0 {
		t.Errorf("page 3 %v", p)
	}
	_, body, _ = e.raw("GET", "/v1/ssh_keys?per_page=500", tokA, nil)
	if len(body["ssh_keys"].([]any)) != 50 {
		t.Errorf("per_page not capped at 50: %d", len(body["ssh_keys"].([]any)))
	}
	_, body, _ = e.raw("GET", "/v1/ssh_keys?page=9", tokA, nil)
	if len(body["ssh_keys"].([]any)) != 0 {
		t.Errorf("page beyond the end is not empty")
	}
	// Nothing matching is an empty list, [] as Hetzner answers, never null.
	for _, path := range []string{"/v1/images?architecture=riscv", "/v1/ssh_keys?label_selector=missing", "/v1/volumes"} {
		_, body, _ = e.raw("GET", path, tokA, nil)
		key := strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/v1/")
		if l, ok := body[key].([]any); !ok || len(l) != 0 {
			t.Errorf("GET %s: %q is %#v, want []", path, key, body[key])
		}
	}
	all := must[[]*hcloud.SSHKey](t)(e.c.SSHKey.List(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{PerPage: 50}}))
	if len(all) != 50 {
		t.Errorf("list %d", len(all))
	}
	every, err := e.c.SSHKey.All(ctx)
	if err != nil || len(every) != 60 {
		t.Fatalf("all: %d %v", len(every), err)
	}
	// Sort.
	_, body, _ = e.raw("GET", "/v1/ssh_keys?sort=name:desc&per_page=1", tokA, nil)
	if n := body["ssh_keys"].([]any)[0].(map[string]any)["name"]; n != "key-59" {
		t.Errorf("sort name:desc first %v", n)
	}
	_, body, _ = e.raw("GET", "/v1/ssh_keys?sort=id:desc&per_page=1", tokA, nil)
	if id := body["ssh_keys"].([]any)[0].(map[string]any)["id"]; id != float64(every[59].ID) {
		t.Errorf("sort id:desc first %v", id)
	}
	// Filters.
	for sel, want := range map[string]int{
		"parity=even": 30, "parity==odd": 30, "parity!=odd": 30, "tier in (0,1)": 40, "tier notin (0,1)": 20,
		"tier": 60, "!tier": 0, "parity=even,tier=0": 10, "missing!=x": 60,
	} {
		got, err := e.c.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{LabelSelector: sel}})
		if err != nil || len(got) != want {
			t.Errorf("selector %q: %d (%v), want %d", sel, len(got), err, want)
		}
	}
	if got := must[*hcloud.SSHKey](t)(e.c.SSHKey.GetByName(ctx, "key-07")); got == nil || got.Name != "key-07" {
		t.Errorf("by name %+v", got)
	}
}

func TestSelectorGrammar(t *testing.T) {
	labels := map[string]string{"env": "prod", "tier": "web", "k8s.io/role": "node"}
	for sel, want := range map[string]bool{
		"": true, "env": true, "!env": false, "!nope": true, "env=prod": true, "env==prod": true, "env=dev": false,
		"env!=dev": true, "env!=prod": false, "tier in (web, db)": true, "tier in (db)": false, "tier notin (db)": true,
		"env=prod,tier=web": true, "env=prod,tier=db": false, "k8s.io/role=node": true, "nope notin (x)": true,
	} {
		s, err := ParseSelector(sel)
		if err != nil {
			t.Errorf("%q: %v", sel, err)
			continue
		}
		if got := s.Matches(labels); got != want {
			t.Errorf("%q matches = %v, want %v", sel, got, want)
		}
	}
	for _, bad := range []string{"a in (b", "a=b,", "=b", "a in b", "a)b", "a in ((b))"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%q: want parse error", bad)
		}
	}
}

func TestActionsAPI(t *testing.T) {
	e := newEnv(t)
	s := e.createServer(hcloud.ServerCreateOpts{Name: "s"})
	list, err := e.c.Server.Action.All(ctx, hcloud.ActionListOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("server actions %d", len(list))
	}
	got := must[*hcloud.Action](t)(e.c.Action.GetByID(ctx, list[0].ID))
	if got.Command != "create_server" || got.Status != "success" || got.Progress != 100 || got.Finished.IsZero() || got.Resources[0].ID != s.ID {
		t.Errorf("action %+v", got)
	}
	byID, err := e.c.Action.AllWithOpts(ctx, hcloud.ActionListOpts{ID: []int64{list[1].ID}})
	if err != nil || len(byID) != 1 {
		t.Errorf("list by id %d %v", len(byID), err)
	}
	st, body, _ := e.raw("GET", fmt.Sprintf("/v1/servers/%d/actions", s.ID), tokA, nil)
	if st != 200 || len(body["actions"].([]any)) != 2 {
		t.Errorf("per-resource list %d %v", st, body)
	}
	st, _, _ = e.raw("GET", fmt.Sprintf("/v1/servers/actions/%d", list[0].ID), tokA, nil)
	if st != 200 {
		t.Errorf("servers/actions/{id}: %d", st)
	}
	st, _, _ = e.raw("GET", fmt.Sprintf("/v1/networks/actions/%d", list[0].ID), tokA, nil)
	if st != 404 {
		t.Errorf("network action lookup of a server action: %d", st)
	}
	// Injected action failure.
	if err := e.emu.InjectActionFault(ActionFault{Command: "stop_server", Code: "action_failed", Count: 1}); err != nil {
		t.Fatal(err)
	}
	a := must[*hcloud.Action](t)(e.c.Server.Poweroff(ctx, s))
	err = e.c.Action.WaitFor(ctx, a)
	var ae hcloud.ActionError
	if err == nil || !asActionError(err, &ae) || ae.Code != "action_failed" {
		t.Errorf("want action error, got %v", err)
	}
	if got := must[*hcloud.Server](t)(e.c.Server.GetByID(ctx, s.ID)); got.Status != hcloud.ServerStatusRunning {
		t.Errorf("status after failed poweroff: %s", got.Status)
	}
}

func asActionError(err error, target *hcloud.ActionError) bool {
	return errors.As(err, target)
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, withStateDir(t.TempDir()))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := e.client(tokA)
			res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: fmt.Sprintf("c%d", i), ServerType: &hcloud.ServerType{Name: "cx22"}, Image: &hcloud.Image{Name: "debian-12"}})
			if err != nil {
				errs <- err
				return
			}
			if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
				errs <- err
				return
			}
			if _, _, err := c.Server.List(ctx, hcloud.ServerListOpts{}); err != nil {
				errs <- err
			}
			if i%2 == 0 {
				r, _, err := c.Server.DeleteWithResult(ctx, res.Server)
				if err == nil {
					err = c.Action.WaitFor(ctx, r.Action)
				}
				if err != nil {
					errs <- err
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, _ := e.c.Server.All(ctx)
	if len(all) != 8 {
		t.Errorf("servers left %d, want 8", len(all))
	}
	seen := map[string]bool{}
	for _, s := range all {
		ip := s.PublicNet.IPv4.IP.String()
		if seen[ip] {
			t.Errorf("duplicate IP %s", ip)
		}
		seen[ip] = true
	}
}
