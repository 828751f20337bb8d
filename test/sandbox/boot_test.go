package sandbox

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseCloudConfigEncodings(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("token: b64\n"))
	gzb64 := base64.StdEncoding.EncodeToString(gz(t, "token: gz\n"))
	ud := `#cloud-config
hostname: node-a
fqdn: node-a.example.com
write_files:
  - path: /a
    content: plain
  - path: /b
    encoding: b64
    content: ` + b64 + `
  - path: /c
    encoding: gzip+base64
    permissions: "0600"
    content: ` + gzb64 + `
  - path: /d
    encoding: base64
    content: ` + b64 + `
  - path: /a
    append: true
    content: "+more"
`
	cc, err := ParseCloudConfig(ud)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/a": "plain+more", "/b": "token: b64\n", "/c": "token: gz\n", "/d": "token: b64\n"}
	for p, w := range want {
		if got := string(cc.Files[p]); got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if cc.Hostname != "node-a" || cc.FQDN != "node-a.example.com" || cc.Perms["/c"] != "0600" {
		t.Errorf("hostname/fqdn/perms: %+v", cc)
	}
	// Whole user data gzip-compressed.
	if cc2, err := ParseCloudConfig(string(gz(t, ud))); err != nil || string(cc2.Files["/a"]) != "plain+more" {
		t.Errorf("gzip user data: %v", err)
	}
}

func TestParseCloudConfigErrors(t *testing.T) {
	for name, ud := range map[string]string{
		"empty":    "",
		"script":   "#!/bin/sh\necho hi\n",
		"nothdr":   "hostname: x\n",
		"badyaml":  "#cloud-config\nwrite_files: [\n",
		"badenc":   "#cloud-config\nwrite_files:\n  - path: /x\n    encoding: rot13\n    content: x\n",
		"badb64":   "#cloud-config\nwrite_files:\n  - path: /x\n    encoding: b64\n    content: '!!!'\n",
		"nopath":   "#cloud-config\nwrite_files:\n  - content: x\n",
		"notgzipd": "#cloud-config\nwrite_files:\n  - path: /x\n    encoding: gzip+base64\n    content: aGVsbG8=\n",
	} {
		if _, err := ParseCloudConfig(ud); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMergeK3sConfig(t *testing.T) {
	files := map[string][]byte{
		K3sConfigPath: []byte(`token: abc
node-label: ["a=1"]
tls-san: api.example.com,10.0.0.5
node-taint:
  - x=y:NoSchedule
cluster-init: true
`),
		K3sConfigDir + "/20-late.yaml":  []byte("node-name: late\nnode-label+: [\"c=3\"]\n"),
		K3sConfigDir + "/10-early.yaml": []byte("node-name: early\nnode-label+: [\"b=2\"]\n"),
		K3sConfigDir + "/ignored.txt":   []byte("node-name: nope\n"),
	}
	c, err := MergeK3sConfig(files)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "late" || c.Token != "abc" || !c.ClusterInit {
		t.Errorf("scalars: %+v", c)
	}
	if got := strings.Join(c.NodeLabels, " "); got != "a=1 b=2 c=3" {
		t.Errorf("labels %q", got)
	}
	if got := strings.Join(c.TLSSAN, " "); got != "api.example.com 10.0.0.5" {
		t.Errorf("tls-san %q", got)
	}
	if ip, _ := c.APIServiceIP(); ip.String() != "10.43.0.1" {
		t.Errorf("service ip %s", ip)
	}
	if _, err := MergeK3sConfig(map[string][]byte{"/etc/other": nil}); err == nil {
		t.Error("no config: no error")
	}
}

func TestParseToken(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
	full := FullToken(ca, "s3cret")
	tok, err := ParseToken(full)
	if err != nil || tok.Secret != "s3cret" || tok.Username != "server" || tok.CAHash != CAHashOf(ca) {
		t.Fatalf("full token: %+v %v", tok, err)
	}
	bare, err := ParseToken("s3cret")
	if err != nil || bare.Secret != tok.Secret || bare.CAHash != "" {
		t.Fatalf("bare token: %+v %v", bare, err)
	}
	for _, bad := range []string{"", "K10abc", "K10" + strings.Repeat("a", 64) + "::nosecret", "K10zz::server:x"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseBoot(t *testing.T) {
	pki, err := GenerateClusterPKI()
	if err != nil {
		t.Fatal(err)
	}
	token := FullToken(pki.ServerCA.CertPEM, "secret")
	server, err := RenderCloudInit(CloudInitSpec{Hostname: "cp-1", PKI: pki, Config: map[string]any{
		"token": token, "cluster-init": true, "tls-san": []string{"127.0.1.9"}, "node-label": []string{"pool=cp"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBoot(server, "srv-1")
	if err != nil {
		t.Fatal(err)
	}
	if b.Role != RoleServer || !b.Init || b.NodeName != "cp-1" || b.Token.Secret != "secret" || b.PKI == nil {
		t.Fatalf("server boot: %+v", b)
	}
	if !bytes.Equal(b.PKI.ServerCA.CertPEM, pki.ServerCA.CertPEM) {
		t.Error("server CA differs")
	}
	agent, _ := RenderCloudInit(CloudInitSpec{Config: map[string]any{
		"token": "secret", "server": "https://127.0.1.1:6443", "node-taint": []string{"dedicated=db:NoSchedule"},
	}})
	a, err := ParseBoot(agent, "Worker-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != RoleAgent || a.Init || a.NodeName != "worker-1" || a.PKI != nil {
		t.Fatalf("agent boot: %+v", a)
	}
	// A server's agent-token is read; an agent's is ignored, as k3s does.
	withAgentToken, _ := RenderCloudInit(CloudInitSpec{PKI: pki, Config: map[string]any{
		"token": token, "agent-token": "K10" + CAHashOf(pki.ServerCA.CertPEM) + "::node:agentsecret", "cluster-init": true}})
	if b, err := ParseBoot(withAgentToken, "x"); err != nil || b.AgentToken == nil || b.AgentToken.Secret != "agentsecret" || b.Token.Secret != "secret" {
		t.Errorf("server with agent-token: %+v, %v", b, err)
	}
	// A token whose CA hash does not match the CA files is refused.
	other, _ := GenerateClusterPKI()
	bad, _ := RenderCloudInit(CloudInitSpec{PKI: pki, Config: map[string]any{
		"token": FullToken(other.ServerCA.CertPEM, "secret"), "cluster-init": true}})
	if _, err := ParseBoot(bad, "x"); err == nil || !strings.Contains(err.Error(), "CA hash") {
		t.Errorf("mismatched CA hash: %v", err)
	}
	for name, ud := range map[string]string{
		"no token":   "#cloud-config\nwrite_files:\n  - path: " + K3sConfigPath + "\n    content: 'server: https://1.2.3.4:6443'\n",
		"no role":    "#cloud-config\nwrite_files:\n  - path: " + K3sConfigPath + "\n    content: 'token: x'\n",
		"bad server": "#cloud-config\nwrite_files:\n  - path: " + K3sConfigPath + "\n    content: 'server: 1.2.3.4'\n",
		"bad taint":  "#cloud-config\nwrite_files:\n  - path: " + K3sConfigPath + "\n    content: \"{token: x, server: 'https://a:6443', node-taint: [a=b]}\"\n",
		"init no CA": "#cloud-config\nwrite_files:\n  - path: " + K3sConfigPath + "\n    content: \"{token: x, cluster-init: true}\"\n",
	} {
		if _, err := ParseBoot(ud, "x"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseTaintsAndLabels(t *testing.T) {
	ts, err := ParseTaints([]string{"a=b:NoSchedule", "c:NoExecute"})
	if err != nil || len(ts) != 2 || ts[1].Key != "c" || ts[1].Value != "" || ts[0].Effect != "NoSchedule" {
		t.Fatalf("%+v %v", ts, err)
	}
	if _, err := ParseTaints([]string{"a=b:Sometimes"}); err == nil {
		t.Error("bad effect accepted")
	}
	if _, err := ParseLabels([]string{"novalue"}); err == nil {
		t.Error("bad label accepted")
	}
}
