package hcloudemu

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The conformance table is written from Hetzner's public API reference
// (docs.hetzner.cloud) and hcloud-go's schema package: each row is a request
// and what the real API answers — status, error code and key fields. It
// runs in-process against one project with a fixture of every resource kind.

type confCase struct {
	name   string
	method string
	path   string // {server}, {network}, … are fixture IDs
	body   string // JSON, same placeholders
	status int
	code   string         // error code, "" for success
	want   map[string]any // dotted JSON paths → value (fmt %v), "*" = present and not null
	header string         // a response header that must be set
}

func TestConformance(t *testing.T) {
	e := newEnv(t, withSpeed(100000))
	ids := conformanceFixture(t, e)
	cases := conformanceCases()
	if len(cases) < 150 {
		t.Fatalf("only %d conformance cases", len(cases))
	}
	t0 := time.Now()
	for _, cc := range cases {
		path, body := fill(cc.path, ids), fill(cc.body, ids)
		var rd io.Reader
		if body != "" {
			rd = bytes.NewBufferString(body)
		}
		req, _ := http.NewRequest(cc.method, e.srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+tokA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		label := cc.method + " " + cc.path + " (" + cc.name + ")"
		if resp.StatusCode != cc.status || errCode(out) != cc.code {
			t.Errorf("%s: %d %s, want %d %q\n%s", label, resp.StatusCode, errCode(out), cc.status, cc.code, data)
			continue
		}
		if resp.Header.Get("X-Correlation-Id") == "" {
			t.Errorf("%s: no X-Correlation-Id", label)
		}
		if cc.header != "" && resp.Header.Get(cc.header) == "" {
			t.Errorf("%s: no %s header", label, cc.header)
		}
		for p, w := range cc.want {
			got, ok := lookup(out, fill(p, ids))
			switch {
			case w == "*" && (!ok || got == nil):
				t.Errorf("%s: %s missing", label, p)
			case w != "*" && fmt.Sprint(got) != fill(fmt.Sprint(w), ids):
				t.Errorf("%s: %s = %v, want %v", label, p, got, fill(fmt.Sprint(w), ids))
			}
		}
	}
	t.Logf("%d conformance cases in %v", len(cases), time.Since(t0).Round(time.Millisecond))
}

func fill(s string, ids map[string]string) string {
	for k, v := range ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// lookup follows a dotted path through maps and lists (numeric segments
// index lists; "#" is a list's length).
func lookup(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			if seg == "#" {
				return len(x), true
			}
			var i int
			if _, err := fmt.Sscan(seg, &i); err != nil || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// conformanceFixture creates one resource of each kind and returns their IDs
// by placeholder name.
func conformanceFixture(t *testing.T, e *env) map[string]string {
	t.Helper()
	ids := map[string]string{}
	post := func(name, path string, body any, key string) map[string]any {
		code, out, _ := e.raw(http.MethodPost, fill(path, ids), tokA, body)
		if code >= 300 {
			t.Fatalf("fixture %s: %d %v", name, code, out)
		}
		if key != "" {
			obj := out[key].(map[string]any)
			ids[name] = fmt.Sprint(int64(obj["id"].(float64)))
			return obj
		}
		return out
	}
	pub, _ := testKey(7)
	post("sshkey", "/v1/ssh_keys", map[string]any{"name": "key", "public_key": pub}, "ssh_key")
	post("network", "/v1/networks", map[string]any{"name": "net", "ip_range": "10.0.0.0/16",
		"subnets": []any{map[string]any{"type": "cloud", "network_zone": "eu-central", "ip_range": "10.0.1.0/24"}}}, "network")
	post("pg", "/v1/placement_groups", map[string]any{"name": "pg", "type": "spread"}, "placement_group")
	post("firewall", "/v1/firewalls", map[string]any{"name": "fw"}, "firewall")
	srv := post("server", "/v1/servers", map[string]any{"name": "web-1", "server_type": "cx22", "image": "debian-12",
		"location": "fsn1", "ssh_keys": []any{"key"}, "networks": []any{mustAtoi(ids["network"])}, "labels": map[string]any{"role": "web"}}, "server")
	ids["server_ipv4"] = srv["public_net"].(map[string]any)["ipv4"].(map[string]any)["ip"].(string)
	post("offserver", "/v1/servers", map[string]any{"name": "off-1", "server_type": "cx22", "image": "debian-12",
		"location": "fsn1", "start_after_create": false}, "server")
	post("volume", "/v1/volumes", map[string]any{"name": "vol", "size": 10, "location": "fsn1", "format": "ext4"}, "volume")
	fip := post("fip", "/v1/floating_ips", map[string]any{"name": "fip", "type": "ipv4", "home_location": "fsn1"}, "floating_ip")
	ids["fip_ip"] = fip["ip"].(string)
	post("pip", "/v1/primary_ips", map[string]any{"name": "pip", "type": "ipv4", "location": "fsn1", "assignee_type": "server"}, "primary_ip")
	chain, key := testCertificate(t, "example.com")
	ids["cert_pem"], ids["cert_key"] = jsonString(chain), jsonString(key)
	post("cert", "/v1/certificates", map[string]any{"name": "cert", "certificate": chain, "private_key": key}, "certificate")
	lb := post("lb", "/v1/load_balancers", map[string]any{"name": "lb", "load_balancer_type": "lb11", "location": "fsn1"}, "load_balancer")
	ids["lb_ipv4"] = lb["public_net"].(map[string]any)["ipv4"].(map[string]any)["ip"].(string)
	post("lb2", "/v1/load_balancers", map[string]any{"name": "lb2", "load_balancer_type": "lb11", "location": "fsn1",
		"network": mustAtoi(ids["network"])}, "load_balancer")
	post("network2", "/v1/networks", map[string]any{"name": "net2", "ip_range": "10.1.0.0/16"}, "network")
	// Let create actions finish.
	time.Sleep(20 * time.Millisecond)
	return ids
}

func mustAtoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("not an ID: %q", s))
	}
	return n
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func testCertificate(t *testing.T, name string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
}

// conformanceCases lists the table: first what every resource collection
// does the same way, then each endpoint's own behaviour.
func conformanceCases() []confCase {
	type coll struct{ plural, key, fixture, create string }
	colls := []coll{
		{"servers", "server", "server", "POST /v1/servers"},
		{"networks", "network", "network", ""},
		{"firewalls", "firewall", "firewall", ""},
		{"placement_groups", "placement_group", "pg", ""},
		{"load_balancers", "load_balancer", "lb", ""},
		{"ssh_keys", "ssh_key", "sshkey", ""},
		{"primary_ips", "primary_ip", "pip", ""},
		{"volumes", "volume", "volume", ""},
		{"floating_ips", "floating_ip", "fip", ""},
		{"certificates", "certificate", "cert", ""},
	}
	var cs []confCase
	for _, c := range colls {
		p := "/v1/" + c.plural
		one := p + "/{" + c.fixture + "}"
		cs = append(cs,
			confCase{name: "list with pagination meta", method: "GET", path: p, status: 200,
				want: map[string]any{"meta.pagination.page": 1, "meta.pagination.per_page": 25, "meta.pagination.previous_page": nil}},
			confCase{name: "per_page", method: "GET", path: p + "?per_page=1", status: 200, want: map[string]any{"meta.pagination.per_page": 1, c.plural + ".#": 1}},
			confCase{name: "page must be positive", method: "GET", path: p + "?page=0", status: 400, code: "invalid_input"},
			confCase{name: "bad label selector", method: "GET", path: p + "?label_selector=a%20in%20(", status: 400, code: "invalid_input"},
			confCase{name: "name filter", method: "GET", path: p + "?name=no-such-name", status: 200, want: map[string]any{c.plural + ".#": 0}},
			confCase{name: "get", method: "GET", path: one, status: 200, want: map[string]any{c.key + ".id": "{" + c.fixture + "}", c.key + ".labels": "*"}},
			confCase{name: "unknown id", method: "GET", path: p + "/999999", status: 404, code: "not_found"},
			confCase{name: "id must be a number", method: "GET", path: p + "/abc", status: 400, code: "invalid_input"},
			confCase{name: "invalid label key", method: "PUT", path: one, body: `{"labels":{"-bad":"x"}}`, status: 400, code: "invalid_input"},
			confCase{name: "malformed JSON", method: "POST", path: p, body: `{"name":`, status: 400, code: "json_error"},
			confCase{name: "unknown action", method: "POST", path: one + "/actions/no_such_action", status: 404, code: "not_found"},
			confCase{name: "delete unknown", method: "DELETE", path: p + "/999999", status: 404, code: "not_found"},
			confCase{name: "rate limit headers", method: "GET", path: one, status: 200, header: "RateLimit-Remaining"},
		)
		if c.plural != "ssh_keys" {
			cs = append(cs, confCase{name: "resource actions", method: "GET", path: one + "/actions", status: 200, want: map[string]any{"actions": "*"}})
		}
	}
	return append(cs, specificCases()...)
}

func specificCases() []confCase {
	ok := func(name, method, path, body string, want map[string]any) confCase {
		status := 200
		if method == "POST" {
			status = 201
		}
		return confCase{name: name, method: method, path: path, body: body, status: status, want: want}
	}
	fail := func(name, method, path, body string, status int, code string) confCase {
		return confCase{name: name, method: method, path: path, body: body, status: status, code: code}
	}
	return []confCase{
		// Catalog: Hetzner's datacenter IDs, server types with deprecations, ISOs.
		ok("fsn1-dc14 is 4", "GET", "/v1/datacenters/4", "", map[string]any{"datacenter.name": "fsn1-dc14", "datacenter.location.name": "fsn1"}),
		ok("nbg1-dc3 is 2", "GET", "/v1/datacenters/2", "", map[string]any{"datacenter.name": "nbg1-dc3"}),
		ok("hel1-dc2 is 3", "GET", "/v1/datacenters/3", "", map[string]any{"datacenter.name": "hel1-dc2"}),
		ok("ash-dc1 is 5", "GET", "/v1/datacenters/5", "", map[string]any{"datacenter.name": "ash-dc1"}),
		ok("hil-dc1 is 6", "GET", "/v1/datacenters/6", "", map[string]any{"datacenter.name": "hil-dc1"}),
		ok("sin-dc1 is 7", "GET", "/v1/datacenters/7", "", map[string]any{"datacenter.name": "sin-dc1"}),
		fail("no datacenter 1", "GET", "/v1/datacenters/1", "", 404, "not_found"),
		ok("datacenter by name", "GET", "/v1/datacenters?name=hel1-dc2", "", map[string]any{"datacenters.0.id": 3}),
		ok("six datacenters", "GET", "/v1/datacenters", "", map[string]any{"datacenters.#": 6, "recommendation": 4}),
		ok("cx11 deprecated", "GET", "/v1/server_types?name=cx11", "", map[string]any{"server_types.0.id": 1, "server_types.0.deprecated": true,
			"server_types.0.deprecation.unavailable_after": "2024-09-06T00:00:00Z", "server_types.0.locations.0.available": false}),
		ok("cx22 is 104", "GET", "/v1/server_types/104", "", map[string]any{"server_type.name": "cx22", "server_type.deprecation": nil}),
		ok("cpx22 listed", "GET", "/v1/server_types?name=cpx22", "", map[string]any{"server_types.0.cores": 2, "server_types.0.architecture": "x86"}),
		ok("cax11 is arm", "GET", "/v1/server_types/45", "", map[string]any{"server_type.architecture": "arm"}),
		ok("prices per location", "GET", "/v1/server_types/104", "", map[string]any{"server_type.prices.0.location": "fsn1"}),
		fail("retired type cannot be ordered", "POST", "/v1/servers", `{"name":"old","server_type":"cx11","image":"debian-12","location":"fsn1"}`, 400, "invalid_input"),
		ok("location 1 is fsn1", "GET", "/v1/locations/1", "", map[string]any{"location.name": "fsn1", "location.network_zone": "eu-central"}),
		ok("pricing", "GET", "/v1/pricing", "", map[string]any{"pricing.currency": "EUR"}),
		ok("isos", "GET", "/v1/isos", "", map[string]any{"isos.#": 4}),
		ok("isos by architecture", "GET", "/v1/isos?architecture=arm", "", map[string]any{"isos.#": 1}),
		fail("unknown iso", "GET", "/v1/isos/1", "", 404, "not_found"),
		ok("load balancer types", "GET", "/v1/load_balancer_types?name=lb11", "", map[string]any{"load_balancer_types.0.max_services": 5}),
		// Response shapes.
		ok("server datacenter", "GET", "/v1/servers/{server}", "", map[string]any{"server.datacenter.name": "fsn1-dc14", "server.datacenter.id": 4,
			"server.status": "running", "server.image.name": "debian-12", "server.root_password": nil}),
		ok("primary ip datacenter", "GET", "/v1/primary_ips/{pip}", "", map[string]any{"primary_ip.datacenter.name": "fsn1-dc14", "primary_ip.assignee_id": nil}),
		ok("volume linux_device", "GET", "/v1/volumes/{volume}", "", map[string]any{"volume.linux_device": "/dev/disk/by-id/scsi-0HC_Volume_{volume}",
			"volume.status": "available", "volume.format": "ext4", "volume.size": 10, "volume.server": nil}),
		ok("floating ip reverse DNS", "GET", "/v1/floating_ips/{fip}", "", map[string]any{"floating_ip.dns_ptr.0.dns_ptr": "static.{fip_ip}.clients.your-server.de",
			"floating_ip.home_location.name": "fsn1", "floating_ip.server": nil}),
		ok("uploaded certificate", "GET", "/v1/certificates/{cert}", "", map[string]any{"certificate.type": "uploaded", "certificate.domain_names.0": "example.com",
			"certificate.fingerprint": "*", "certificate.status": nil}),
		fail("unknown path", "GET", "/v1/no_such_collection", "", 404, "not_found"),
		fail("unknown nested path", "GET", "/v1/servers/{server}/nonsense", "", 404, "not_found"),
		fail("server name must be a hostname", "POST", "/v1/servers", `{"name":"a b","server_type":"cx22","image":"debian-12"}`, 400, "invalid_input"),
		fail("server name taken", "POST", "/v1/servers", `{"name":"web-1","server_type":"cx22","image":"debian-12"}`, 409, "uniqueness_error"),
		fail("unknown image", "POST", "/v1/servers", `{"name":"x","server_type":"cx22","image":"no-such-image"}`, 400, "invalid_input"),
		fail("server type needed", "POST", "/v1/servers", `{"name":"x","image":"debian-12"}`, 400, "invalid_input"),
		// Protection wording.
		ok("protect network2", "POST", "/v1/networks/{network2}/actions/change_protection", `{"delete":true}`, map[string]any{"action.command": "change_protection"}),
		{name: "protected network", method: "DELETE", path: "/v1/networks/{network2}", status: 423, code: "protected",
			want: map[string]any{"error.message": "network deletion is protected"}},
		ok("unprotect network2", "POST", "/v1/networks/{network2}/actions/change_protection", `{"delete":false}`, nil),
		// Network semantics: first host of a subnet is handed out; parallel subnets.
		ok("server got the subnet's first host", "GET", "/v1/servers/{server}", "", map[string]any{"server.private_net.0.ip": "10.0.1.1"}),
		ok("add subnet", "POST", "/v1/networks/{network}/actions/add_subnet", `{"type":"cloud","network_zone":"eu-central","ip_range":"10.0.2.0/24"}`, map[string]any{"action.command": "add_subnet"}),
		ok("add another subnet right away", "POST", "/v1/networks/{network}/actions/add_subnet", `{"type":"cloud","network_zone":"eu-central","ip_range":"10.0.3.0/24"}`, nil),
		ok("explicit .1 accepted", "POST", "/v1/servers/{offserver}/actions/attach_to_network", `{"network":{network},"ip":"10.0.2.1"}`, nil),
		ok("attached at .1", "GET", "/v1/servers/{offserver}", "", map[string]any{"server.private_net.0.ip": "10.0.2.1"}),
		fail("network gateway not available", "POST", "/v1/load_balancers/{lb}/actions/attach_to_network", `{"network":{network},"ip":"10.0.0.1"}`, 422, "ip_not_available"),
		ok("gateway is the network's first address", "GET", "/v1/networks/{network}", "", map[string]any{"network.subnets.1.gateway": "10.0.0.1"}),
		fail("overlapping subnet", "POST", "/v1/networks/{network}/actions/add_subnet", `{"type":"cloud","network_zone":"eu-central","ip_range":"10.0.1.0/25"}`, 400, "invalid_input"),
		fail("server already attached", "POST", "/v1/servers/{server}/actions/attach_to_network", `{"network":{network}}`, 422, "server_already_attached"),
		// Load balancers.
		fail("second network", "POST", "/v1/load_balancers/{lb2}/actions/attach_to_network", `{"network":{network2}}`, 422, "load_balancer_already_attached"),
		ok("lb reverse DNS", "POST", "/v1/load_balancers/{lb}/actions/change_dns_ptr", `{"ip":"{lb_ipv4}","dns_ptr":"lb.example.com"}`, nil),
		ok("lb reverse DNS stored", "GET", "/v1/load_balancers/{lb}", "", map[string]any{"load_balancer.public_net.ipv4.dns_ptr": "lb.example.com"}),
		fail("https needs a certificate", "POST", "/v1/load_balancers/{lb}/actions/add_service", `{"protocol":"https"}`, 400, "invalid_input"),
		fail("unknown certificate", "POST", "/v1/load_balancers/{lb}/actions/add_service", `{"protocol":"https","http":{"certificates":[999999]}}`, 400, "invalid_input"),
		ok("https service", "POST", "/v1/load_balancers/{lb}/actions/add_service", `{"protocol":"https","http":{"certificates":[{cert}]}}`, nil),
		ok("https defaults", "GET", "/v1/load_balancers/{lb}", "", map[string]any{"load_balancer.services.0.listen_port": 443,
			"load_balancer.services.0.destination_port": 80, "load_balancer.services.0.http.certificates.0": "{cert}"}),
		ok("certificate used by", "GET", "/v1/certificates/{cert}", "", map[string]any{"certificate.used_by.0.id": "{lb}", "certificate.used_by.0.type": "load_balancer"}),
		fail("listen port taken", "POST", "/v1/load_balancers/{lb}/actions/add_service", `{"protocol":"https","http":{"certificates":[{cert}]}}`, 422, "source_port_already_used"),
		fail("bad algorithm", "POST", "/v1/load_balancers/{lb}/actions/change_algorithm", `{"type":"random"}`, 400, "invalid_input"),
		// Power semantics.
		fail("change_type needs a stopped server", "POST", "/v1/servers/{server}/actions/change_type", `{"server_type":"cx32","upgrade_disk":false}`, 422, "server_not_stopped"),
		fail("add_to_placement_group needs a stopped server", "POST", "/v1/servers/{server}/actions/add_to_placement_group", `{"placement_group":{pg}}`, 422, "server_not_stopped"),
		ok("stopped server joins a placement group", "POST", "/v1/servers/{offserver}/actions/add_to_placement_group", `{"placement_group":{pg}}`, nil),
		ok("placement group lists it", "GET", "/v1/placement_groups/{pg}", "", map[string]any{"placement_group.servers.0": "{offserver}"}),
		ok("leaves it again", "POST", "/v1/servers/{offserver}/actions/remove_from_placement_group", "", nil),
		ok("poweroff of a stopped server", "POST", "/v1/servers/{offserver}/actions/poweroff", "", nil),
		fail("primary IP assign needs a stopped server", "POST", "/v1/primary_ips/{pip}/actions/assign", `{"assignee_id":{server},"assignee_type":"server"}`, 422, "server_not_stopped"),
		ok("change type of a stopped server", "POST", "/v1/servers/{offserver}/actions/change_type", `{"server_type":"cx32","upgrade_disk":false}`, map[string]any{"action.command": "change_server_type"}),
		// Volumes.
		fail("volume too small", "POST", "/v1/volumes", `{"name":"tiny","size":5,"location":"fsn1"}`, 400, "invalid_input"),
		fail("volume needs location or server", "POST", "/v1/volumes", `{"name":"nowhere","size":10}`, 400, "invalid_input"),
		ok("attach volume", "POST", "/v1/volumes/{volume}/actions/attach", `{"server":{server},"automount":false}`, map[string]any{"action.command": "attach_volume"}),
		ok("server lists the volume", "GET", "/v1/servers/{server}", "", map[string]any{"server.volumes.0": "{volume}"}),
		ok("volume shows its server", "GET", "/v1/volumes/{volume}", "", map[string]any{"volume.server": "{server}"}),
		fail("attach twice", "POST", "/v1/volumes/{volume}/actions/attach", `{"server":{offserver}}`, 422, "volume_already_attached"),
		fail("volumes only grow", "POST", "/v1/volumes/{volume}/actions/resize", `{"size":9}`, 400, "invalid_input"),
		ok("resize", "POST", "/v1/volumes/{volume}/actions/resize", `{"size":20}`, nil),
		ok("resized", "GET", "/v1/volumes/{volume}", "", map[string]any{"volume.size": 20}),
		ok("detach volume", "POST", "/v1/volumes/{volume}/actions/detach", "", nil),
		// Floating IPs.
		ok("assign floating ip", "POST", "/v1/floating_ips/{fip}/actions/assign", `{"server":{server}}`, nil),
		ok("server lists the floating ip", "GET", "/v1/servers/{server}", "", map[string]any{"server.public_net.floating_ips.0": "{fip}"}),
		ok("floating ip reverse DNS", "POST", "/v1/floating_ips/{fip}/actions/change_dns_ptr", `{"ip":"{fip_ip}","dns_ptr":"fip.example.com"}`, nil),
		ok("floating ip reverse DNS stored", "GET", "/v1/floating_ips/{fip}", "", map[string]any{"floating_ip.dns_ptr.0.dns_ptr": "fip.example.com", "floating_ip.server": "{server}"}),
		fail("reverse DNS for a foreign ip", "POST", "/v1/floating_ips/{fip}/actions/change_dns_ptr", `{"ip":"192.0.2.1","dns_ptr":"x.example.com"}`, 400, "invalid_input"),
		ok("unassign floating ip", "POST", "/v1/floating_ips/{fip}/actions/unassign", "", nil),
		fail("floating ip type", "POST", "/v1/floating_ips", `{"type":"ipv5","home_location":"fsn1"}`, 400, "invalid_input"),
		// Certificates.
		fail("uploaded certificate needs a key", "POST", "/v1/certificates", `{"name":"nokey","certificate":"{cert_pem}"}`, 400, "invalid_input"),
		fail("certificate name taken", "POST", "/v1/certificates", `{"name":"cert","certificate":"{cert_pem}","private_key":"{cert_key}"}`, 409, "uniqueness_error"),
		ok("managed certificate", "POST", "/v1/certificates", `{"name":"managed","type":"managed","domain_names":["app.example.com"]}`,
			map[string]any{"certificate.type": "managed", "certificate.domain_names.0": "app.example.com", "certificate.status.issuance": "completed"}),
		// Rescue and ISOs.
		{name: "enable rescue", method: "POST", path: "/v1/servers/{server}/actions/enable_rescue", body: `{"type":"linux64","ssh_keys":[{sshkey}]}`,
			status: 201, want: map[string]any{"root_password": "*", "action.command": "enable_rescue"}},
		ok("rescue enabled", "GET", "/v1/servers/{server}", "", map[string]any{"server.rescue_enabled": true}),
		ok("disable rescue", "POST", "/v1/servers/{server}/actions/disable_rescue", "", nil),
		ok("attach iso", "POST", "/v1/servers/{server}/actions/attach_iso", `{"iso":"virtio-win-0.1.248.iso"}`, nil),
		ok("server shows the iso", "GET", "/v1/servers/{server}", "", map[string]any{"server.iso.name": "virtio-win-0.1.248.iso", "server.rescue_enabled": false}),
		fail("arm iso on x86", "POST", "/v1/servers/{server}/actions/attach_iso", `{"iso":"ubuntu-24.04-live-server-arm64.iso"}`, 400, "invalid_input"),
		ok("detach iso", "POST", "/v1/servers/{server}/actions/detach_iso", "", nil),
		// Actions.
		ok("actions list", "GET", "/v1/actions?status=success", "", map[string]any{"actions": "*"}),
		fail("action status filter", "GET", "/v1/actions?status=done", "", 400, "invalid_input"),
		fail("unknown action", "GET", "/v1/actions/999999", "", 404, "not_found"),
	}
}
