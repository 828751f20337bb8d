package hcloudemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzEmu is one emulator shared by a fuzz target's iterations, with a
// network, firewall, placement group and server to reference.
func fuzzEmu(f *testing.F) *Emulator {
	emu, err := New(Config{Speed: 1e6, RateLimit: 1 << 30, Tokens: []Token{{Project: "fz", Token: "fz"}}, Logf: func(string, ...any) {}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { emu.Close() })
	if err := emu.Configure(AdminConfig{Limits: map[string]Limits{"fz": {Servers: 1 << 30, Networks: 1 << 30, Firewalls: 1 << 30,
		LoadBalancers: 1 << 30, PrimaryIPs: 1 << 30, PlacementGroups: 1 << 30, SSHKeys: 1 << 30}}}); err != nil {
		f.Fatal(err)
	}
	for _, r := range []struct{ path, body string }{
		{"/v1/networks", `{"name":"n","ip_range":"10.0.0.0/16","subnets":[{"type":"cloud","network_zone":"eu-central","ip_range":"10.0.1.0/24"}]}`},
		{"/v1/firewalls", `{"name":"f"}`},
		{"/v1/placement_groups", `{"name":"p","type":"spread"}`},
		{"/v1/servers", `{"name":"s","server_type":"cx22","image":"debian-12","networks":[1]}`},
	} {
		if st := fuzzDo(emu, "POST", r.path, []byte(r.body)); st >= 300 {
			f.Fatalf("setup %s: %d", r.path, st)
		}
	}
	return emu
}

func fuzzDo(emu *Emulator, method, path string, body []byte) int {
	code, _ := fuzzDoBody(emu, method, path, body)
	return code
}

func fuzzDoBody(emu *Emulator, method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer fz")
	rec := httptest.NewRecorder()
	emu.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// createdID is the ID of the resource a create answer holds
// ({"server": {"id": 7, ...}, "action": ...}), or 0.
func createdID(answer []byte) int64 {
	var top map[string]json.RawMessage
	if json.Unmarshal(answer, &top) != nil {
		return 0
	}
	for k, raw := range top {
		if k == "action" || k == "next_actions" {
			continue
		}
		var obj struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.ID > 0 {
			return obj.ID
		}
	}
	return 0
}

func fuzzCreate(f *testing.F, method, path string, seeds ...string) {
	emu := fuzzEmu(f)
	for _, s := range append(seeds, ``, `{}`, `null`, `[]`, `{"name":`, `{"name":1}`, `"x"`, `{"labels":{"a":1}}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, answer := fuzzDoBody(emu, method, path, body)
		if st >= 500 || st == 0 {
			t.Fatalf("%s %s with %q: status %d", method, path, body, st)
		}
		if st := fuzzDo(emu, http.MethodGet, path, nil); st != 200 {
			t.Fatalf("list after %q: %d", body, st)
		}
		// Remove what was created, so every iteration meets the same small
		// project (tens of thousands of leftovers make later requests slow
		// enough to stall the fuzzer).
		if id := createdID(answer); st < 300 && id > 0 {
			if st := fuzzDo(emu, http.MethodDelete, fmt.Sprintf("%s/%d", path, id), nil); st >= 500 {
				t.Fatalf("delete after %q: status %d", body, st)
			}
		}
	})
}

func FuzzCreateServer(f *testing.F) {
	fuzzCreate(f, "POST", "/v1/servers",
		`{"name":"a","server_type":"cx22","image":"debian-12","location":"fsn1","labels":{"k":"v"},"networks":[1],"firewalls":[{"firewall":1}],"placement_group":1}`,
		`{"name":"b","server_type":104,"image":114690387,"datacenter":"nbg1-dc3","public_net":{"enable_ipv4":false,"enable_ipv6":false},"start_after_create":false}`,
		`{"name":"c","server_type":"cax11","image":"debian-12","ssh_keys":["x",1],"user_data":"#cloud-config","volumes":[1]}`,
		`{"name":"d","server_type":"cx22","image":"debian-12","public_net":{"ipv4":99999999999999999999}}`)
}

func FuzzCreateNetwork(f *testing.F) {
	fuzzCreate(f, "POST", "/v1/networks",
		`{"name":"x","ip_range":"10.0.0.0/8","subnets":[{"type":"cloud","network_zone":"eu-central"}],"routes":[{"destination":"10.100.0.0/24","gateway":"10.0.0.2"}]}`,
		`{"name":"y","ip_range":"192.168.0.0/24","subnets":[{"type":"vswitch","network_zone":"eu-central","ip_range":"192.168.0.0/30","vswitch_id":1}]}`,
		`{"name":"z","ip_range":"172.16.0.0/12","subnets":[{"type":"server","network_zone":"nowhere","ip_range":"172.16.0.0/33"}]}`)
}

func FuzzCreateFirewall(f *testing.F) {
	fuzzCreate(f, "POST", "/v1/firewalls",
		`{"name":"x","rules":[{"direction":"in","protocol":"tcp","port":"80-85","source_ips":["0.0.0.0/0","::/0"]}],"apply_to":[{"type":"server","server":{"id":1}},{"type":"label_selector","label_selector":{"selector":"a in (b,c)"}}]}`,
		`{"name":"y","rules":[{"direction":"out","protocol":"icmp","destination_ips":["10.0.0.0/8"],"description":"x"}]}`,
		`{"name":"z","rules":[{"direction":"in","protocol":"udp","port":"any","source_ips":["1.2.3.4/32"]}],"apply_to":[{"type":"server"}]}`)
}

func FuzzCreateLoadBalancer(f *testing.F) {
	fuzzCreate(f, "POST", "/v1/load_balancers",
		`{"name":"x","load_balancer_type":"lb11","location":"fsn1","algorithm":{"type":"least_connections"},"services":[{"protocol":"http","http":{"sticky_sessions":true},"health_check":{"protocol":"http","port":80,"interval":15,"timeout":10,"retries":3,"http":{"path":"/healthz","status_codes":["200"]}}}],"targets":[{"type":"server","server":{"id":1}},{"type":"label_selector","label_selector":{"selector":"x=y"}},{"type":"ip","ip":{"ip":"203.0.113.1"}}]}`,
		`{"name":"y","load_balancer_type":2,"network_zone":"eu-central","network":1,"public_interface":false,"services":[{"protocol":"tcp","listen_port":6443}]}`,
		`{"name":"z","load_balancer_type":"lb31","location":"hel1","services":[{"protocol":"tcp"}],"targets":[{"type":"server","server":{"id":1},"use_private_ip":true}]}`)
}
