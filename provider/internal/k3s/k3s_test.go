package k3s

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/client-go/tools/clientcmd"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustPKI(t *testing.T) *PKI {
	t.Helper()
	p, err := GeneratePKI(PKIOptions{ClusterName: "demo", CAValidity: 10 * 365 * 24 * time.Hour, AdminValidity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parseCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPKICAsAreSelfSignedP256CAs(t *testing.T) {
	p := mustPKI(t)
	for name, kp := range map[string]KeyPair{
		"server": p.ServerCA, "client": p.ClientCA, "request-header": p.RequestHeaderCA,
		"etcd-peer": p.EtcdPeerCA, "etcd-server": p.EtcdServerCA,
	} {
		c, key, err := ParseKeyPair(kp)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s: not a signing CA: isCA=%v usage=%v", name, c.IsCA, c.KeyUsage)
		}
		if key.Curve.Params().Name != "P-256" {
			t.Errorf("%s: curve %s", name, key.Curve.Params().Name)
		}
		if !key.PublicKey.Equal(c.PublicKey) {
			t.Errorf("%s: key does not match certificate", name)
		}
		if err := c.CheckSignatureFrom(c); err != nil {
			t.Errorf("%s: not self-signed: %v", name, err)
		}
		if !strings.HasPrefix(c.Subject.CommonName, map[string]string{
			"server": "k3s-server-ca@", "client": "k3s-client-ca@", "request-header": "k3s-request-header-ca@",
			"etcd-peer": "etcd-peer-ca@", "etcd-server": "etcd-server-ca@"}[name]) {
			t.Errorf("%s: CN %q", name, c.Subject.CommonName)
		}
		if d := time.Until(c.NotAfter); d < 9*365*24*time.Hour {
			t.Errorf("%s: expires too early: %v", name, c.NotAfter)
		}
	}
	// Distinct CAs: a leaf of one must not verify against another.
	if p.ServerCA.CertPEM == p.ClientCA.CertPEM {
		t.Fatal("server and client CA are the same")
	}
}

func TestAdminCertChainsToClientCAOnly(t *testing.T) {
	p := mustPKI(t)
	admin := parseCert(t, p.Admin.CertPEM)
	if admin.Subject.CommonName != "system:admin" || len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin subject %v", admin.Subject)
	}
	if admin.IsCA {
		t.Error("admin cert is a CA")
	}
	if len(admin.ExtKeyUsage) != 1 || admin.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("ext key usage %v, want clientAuth only", admin.ExtKeyUsage)
	}
	verify := func(caPEM string) error {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(caPEM))
		_, err := admin.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
	if err := verify(p.ClientCA.CertPEM); err != nil {
		t.Errorf("admin cert does not verify against the client CA: %v", err)
	}
	if err := verify(p.ServerCA.CertPEM); err == nil {
		t.Error("admin cert verifies against the server CA")
	}
	if got := time.Until(admin.NotAfter); got > 366*24*time.Hour || got < 364*24*time.Hour {
		t.Errorf("admin validity %v, want about a year", got)
	}
}

func TestPKIRejectsBadValidity(t *testing.T) {
	if _, err := GeneratePKI(PKIOptions{CAValidity: time.Hour, AdminValidity: 2 * time.Hour}); err == nil {
		t.Error("admin validity beyond the CA accepted")
	}
	if _, err := GeneratePKI(PKIOptions{CAValidity: 0, AdminValidity: time.Hour}); err == nil {
		t.Error("zero CA validity accepted")
	}
}

func TestTokenPinsServerCA(t *testing.T) {
	p := mustPKI(t)
	tok, err := NewToken(p.ServerCA.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^K10[0-9a-f]{64}::server:[0-9a-f]{48}$`).MatchString(tok) {
		t.Fatalf("token format: %q", tok)
	}
	agent, err := NewAgentToken(p.ServerCA.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^K10[0-9a-f]{64}::node:[0-9a-f]{48}$`).MatchString(agent) || agent[:67] != tok[:67] {
		t.Fatalf("agent token %q: want K10<the same CA hash>::node:<secret>", agent)
	}
	if agent[len(agent)-48:] == tok[len(tok)-48:] {
		t.Error("agent and server tokens share their secret")
	}
	if !IsServerToken(tok) || IsServerToken(agent) || IsServerToken("s3cret") || IsServerToken("K10abc::node:server:x") {
		t.Error("IsServerToken misclassifies")
	}
	secret := strings.SplitN(tok, "::server:", 2)[1]
	if TokenWithSecret(p.ServerCA.CertPEM, secret) != tok {
		t.Error("token not reproducible from CA and secret")
	}
	tok2, _ := NewToken(p.ServerCA.CertPEM)
	if tok2 == tok {
		t.Error("two tokens are equal")
	}
}

func TestKubeconfigParsesWithClientGo(t *testing.T) {
	p := mustPKI(t)
	kc, err := Kubeconfig("demo", "203.0.113.10", p)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load([]byte(kc))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.Host != "https://203.0.113.10:6443" {
		t.Errorf("host %q", rc.Host)
	}
	if string(rc.CAData) != p.ServerCA.CertPEM || string(rc.CertData) != p.Admin.CertPEM || string(rc.KeyData) != p.Admin.KeyPEM {
		t.Error("kubeconfig credentials do not match the PKI")
	}
	if got := ServerURL("2001:db8::1"); got != "https://[2001:db8::1]:6443" {
		t.Errorf("IPv6 server URL %q", got)
	}
}

// fakePKI has fixed placeholder PEM so golden files are stable.
func fakePKI() *PKI {
	kp := func(n string) KeyPair {
		return KeyPair{CertPEM: "-----BEGIN CERTIFICATE-----\n" + n + "-cert\n-----END CERTIFICATE-----\n",
			KeyPEM: "-----BEGIN EC PRIVATE KEY-----\n" + n + "-key\n-----END EC PRIVATE KEY-----\n"}
	}
	return &PKI{ServerCA: kp("server-ca"), ClientCA: kp("client-ca"), RequestHeaderCA: kp("request-header-ca"),
		EtcdPeerCA: kp("etcd-peer-ca"), EtcdServerCA: kp("etcd-server-ca"),
		ServiceAccountKeyPEM: "-----BEGIN EC PRIVATE KEY-----\nservice-key\n-----END EC PRIVATE KEY-----\n",
		Admin:                kp("admin")}
}

func TestCloudInitGolden(t *testing.T) {
	base := NodeConfig{K3sVersion: "v1.31.4+k3s1", Token: "K10abc::server:s3cret"}
	cases := map[string]NodeConfig{
		"first-server": func() NodeConfig {
			c := base
			c.Role, c.ClusterInit, c.NodeName, c.NodeIP, c.ExternalIP = RoleServer, true, "demo-cp-1", "10.0.1.2", "203.0.113.10"
			c.AgentToken = "K10abc::node:agents3cret"
			c.ExternalCloudProvider = true
			c.TLSSANs = []string{"api.demo.example.com", "203.0.113.100"}
			c.Labels = map[string]string{"zone": "fsn1", "platform.sre/pool": "control-plane"}
			c.Taints = []string{"node-role.kubernetes.io/control-plane=true:NoSchedule"}
			c.Disable = []string{"traefik", "servicelb"}
			c.FlannelIface = "enp7s0"
			c.EtcdSnapshotCron = "0 */6 * * *"
			c.PKI = fakePKI()
			return c
		}(),
		"joining-server": func() NodeConfig {
			c := base
			c.Role, c.ServerURL, c.NodeName, c.NodeIP = RoleServer, "https://10.0.1.2:6443", "demo-cp-2", "10.0.1.3"
			c.AgentToken = "K10abc::node:agents3cret"
			c.TLSSANs = []string{"api.demo.example.com"}
			c.PKI = fakePKI()
			return c
		}(),
		"agent": func() NodeConfig {
			c := base
			c.Role, c.ServerURL, c.NodeName, c.NodeIP = RoleAgent, "https://10.0.1.2:6443", "demo-workers-1", "10.0.1.10"
			c.Token = "K10abc::node:agents3cret"
			c.ExternalCloudProvider = true
			c.Labels = map[string]string{"pool": "workers"}
			c.Taints = []string{"dedicated=batch:NoExecute"}
			return c
		}(),
	}
	// Nodes created before agent tokens, the external cloud provider and the
	// metadata guard render exactly what they were created with (these two
	// golden files are the previous release's), so upgrading the provider
	// replaces no node.
	cases["legacy-first-server"] = func() NodeConfig {
		c := cases["first-server"]
		c.AgentToken, c.ExternalCloudProvider, c.WithoutMetadataGuard = "", false, true
		return c
	}()
	cases["legacy-agent"] = func() NodeConfig {
		c := cases["agent"]
		c.Token, c.ExternalCloudProvider, c.WithoutMetadataGuard = base.Token, false, true
		return c
	}()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := CloudInit(c)
			if err != nil {
				t.Fatal(err)
			}
			var parsed map[string]any
			if err := yaml.Unmarshal([]byte(got), &parsed); err != nil {
				t.Fatalf("cloud-init is not YAML: %v", err)
			}
			golden := filepath.Join("testdata", name+".cloud-init.golden")
			if *update && !strings.HasPrefix(name, "legacy-") {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run: go test ./provider/internal/k3s -update)", err)
			}
			if got != string(want) {
				t.Errorf("cloud-init differs from %s (rerun with -update after review):\n%s", golden, got)
			}
			again, _ := CloudInit(c)
			if again != got {
				t.Error("rendering is not deterministic")
			}
		})
	}
}

func TestCloudInitAgentCarriesNoKeys(t *testing.T) {
	c := NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "t", ServerURL: "https://10.0.0.2:6443", NodeName: "a"}
	out, err := CloudInit(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, TLSDir) {
		t.Error("agent cloud-init carries CA material")
	}
}

// An agent without a node name (the cluster autoscaler's shared cloud-init)
// sets neither the host name nor node-name: k3s takes the host name the
// machine was given. A server still needs one.
func TestCloudInitAgentWithoutNodeName(t *testing.T) {
	c := NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "K10abc::node:a", ServerURL: "https://10.0.0.2:6443",
		Labels: map[string]string{"pool": "burst"}, Taints: []string{"burst=true:NoSchedule"}}
	out, err := CloudInit(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hostname:") || strings.Contains(out, "node-name:") {
		t.Errorf("cloud-init names the node:\n%s", out)
	}
	for _, want := range []string{"server: https://10.0.0.2:6443", "token: K10abc::node:a", "- pool=burst", "- burst=true:NoSchedule"} {
		if !strings.Contains(out, want) {
			t.Errorf("cloud-init lacks %q", want)
		}
	}
	named := c
	named.NodeName = "a"
	withName, err := CloudInit(named)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(withName, "hostname: a\n") || !strings.Contains(withName, "node-name: a\n") {
		t.Error("a named agent lost its hostname or node-name")
	}
	srv := NodeConfig{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: "t", ClusterInit: true, PKI: fakePKI()}
	if err := srv.Validate(); err == nil || !strings.Contains(err.Error(), "node name is required") {
		t.Errorf("server without node name: err = %v", err)
	}
}

func TestNodeConfigValidation(t *testing.T) {
	ok := NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "t", ServerURL: "https://x:6443", NodeName: "a"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for name, mut := range map[string]func(*NodeConfig){
		"bad version":            func(c *NodeConfig) { c.K3sVersion = "1.31.4" },
		"no token":               func(c *NodeConfig) { c.Token = "" },
		"agent cluster-init":     func(c *NodeConfig) { c.ClusterInit = true; c.ServerURL = "" },
		"joining without url":    func(c *NodeConfig) { c.ServerURL = "" },
		"bad taint":              func(c *NodeConfig) { c.Taints = []string{"oops"} },
		"agent with keys":        func(c *NodeConfig) { c.PKI = fakePKI() },
		"server without pki":     func(c *NodeConfig) { c.Role = RoleServer },
		"unknown role":           func(c *NodeConfig) { c.Role = "worker" },
		"init with server url":   func(c *NodeConfig) { c.Role = RoleServer; c.PKI = fakePKI(); c.ClusterInit = true },
		"agent with agent-token": func(c *NodeConfig) { c.AgentToken = "K10abc::node:x" },
		"server agent token is the server token": func(c *NodeConfig) {
			c.Role, c.PKI, c.Token, c.AgentToken = RoleServer, fakePKI(), "K10abc::server:x", "K10abc::server:x"
		},
		"server agent token of the server user": func(c *NodeConfig) {
			c.Role, c.PKI, c.Token, c.AgentToken = RoleServer, fakePKI(), "K10abc::server:x", "K10abc::server:y"
		},
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, v := range []string{"v1.31.4+k3s1", "v1.34.2+k3s12"} {
		if !ValidVersion(v) {
			t.Errorf("%s rejected", v)
		}
	}
	for _, v := range []string{"v1.31.4", "1.31.4+k3s1", "v1.31+k3s1", "latest"} {
		if ValidVersion(v) {
			t.Errorf("%s accepted", v)
		}
	}
}

// k3sConfigOf returns the k3s config a cloud-init writes, and the commands it runs.
func k3sConfigOf(t *testing.T, userData string) (map[string]any, [][]string, map[string]string) {
	t.Helper()
	var cc struct {
		WriteFiles []struct{ Path, Content, Permissions string } `yaml:"write_files"`
		RunCmd     [][]string                                    `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(userData), &cc); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range cc.WriteFiles {
		files[f.Path] = f.Content
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(files[ConfigPath]), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg, cc.RunCmd, files
}

// A cluster's real tokens and PKI: the agent's user data carries the agent
// token only, never the server token's secret or any private key; servers
// carry both tokens.
func TestAgentUserDataHoldsNoServerSecrets(t *testing.T) {
	p := mustPKI(t)
	serverTok, _ := NewToken(p.ServerCA.CertPEM)
	agentTok, _ := NewAgentToken(p.ServerCA.CertPEM)
	server, err := CloudInit(NodeConfig{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: serverTok, AgentToken: agentTok,
		ClusterInit: true, NodeName: "demo-cp-1", PKI: p})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := CloudInit(NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: agentTok,
		ServerURL: "https://10.0.1.2:6443", NodeName: "demo-w-1"})
	if err != nil {
		t.Fatal(err)
	}
	scfg, _, _ := k3sConfigOf(t, server)
	if scfg["token"] != serverTok || scfg["agent-token"] != agentTok {
		t.Errorf("server config token=%v agent-token=%v, want the server and the agent token", scfg["token"], scfg["agent-token"])
	}
	acfg, _, _ := k3sConfigOf(t, agent)
	if acfg["token"] != agentTok || acfg["agent-token"] != nil {
		t.Errorf("agent config token=%v agent-token=%v, want only token = the agent token", acfg["token"], acfg["agent-token"])
	}
	serverSecret := serverTok[strings.LastIndex(serverTok, ":")+1:]
	if strings.Contains(agent, serverSecret) || strings.Contains(agent, "::server:") {
		t.Error("agent user data carries the server token")
	}
	if strings.Contains(agent, "PRIVATE KEY") || strings.Contains(agent, TLSDir) {
		t.Error("agent user data carries CA material")
	}
	for _, kp := range []KeyPair{p.ServerCA, p.ClientCA, p.RequestHeaderCA, p.EtcdPeerCA, p.EtcdServerCA} {
		body := strings.Split(kp.KeyPEM, "\n")[1]
		if strings.Contains(agent, body) {
			t.Error("agent user data carries a CA key")
		}
	}
}

func TestExternalCloudProviderConfig(t *testing.T) {
	srv := NodeConfig{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: "K10abc::server:s", AgentToken: "K10abc::node:a",
		ClusterInit: true, NodeName: "s", PKI: fakePKI(), Disable: []string{"traefik"}}
	agt := NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "K10abc::node:a", ServerURL: "https://10.0.0.2:6443", NodeName: "a"}

	// Off (the default): k3s keeps its own cloud controller and ServiceLB.
	for _, c := range []NodeConfig{srv, agt} {
		out, err := CloudInit(c)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, _ := k3sConfigOf(t, out)
		for _, k := range []string{"disable-cloud-controller", "kubelet-arg"} {
			if _, ok := cfg[k]; ok {
				t.Errorf("%s: %s set without ExternalCloudProvider", c.Role, k)
			}
		}
	}

	srv.ExternalCloudProvider, agt.ExternalCloudProvider = true, true
	out, err := CloudInit(srv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := k3sConfigOf(t, out)
	if cfg["disable-cloud-controller"] != true {
		t.Errorf("server disable-cloud-controller = %v, want true", cfg["disable-cloud-controller"])
	}
	if got := fmt.Sprint(cfg["disable"]); got != "[traefik servicelb]" {
		t.Errorf("server disable = %s, want [traefik servicelb]", got)
	}
	if got := fmt.Sprint(cfg["kubelet-arg"]); got != "[cloud-provider=external]" {
		t.Errorf("server kubelet-arg = %s", got)
	}
	// servicelb already listed: not twice; the caller's slice is not modified.
	srv.Disable = []string{"servicelb", "traefik"}
	out, _ = CloudInit(srv)
	if cfg, _, _ = k3sConfigOf(t, out); fmt.Sprint(cfg["disable"]) != "[servicelb traefik]" {
		t.Errorf("disable = %v, want servicelb once", cfg["disable"])
	}

	out, err = CloudInit(agt)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _ = k3sConfigOf(t, out)
	if got := fmt.Sprint(cfg["kubelet-arg"]); got != "[cloud-provider=external]" {
		t.Errorf("agent kubelet-arg = %s", got)
	}
	if _, ok := cfg["disable-cloud-controller"]; ok {
		t.Error("agent config has the server-only disable-cloud-controller")
	}
}

// The metadata guard is written on every node, runs before the k3s install,
// and k3s' unit requires it, so k3s never runs without it (also after a
// reboot).
func TestMetadataGuardRunsBeforeK3s(t *testing.T) {
	for _, c := range []NodeConfig{
		{Role: RoleServer, K3sVersion: "v1.31.4+k3s1", Token: "t", ClusterInit: true, NodeName: "s", PKI: fakePKI()},
		{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "t", ServerURL: "https://10.0.0.2:6443", NodeName: "a"},
	} {
		out, err := CloudInit(c)
		if err != nil {
			t.Fatal(err)
		}
		_, runcmd, files := k3sConfigOf(t, out)
		want := [][]string{{"sh", GuardPath}, {"sh", InstallPath}}
		if fmt.Sprint(runcmd) != fmt.Sprint(want) {
			t.Errorf("%s: runcmd %v, want the guard, then the install: %v", c.Role, runcmd, want)
		}
		if files[GuardPath] != guardScript || !strings.Contains(files[GuardUnitPath], "Before=k3s.service") ||
			!strings.Contains(files[GuardUnitPath], "ExecStart=/bin/sh "+GuardPath) {
			t.Errorf("%s: guard script or unit missing", c.Role)
		}
		install := files[InstallPath]
		if !strings.Contains(install, "Requires=k3s-metadata-guard.service") || !strings.Contains(install, "After=network-online.target k3s-metadata-guard.service") {
			t.Errorf("%s: the k3s unit does not require the guard", c.Role)
		}
		if g, k := strings.Index(install, "enable --now k3s-metadata-guard.service"), strings.Index(install, "enable --now k3s.service"); g < 0 || g > k {
			t.Errorf("%s: the guard unit is not enabled before k3s", c.Role)
		}
	}
}

// The guard script itself, run with stand-ins for iptables and nft: it adds
// one raw PREROUTING DROP for the metadata address (once), falls back to nft,
// and fails without either.
func TestMetadataGuardScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh is not on PATH (Debian: apt-get install dash): %v", err)
	}
	script := filepath.Join(t.TempDir(), "guard")
	if err := os.WriteFile(script, []byte(guardScript), 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(tools map[string]string) (string, error) {
		bin := t.TempDir()
		log := filepath.Join(bin, "calls")
		for name, body := range tools {
			stub := "#!" + sh + "\necho \"" + name + " $*\" >>" + log + "\n" + body + "\n"
			if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(sh, script)
		cmd.Env = []string{"PATH=" + bin}
		out, err := cmd.CombinedOutput()
		calls, _ := os.ReadFile(log)
		return string(calls) + string(out), err
	}

	// iptables without the rule (-C fails): checked, then inserted first.
	got, err := run(map[string]string{"iptables": `case "$*" in *-C*) exit 1 ;; esac`})
	want := "iptables -t raw -C PREROUTING -d 169.254.169.254/32 -j DROP\niptables -t raw -I PREROUTING 1 -d 169.254.169.254/32 -j DROP\n"
	if err != nil || got != want {
		t.Errorf("first run: %v\n%s\nwant\n%s", err, got, want)
	}
	// The rule is there: nothing is added (a reboot or a second run).
	got, err = run(map[string]string{"iptables": "exit 0"})
	if err != nil || got != "iptables -t raw -C PREROUTING -d 169.254.169.254/32 -j DROP\n" {
		t.Errorf("second run: %v\n%s", err, got)
	}
	// nft only: a table of its own, read from stdin.
	got, err = run(map[string]string{"nft": `case "$*" in list*) exit 1 ;; *) while IFS= read -r l; do echo "$l"; done ;; esac`})
	if err != nil || !strings.Contains(got, "nft -f -") || !strings.Contains(got, "hook prerouting priority -300") ||
		!strings.Contains(got, "ip daddr 169.254.169.254 drop") {
		t.Errorf("nft run: %v\n%s", err, got)
	}
	// Neither: the guard fails, so the unit that requires it keeps k3s stopped.
	got, err = run(nil)
	if err == nil || !strings.Contains(got, "neither iptables nor nft") {
		t.Errorf("without a firewall tool: err=%v\n%s", err, got)
	}
}

func TestBundleAgentToken(t *testing.T) {
	p := mustPKI(t)
	tok, _ := NewToken(p.ServerCA.CertPEM)
	agent, _ := NewAgentToken(p.ServerCA.CertPEM)
	enc, _ := NewBundle("demo", tok, agent, p).Encode()
	b, err := DecodeBundle(enc)
	if err != nil || b.AgentToken != agent || b.Token != tok {
		t.Fatalf("round trip: %v", err)
	}
	// A bundle of a cluster from before agent tokens still decodes.
	legacy, _ := NewBundle("demo", tok, "", p).Encode()
	if strings.Contains(legacy, "agent_token") {
		t.Error("a bundle without an agent token names one")
	}
	if b, err := DecodeBundle(legacy); err != nil || b.AgentToken != "" {
		t.Errorf("legacy bundle: %v", err)
	}
	bad, _ := NewBundle("demo", tok, tok, p).Encode()
	if _, err := DecodeBundle(bad); err == nil {
		t.Error("a bundle whose agent token is the server token decodes")
	}
}
