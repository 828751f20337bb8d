// Command sandbox-up creates a one-server k3s cluster in a running sandbox
// through the Hetzner API (hcloud-go), the way the Terraform provider does:
// it generates the cluster PKI and token, renders the k3s cloud-init,
// creates the server, waits for its Node to be Ready and writes an admin
// kubeconfig. Run again, it reuses the cluster (the PKI is kept in --dir).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/sre-platform/platform/test/sandbox"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func main() {
	var (
		endpoint = flag.String("endpoint", "http://127.0.0.1:8480/v1", "Hetzner API endpoint of the sandbox")
		tokenEnv = flag.String("token-env", "HCLOUD_TOKEN", "environment variable holding the API token")
		dir      = flag.String("dir", ".cache/sandbox", "where the cluster PKI and the kubeconfig are kept")
		name     = flag.String("name", "sandbox-cp-1", "server (and node) name")
		timeout  = flag.Duration("timeout", 5*time.Minute, "overall timeout")
	)
	flag.Parse()
	log.SetFlags(0)
	token := os.Getenv(*tokenEnv)
	if token == "" {
		log.Fatalf("sandbox-up: $%s is empty", *tokenEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *endpoint, token, *dir, *name); err != nil {
		log.Fatalf("sandbox-up: %v", err)
	}
}

func run(ctx context.Context, endpoint, token, dir, name string) error {
	hc := hcloud.NewClient(hcloud.WithEndpoint(endpoint), hcloud.WithToken(token),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(250 * time.Millisecond)}))
	pkiDir := filepath.Join(dir, "pki")
	srv, _, err := hc.Server.GetByName(ctx, name)
	if err != nil {
		return fmt.Errorf("looking up server %s: %w", name, err)
	}
	pki, secret, err := loadPKI(pkiDir)
	if srv != nil && err != nil {
		return fmt.Errorf("server %s exists but its PKI in %s is unreadable (%v): run `go tool task down` first", name, pkiDir, err)
	}
	if srv == nil {
		if pki, secret, err = newPKI(pkiDir); err != nil {
			return err
		}
		ud, err := sandbox.RenderCloudInit(sandbox.CloudInitSpec{Hostname: name, PKI: pki, Config: map[string]any{
			"token": sandbox.FullToken(pki.ServerCA.CertPEM, secret), "cluster-init": true, "node-name": name,
			"tls-san": []string{"kubernetes.sandbox.internal"}, "node-label": []string{"platform.sre/pool=control-plane"},
			"disable": []string{"traefik", "servicelb"},
		}})
		if err != nil {
			return err
		}
		start := time.Now()
		res, _, err := hc.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: "cx22"},
			Image: &hcloud.Image{Name: "ubuntu-24.04"}, Location: &hcloud.Location{Name: "fsn1"}, UserData: ud,
			Labels: map[string]string{"platform.sre/cluster": "sandbox", "platform.sre/role": "server"}})
		if err != nil {
			return fmt.Errorf("create server: %w", err)
		}
		if err := hc.Action.WaitFor(ctx, res.Action); err != nil {
			return fmt.Errorf("create server: %w", err)
		}
		fmt.Printf("server %s created in %s\n", name, time.Since(start).Round(time.Millisecond))
		if srv, _, err = hc.Server.GetByID(ctx, res.Server.ID); err != nil {
			return err
		}
	}
	url := "https://" + srv.PublicNet.IPv4.IP.String() + ":6443"
	kubeconfig, err := writeKubeconfig(filepath.Join(dir, "kubeconfig"), url, pki)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	var last error
	for {
		n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil && ready(n) {
			break
		}
		if err == nil {
			err = errors.New("node not Ready yet")
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for node %s Ready at %s: %v", name, url, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("node %s Ready (waited %s)\n", name, time.Since(start).Round(time.Millisecond))
	fmt.Printf("kubeconfig: %s\n", kubeconfig)
	if k, err := exec.LookPath("kubectl"); err == nil {
		cmd := exec.CommandContext(ctx, k, "--kubeconfig", kubeconfig, "get", "nodes", "-o", "wide")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("%-24s %-8s %s\n", "NAME", "STATUS", "VERSION")
	for i := range nodes.Items {
		st := "NotReady"
		if ready(&nodes.Items[i]) {
			st = "Ready"
		}
		fmt.Printf("%-24s %-8s %s\n", nodes.Items[i].Name, st, nodes.Items[i].Status.NodeInfo.KubeletVersion)
	}
	return nil
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// newPKI generates the cluster CAs and token secret and keeps them (0600).
func newPKI(dir string) (*sandbox.ClusterPKI, string, error) {
	pki, err := sandbox.GenerateClusterPKI()
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	secret := hex.EncodeToString(b)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	files := map[string][]byte{"token-secret": []byte(secret)}
	for p, content := range pki.Files() {
		files[filepath.Base(filepath.Dir(p))+"_"+filepath.Base(p)] = content
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), content, 0o600); err != nil {
			return nil, "", err
		}
	}
	return pki, secret, nil
}

func loadPKI(dir string) (*sandbox.ClusterPKI, string, error) {
	secret, err := os.ReadFile(filepath.Join(dir, "token-secret"))
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	for _, e := range entries {
		parent, base, ok := cutLast(e.Name())
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, "", err
		}
		p := sandbox.K3sServerTLSDir + "/" + base
		if parent == "etcd" {
			p = sandbox.K3sServerTLSDir + "/etcd/" + base
		}
		files[p] = b
	}
	pki, err := sandbox.LoadClusterPKI(files)
	if err != nil {
		return nil, "", err
	}
	if pki == nil {
		return nil, "", errors.New("no CA files")
	}
	return pki, string(secret), nil
}

func cutLast(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// writeKubeconfig writes an admin kubeconfig (client certificate from the
// client CA with O=system:masters, as the provider renders it), mode 0600.
func writeKubeconfig(path, url string, pki *sandbox.ClusterPKI) (string, error) {
	crt, key, err := pki.ClientCA.Issue(sandbox.CertSpec{CommonName: "platform-admin", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["sandbox"] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: pki.ServerCA.CertPEM}
	cfg.AuthInfos["sandbox-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts["sandbox"] = &clientcmdapi.Context{Cluster: "sandbox", AuthInfo: "sandbox-admin"}
	cfg.CurrentContext = "sandbox"
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if err := clientcmd.WriteToFile(*cfg, abs); err != nil {
		return "", err
	}
	return abs, os.Chmod(abs, 0o600)
}
