package acctest

// A real etcd + kube-apiserver per test, for the resources that talk to a
// cluster through a kubeconfig (platform_flux_instance,
// platform_cluster_secret).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sre-platform/platform/test/testenv"
)

// ControlPlane is a real etcd + kube-apiserver on loopback with a token
// admin, for the acceptance tests. No controller-manager runs: nothing
// schedules pods, and namespaces stay Terminating once deleted.
type ControlPlane struct {
	Kubeconfig     string // YAML
	KubeconfigPath string
	Dyn            dynamic.Interface
	StartedIn      time.Duration
	procs          []*child // kube-apiserver, etcd
}

// Stop stops the API server and etcd now (a cluster that went away); the
// kubeconfig then points at a closed port.
func (cp *ControlPlane) Stop(t *testing.T) {
	t.Helper()
	for _, c := range cp.procs {
		c.stop(t)
	}
}

// kubeBinDir finds kube-apiserver and etcd: KUBEBUILDER_ASSETS, else the
// newest build under .cache/kube/<version>/.
func kubeBinDir() (string, bool) {
	has := func(d string) bool {
		for _, b := range []string{"kube-apiserver", "etcd"} {
			st, err := os.Stat(filepath.Join(d, b))
			if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" && has(d) {
		return d, true
	}
	dirs, _ := filepath.Glob(filepath.Join(testenv.CacheDir(), "kube", "v*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if has(d) {
			return d, true
		}
	}
	return "", false
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// servingPKI writes a CA and a 127.0.0.1 serving certificate, and a service
// account key; returns the CA PEM.
func servingPKI(t *testing.T, dir string) []byte {
	t.Helper()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acctest-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER)
	writePEM(t, filepath.Join(dir, "serving.crt"), "CERTIFICATE", der)
	kb, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, filepath.Join(dir, "serving.key"), "EC PRIVATE KEY", kb)
	saKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sb, _ := x509.MarshalECPrivateKey(saKey)
	writePEM(t, filepath.Join(dir, "sa.key"), "EC PRIVATE KEY", sb)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// child is a started process with a bounded stop.
type child struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

func start(t *testing.T, name, bin string, args []string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	// Own process group, and killed with the test binary if it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), logPath: logf.Name()}
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(c.done) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop sends SIGTERM and escalates to SIGKILL after 5 s (the apiserver can
// hang on shutdown with clients connected).
func (c *child) stop(t *testing.T) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
	if t.Failed() {
		if b, err := os.ReadFile(c.logPath); err == nil {
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log (tail):\n%s", c.name, b)
		}
	}
}

// StartControlPlane starts etcd and kube-apiserver for one test and stops
// them in t.Cleanup. Without the binaries it skips (fails under
// PLATFORM_TEST_STRICT=1) naming `go tool task kube:build`.
func StartControlPlane(t *testing.T) *ControlPlane {
	t.Helper()
	bin, ok := kubeBinDir()
	testenv.Require(t, ok, "kube-apiserver and etcd under .cache/kube", "go tool task kube:build")
	began := time.Now()
	dir := t.TempDir()
	caPEM := servingPKI(t, dir)
	tokenBytes := make([]byte, 16)
	_, _ = rand.Read(tokenBytes)
	token := hex.EncodeToString(tokenBytes)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	etcdClient, etcdPeer, apiPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	client := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	etcd := start(t, "etcd", filepath.Join(bin, "etcd"), []string{
		"--name=default", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer, "--log-level=warn",
		"--unsafe-no-fsync", "--quota-backend-bytes=" + strconv.Itoa(256<<20),
	}, "GOMEMLIMIT=150MiB")
	api := start(t, "kube-apiserver", filepath.Join(bin, "kube-apiserver"), []string{
		"--advertise-address=127.0.0.1", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
		"--etcd-servers=" + client,
		"--tls-cert-file=" + filepath.Join(dir, "serving.crt"), "--tls-private-key-file=" + filepath.Join(dir, "serving.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--service-account-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
		"--anonymous-auth=false", "--profiling=false", "--watch-cache=false",
		"--cert-dir=" + filepath.Join(dir, "certs"), "--v=0",
	}, "GOMEMLIMIT=400MiB")

	// Ready: /readyz answers 200 with the admin token.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", apiPort)
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-etcd.done:
			t.Fatal("etcd exited during startup")
		case <-api.done:
			t.Fatal("kube-apiserver exited during startup")
		default:
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready after 90s (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	hc.CloseIdleConnections()

	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: acc
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: acc
  context: {cluster: acc, user: admin}
current-context: acc
`, apiPort, b64(caPEM), token)
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kc))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Kubeconfig: kc, KubeconfigPath: kcPath, Dyn: dyn, StartedIn: time.Since(began), procs: []*child{api, etcd}}
	t.Logf("control plane ready in %s", cp.StartedIn.Round(time.Millisecond))
	return cp
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
