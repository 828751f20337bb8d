package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ControlPlaneOptions tune the processes of one cluster's control plane.
type ControlPlaneOptions struct {
	// BinDir holds kube-apiserver and etcd (and, with Controllers,
	// kube-controller-manager and kube-scheduler).
	BinDir string
	// Controllers starts kube-controller-manager and kube-scheduler next to
	// the apiserver, as k3s does (the sandbox sets it; a bare API server
	// for tests leaves it off).
	Controllers bool
	// NodeMonitorGrace is the controller manager's
	// --node-monitor-grace-period (default 40 s).
	NodeMonitorGrace time.Duration
	// ControllerManagerMemLimit and SchedulerMemLimit are their GOMEMLIMIT
	// (defaults 150MiB and 80MiB).
	ControllerManagerMemLimit string
	SchedulerMemLimit         string
	// APIServerMemLimit and EtcdMemLimit become GOMEMLIMIT of the children
	// (soft limits that make the Go runtime collect earlier). Defaults
	// 400MiB and 150MiB.
	APIServerMemLimit string
	EtcdMemLimit      string
	// EtcdQuotaBytes is etcd's --quota-backend-bytes (default 256 MiB).
	EtcdQuotaBytes int64
	// ReadyTimeout bounds the wait for /readyz (default 120 s).
	ReadyTimeout time.Duration
	// StopGrace is the SIGTERM → SIGKILL escalation timeout (default 10 s).
	StopGrace time.Duration
	// ExtraAPIServerArgs are appended to the kube-apiserver command line.
	ExtraAPIServerArgs []string
}

func (o *ControlPlaneOptions) defaults() {
	if o.APIServerMemLimit == "" {
		o.APIServerMemLimit = "400MiB"
	}
	if o.EtcdMemLimit == "" {
		o.EtcdMemLimit = "150MiB"
	}
	if o.NodeMonitorGrace <= 0 {
		o.NodeMonitorGrace = 40 * time.Second
	}
	if o.ControllerManagerMemLimit == "" {
		o.ControllerManagerMemLimit = "150MiB"
	}
	if o.SchedulerMemLimit == "" {
		o.SchedulerMemLimit = "80MiB"
	}
	if o.EtcdQuotaBytes == 0 {
		o.EtcdQuotaBytes = 256 << 20
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 120 * time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = 10 * time.Second
	}
}

// ControlPlane is one cluster's etcd and kube-apiserver, started with the
// cluster's own CA files. Its data lives under Dir (etcd/ persists across
// restarts).
type ControlPlane struct {
	Dir  string
	PKI  *ClusterPKI
	Opts ControlPlaneOptions

	// ServiceIP is the kubernetes Service ClusterIP (10.43.0.1).
	ServiceIP   net.IP
	ServiceCIDR string
	// ClusterCIDR is the pod network the controller manager splits into a
	// /24 per node (default 10.42.0.0/16).
	ClusterCIDR string
	// Advertise is the apiserver's --advertise-address (the kubernetes
	// Service's endpoint); default: the address it binds.
	Advertise string

	etcd, api  *proc
	kcm, sched *proc
	host       string // IP the apiserver binds
	ports      cpPorts
	sans       sanSet
	egress     *clusterEgress // the apiserver's "cluster" egress proxy
	nodes      nodeNetns      // where the proxy dials nodes from
}

type cpPorts struct {
	EtcdClient int `json:"etcd_client"`
	EtcdPeer   int `json:"etcd_peer"`
}

// sanSet is the serving certificate's subject alternative names.
type sanSet struct {
	IPs []string
	DNS []string
}

func (s sanSet) key() string { b, _ := json.Marshal(s); return string(b) }

// NewControlPlane prepares (does not start) a control plane under dir.
func NewControlPlane(dir string, pki *ClusterPKI, serviceCIDR string, opts ControlPlaneOptions) (*ControlPlane, error) {
	opts.defaults()
	if serviceCIDR == "" {
		serviceCIDR = "10.43.0.0/16"
	}
	kc := &K3sConfig{ServiceCIDR: serviceCIDR}
	sip, err := kc.APIServiceIP()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		return nil, err
	}
	return &ControlPlane{Dir: dir, PKI: pki, Opts: opts, ServiceIP: net.IP(sip.AsSlice()), ServiceCIDR: serviceCIDR,
		ClusterCIDR: "10.42.0.0/16"}, nil
}

// Host is the IP the apiserver listens on ("" when stopped).
func (cp *ControlPlane) Host() string { return cp.host }

// URL is the apiserver endpoint.
func (cp *ControlPlane) URL() string { return "https://" + net.JoinHostPort(cp.host, "6443") }

// Running reports whether etcd and the apiserver are up.
func (cp *ControlPlane) Running() bool {
	return cp.api != nil && !cp.api.exited() && cp.etcd != nil && !cp.etcd.exited()
}

// RSS is the resident memory of apiserver and etcd in bytes.
func (cp *ControlPlane) RSS() (api, etcd int64) { return cp.api.rss(), cp.etcd.rss() }

// ControllersRSS is the resident memory of kube-controller-manager and
// kube-scheduler in bytes (0 when not running).
func (cp *ControlPlane) ControllersRSS() (kcm, sched int64) { return cp.kcm.rss(), cp.sched.rss() }

// PIDs of the running children.
func (cp *ControlPlane) PIDs() []int {
	var out []int
	for _, p := range []*proc{cp.etcd, cp.api, cp.kcm, cp.sched} {
		if p != nil && !p.exited() {
			out = append(out, p.pid())
		}
	}
	return out
}

// servingSANs is what k3s puts in its serving certificate: tls-san entries,
// node addresses, loopback, the kubernetes Service names and its ClusterIP.
func servingSANs(hosts []string, serviceIP net.IP, clusterDomain string) sanSet {
	if clusterDomain == "" {
		clusterDomain = "cluster.local"
	}
	ips := map[string]bool{"127.0.0.1": true, "::1": true, serviceIP.String(): true}
	dns := map[string]bool{"localhost": true, "kubernetes": true, "kubernetes.default": true,
		"kubernetes.default.svc": true, "kubernetes.default.svc." + clusterDomain: true}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			ips[ip.String()] = true
		} else {
			dns[h] = true
		}
	}
	var s sanSet
	for ip := range ips {
		s.IPs = append(s.IPs, ip)
	}
	for d := range dns {
		s.DNS = append(s.DNS, d)
	}
	sort.Strings(s.IPs)
	sort.Strings(s.DNS)
	return s
}

// SetSANs (re)writes the serving certificate for the given names. A running
// apiserver picks the new files up by itself (dynamic serving certificates).
func (cp *ControlPlane) SetSANs(s sanSet) error {
	if s.key() == cp.sans.key() && fileExists(cp.tls("serving-kube-apiserver.crt")) {
		return nil
	}
	var ips []net.IP
	for _, ip := range s.IPs {
		ips = append(ips, net.ParseIP(ip))
	}
	crt, key, err := cp.PKI.ServerCA.Issue(CertSpec{CommonName: "kube-apiserver", DNSNames: s.DNS, IPs: ips, Server: true})
	if err != nil {
		return err
	}
	// Key first, then the certificate: the apiserver reloads on the
	// certificate change and finds a matching key.
	if err := writeFileAtomic(cp.tls("serving-kube-apiserver.key"), key, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(cp.tls("serving-kube-apiserver.crt"), crt, 0o600); err != nil {
		return err
	}
	cp.sans = s
	return nil
}

// HasSAN reports whether the current serving certificate covers ip.
func (cp *ControlPlane) HasSAN(ip string) bool {
	for _, x := range cp.sans.IPs {
		if x == ip {
			return true
		}
	}
	return false
}

func (cp *ControlPlane) tls(name string) string { return filepath.Join(cp.Dir, "tls", name) }

func (cp *ControlPlane) writeStaticFiles() error {
	files := map[string][]byte{
		"client-ca.crt":         cp.PKI.ClientCA.CertPEM,
		"server-ca.crt":         cp.PKI.ServerCA.CertPEM,
		"request-header-ca.crt": cp.PKI.RequestHeaderCA.CertPEM,
		"service.key":           cp.PKI.ServiceKeyPEM,
	}
	crt, key, err := cp.PKI.RequestHeaderCA.Issue(CertSpec{CommonName: "system:auth-proxy", Client: true})
	if err != nil {
		return err
	}
	files["client-auth-proxy.crt"], files["client-auth-proxy.key"] = crt, key
	// The apiserver's client certificate towards kubelets (logs, exec,
	// port-forward), as k3s' client-kube-apiserver.crt.
	crt, key, err = cp.PKI.ClientCA.Issue(CertSpec{CommonName: "system:apiserver", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return err
	}
	files["client-kube-apiserver.crt"], files["client-kube-apiserver.key"] = crt, key
	for name, b := range files {
		if err := writeFileAtomic(cp.tls(name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Start starts etcd (if needed) and kube-apiserver bound to host:6443, and
// waits until /readyz answers.
func (cp *ControlPlane) Start(ctx context.Context, host string, sans sanSet) error {
	if err := cp.writeStaticFiles(); err != nil {
		return err
	}
	if err := cp.SetSANs(sans); err != nil {
		return err
	}
	if cp.etcd == nil || cp.etcd.exited() {
		if err := cp.startEtcd(ctx); err != nil {
			return err
		}
	}
	if cp.api != nil && !cp.api.exited() {
		if cp.host == host {
			return nil
		}
		cp.stopControllers()
		cp.api.stop(cp.Opts.StopGrace)
	}
	egress, err := cp.startEgress()
	if err != nil {
		return err
	}
	cp.host = host
	advertise := host
	if cp.Advertise != "" {
		advertise = cp.Advertise
	}
	args := []string{
		"--advertise-address=" + advertise,
		"--bind-address=" + host,
		"--secure-port=6443",
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(cp.ports.EtcdClient),
		"--storage-backend=etcd3",
		"--tls-cert-file=" + cp.tls("serving-kube-apiserver.crt"),
		"--tls-private-key-file=" + cp.tls("serving-kube-apiserver.key"),
		"--client-ca-file=" + cp.tls("client-ca.crt"),
		"--requestheader-client-ca-file=" + cp.tls("request-header-ca.crt"),
		"--requestheader-allowed-names=system:auth-proxy",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + cp.tls("client-auth-proxy.crt"),
		"--proxy-client-key-file=" + cp.tls("client-auth-proxy.key"),
		"--service-account-key-file=" + cp.tls("service.key"),
		"--service-account-signing-key-file=" + cp.tls("service.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local,k3s",
		"--service-cluster-ip-range=" + cp.ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--anonymous-auth=false",
		"--allow-privileged=true",
		"--profiling=false",
		"--cert-dir=" + filepath.Join(cp.Dir, "tls", "apiserver"),
		"--event-ttl=1h",
		// Kubelets, as on k3s: by InternalIP, with the apiserver's client
		// certificate, through the egress proxy (kubeletproxy.go).
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		"--kubelet-client-certificate=" + cp.tls("client-kube-apiserver.crt"),
		"--kubelet-client-key=" + cp.tls("client-kube-apiserver.key"),
		"--egress-selector-config-file=" + egress,
		// Memory: the sandbox serves few clients.
		"--watch-cache=false",
		"--max-requests-inflight=100",
		"--max-mutating-requests-inflight=50",
		"--v=0",
	}
	args = append(args, cp.Opts.ExtraAPIServerArgs...)
	api, err := startProc("kube-apiserver", filepath.Join(cp.Opts.BinDir, "kube-apiserver"), args,
		[]string{"GOMEMLIMIT=" + cp.Opts.APIServerMemLimit}, filepath.Join(cp.Dir, "kube-apiserver.log"))
	if err != nil {
		return err
	}
	cp.api = api
	if err := cp.waitReady(ctx); err != nil {
		return err
	}
	if cp.Opts.Controllers {
		return cp.startControllers()
	}
	return nil
}

func (cp *ControlPlane) startEtcd(ctx context.Context) error {
	dataDir := filepath.Join(cp.Dir, "etcd")
	portsFile := filepath.Join(cp.Dir, "ports.json")
	if b, err := os.ReadFile(portsFile); err == nil {
		_ = json.Unmarshal(b, &cp.ports)
	}
	for _, p := range []*int{&cp.ports.EtcdClient, &cp.ports.EtcdPeer} {
		if *p == 0 || !portFree(*p) {
			port, err := freePort()
			if err != nil {
				return err
			}
			*p = port
		}
	}
	b, _ := json.Marshal(cp.ports)
	if err := writeFileAtomic(portsFile, b, 0o600); err != nil {
		return err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(cp.ports.EtcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(cp.ports.EtcdPeer)
	args := []string{
		"--name=default",
		"--data-dir=" + dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		"--quota-backend-bytes=" + strconv.FormatInt(cp.Opts.EtcdQuotaBytes, 10),
		"--snapshot-count=10000",
		"--auto-compaction-mode=periodic",
		"--auto-compaction-retention=30m",
		"--log-level=warn",
	}
	etcd, err := startProc("etcd", filepath.Join(cp.Opts.BinDir, "etcd"), args,
		[]string{"GOMEMLIMIT=" + cp.Opts.EtcdMemLimit}, filepath.Join(cp.Dir, "etcd.log"))
	if err != nil {
		return err
	}
	cp.etcd = etcd
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if etcd.exited() {
			return fmt.Errorf("%w\n%s", etcd.exitError(), etcd.logTail(15))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd not healthy after 60s\n%s", etcd.logTail(15))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (cp *ControlPlane) waitReady(ctx context.Context) error {
	hc, err := cp.adminHTTPClient()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(cp.Opts.ReadyTimeout)
	var last string
	for {
		resp, err := hc.Get(cp.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if cp.api.exited() {
			return fmt.Errorf("%w\n%s", cp.api.exitError(), cp.api.logTail(20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after %s (%s)", cp.Opts.ReadyTimeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// StopAPIServer stops kube-apiserver and the controllers (etcd keeps
// running).
func (cp *ControlPlane) StopAPIServer() {
	cp.stopControllers()
	cp.api.stop(cp.Opts.StopGrace)
	cp.api, cp.host = nil, ""
}

// Stop stops kube-apiserver, then etcd. Data stays on disk.
func (cp *ControlPlane) Stop() {
	cp.StopAPIServer()
	cp.etcd.stop(cp.Opts.StopGrace)
	cp.etcd = nil
	cp.stopEgress()
}

// AdminConfig is a rest.Config for system:admin (O=system:masters) with a
// client certificate minted in memory from the client CA.
func (cp *ControlPlane) AdminConfig() (*rest.Config, error) {
	return ClientConfig(cp.URL(), cp.PKI, "system:admin", []string{"system:masters"})
}

// ClientConfig mints a client certificate (CN=user, O=groups) from the
// cluster's client CA and returns a rest.Config trusting the server CA.
func ClientConfig(url string, pki *ClusterPKI, user string, groups []string) (*rest.Config, error) {
	crt, key, err := pki.ClientCA.Issue(CertSpec{CommonName: user, Organization: groups, Client: true})
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: url, Timeout: 15 * time.Second, QPS: 50, Burst: 100,
		TLSClientConfig: rest.TLSClientConfig{CAData: pki.ServerCA.CertPEM, CertData: crt, KeyData: key}}, nil
}

// AdminClient is a clientset for system:admin.
func (cp *ControlPlane) AdminClient() (*kubernetes.Clientset, error) {
	cfg, err := cp.AdminConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func (cp *ControlPlane) adminHTTPClient() (*http.Client, error) {
	crt, key, err := cp.PKI.ClientCA.Issue(CertSpec{CommonName: "system:admin", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cp.PKI.ServerCA.Cert)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
