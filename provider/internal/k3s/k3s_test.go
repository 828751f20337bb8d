package k3s

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
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
			c.TLSSANs = []string{"api.demo.example.com"}
			c.PKI = fakePKI()
			return c
		}(),
		"agent": func() NodeConfig {
			c := base
			c.Role, c.ServerURL, c.NodeName, c.NodeIP = RoleAgent, "https://10.0.1.2:6443", "demo-workers-1", "10.0.1.10"
			c.Labels = map[string]string{"pool": "workers"}
			c.Taints = []string{"dedicated=batch:NoExecute"}
			return c
		}(),
	}
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
			if *update {
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

func TestNodeConfigValidation(t *testing.T) {
	ok := NodeConfig{Role: RoleAgent, K3sVersion: "v1.31.4+k3s1", Token: "t", ServerURL: "https://x:6443", NodeName: "a"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for name, mut := range map[string]func(*NodeConfig){
		"bad version":          func(c *NodeConfig) { c.K3sVersion = "1.31.4" },
		"no token":             func(c *NodeConfig) { c.Token = "" },
		"agent cluster-init":   func(c *NodeConfig) { c.ClusterInit = true; c.ServerURL = "" },
		"joining without url":  func(c *NodeConfig) { c.ServerURL = "" },
		"bad taint":            func(c *NodeConfig) { c.Taints = []string{"oops"} },
		"agent with keys":      func(c *NodeConfig) { c.PKI = fakePKI() },
		"server without pki":   func(c *NodeConfig) { c.Role = RoleServer },
		"unknown role":         func(c *NodeConfig) { c.Role = "worker" },
		"init with server url": func(c *NodeConfig) { c.Role = RoleServer; c.PKI = fakePKI(); c.ClusterInit = true },
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
