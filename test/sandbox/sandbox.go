// Package sandbox simulates k3s on emulated Hetzner servers: plugged into
// the hcloud emulator's power hooks, it reads each server's cloud-init the
// way cloud-init and k3s would and, for a new cluster, starts a real etcd and
// kube-apiserver with exactly the cluster's CA files on <server IPv4>:6443,
// and kube-controller-manager and kube-scheduler beside it as k3s runs them.
// Every server and agent then registers a Node the way a kubelet does (its
// own client certificate, a Lease heartbeat, Ready status); the real
// node-lifecycle controller makes Nodes of stopped or deleted machines
// NotReady. See docs/k3s-sandbox.md.
package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sre-platform/platform/test/hcloudemu"
	"k8s.io/client-go/kubernetes"
)

// LoadBalancerResolver maps a load balancer address to the servers behind
// it (the agent's server URL may name the API load balancer).
type LoadBalancerResolver interface {
	LoadBalancerTargets(project, ip string) (serverIDs []int64, ok bool)
}

// Config configures a Sandbox.
type Config struct {
	// StateDir holds one folder per cluster (etcd data, certificates, logs).
	StateDir string
	// ControlPlane tunes etcd and kube-apiserver (BinDir is required).
	ControlPlane ControlPlaneOptions
	// HeartbeatInterval is how often nodes renew their Lease and post
	// status (default 10 s, like the kubelet).
	HeartbeatInterval time.Duration
	// NodeGrace is how long a Node may miss heartbeats before it is marked
	// NotReady (default 40 s, kube-controller-manager's
	// node-monitor-grace-period).
	NodeGrace time.Duration
	// JoinRetry is the wait between join attempts (default 3 s).
	JoinRetry time.Duration
	// Nodes is the node mode: NodesAPI (default) or NodesReal.
	Nodes NodeMode
	// RuntimeDir holds real nodes' sockets, kubelet roots and pod network
	// namespaces under short paths (default /run/sbx); removed at teardown.
	RuntimeDir string
	// Registry serves images (the OCI distribution API) inside every real
	// node's namespace on 127.0.0.1:5000, the mirror containerd uses for
	// docker.io, ghcr.io and registry.k8s.io. Optional.
	Registry http.Handler
	// Git serves Git repositories (smart HTTP, read-only: NewGitServer)
	// inside every real node's namespace on NodeGitIP:80, where Flux's
	// source-controller fetches the checkout `up` publishes. Optional.
	Git http.Handler
	// LoadBalancers resolves load balancer IPs in server URLs (optional).
	LoadBalancers LoadBalancerResolver
	// Logf logs (default: standard logger). Secrets are never logged.
	Logf func(format string, args ...any)
}

// Sandbox implements hcloudemu.PowerHook.
type Sandbox struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc

	host *hostState // what real nodes create outside StateDir
	lock *os.File   // this process's hold on StateDir

	mu       sync.Mutex
	clusters map[string]*cluster
	machines map[int64]*machine
	closed   bool
}

var _ hcloudemu.PowerHook = (*Sandbox)(nil)

// New creates a sandbox. It starts nothing until servers power on.
func New(cfg Config) (*Sandbox, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("sandbox: StateDir is required")
	}
	if cfg.NodeGrace <= 0 {
		cfg.NodeGrace = 40 * time.Second
	}
	bin, err := FindKubeBinaries(cfg.ControlPlane.BinDir)
	if err != nil {
		return nil, err
	}
	cfg.ControlPlane.BinDir = bin
	for _, c := range []string{"kube-controller-manager", "kube-scheduler"} {
		if !isExec(filepath.Join(bin, c)) {
			return nil, fmt.Errorf("%s not found in %s (build it: go tool task kube:build)", c, bin)
		}
	}
	cfg.ControlPlane.Controllers = true
	cfg.ControlPlane.NodeMonitorGrace = cfg.NodeGrace
	cfg.ControlPlane.defaults()
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.JoinRetry <= 0 {
		cfg.JoinRetry = 3 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.Nodes == "" {
		cfg.Nodes = NodesAPI
	}
	if _, err := ParseNodeMode(string(cfg.Nodes)); err != nil {
		return nil, err
	}
	if cfg.RuntimeDir == "" {
		cfg.RuntimeDir = "/run/sbx"
	}
	if cfg.Nodes == NodesReal {
		for _, c := range []string{"kubelet", "kube-proxy"} {
			if !isExec(filepath.Join(bin, c)) {
				return nil, fmt.Errorf("%s not found in %s (build it: go tool task kube:build)", c, bin)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "clusters"), 0o700); err != nil {
		return nil, err
	}
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	host, err := openHostState(filepath.Join(cfg.StateDir, "host-state.json"))
	if err != nil {
		unlockStateDir(lock)
		return nil, err
	}
	// A sandbox killed while real nodes ran left them behind: remove them.
	if err := host.cleanAll(); err != nil {
		unlockStateDir(lock)
		return nil, fmt.Errorf("sandbox: removing what an earlier run left: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{cfg: cfg, ctx: ctx, cancel: cancel, host: host, lock: lock, clusters: map[string]*cluster{}, machines: map[int64]*machine{}}, nil
}

// SetLoadBalancers installs the load balancer resolver (before servers
// power on).
func (s *Sandbox) SetLoadBalancers(r LoadBalancerResolver) {
	s.mu.Lock()
	s.cfg.LoadBalancers = r
	s.mu.Unlock()
}

func (s *Sandbox) logf(format string, args ...any) { s.cfg.Logf("sandbox: "+format, args...) }

// machine is one powered-on server running k3s (or failing to).
type machine struct {
	s      *Sandbox
	info   hcloudemu.ServerInfo
	boot   *Boot
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	cluster *cluster
	status  string
	ready   bool
	real    *realNode // real-node mode, while the runtime runs
}

func (m *machine) report(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	m.mu.Lock()
	changed := m.status != msg
	m.status = msg
	m.mu.Unlock()
	if changed {
		if m.info.Report != nil {
			m.info.Report(msg)
		}
		m.s.logf("server %d (%s): %s", m.info.ID, m.info.Name, msg)
	}
}

// addresses are the IPs other machines may use to reach this one.
func (m *machine) addresses() []string {
	out := []string{m.info.PublicIPv4}
	for _, ip := range m.info.PrivateIPs {
		out = append(out, ip)
	}
	if m.boot != nil {
		out = append(out, m.boot.K3s.NodeIP...)
		out = append(out, m.boot.K3s.NodeExternalIP...)
	}
	return out
}

func (m *machine) nodeSpec() NodeSpec {
	kc := m.boot.K3s
	labels, _ := ParseLabels(kc.NodeLabels)
	taints, _ := m.boot.Taints()
	n := NodeSpec{Name: m.boot.NodeName, Role: m.boot.Role, Labels: labels, Taints: taints, Hostname: m.boot.NodeName,
		ProviderID: m.boot.ProviderID()}
	n.Etcd = m.boot.Role == RoleServer
	switch {
	case len(kc.NodeIP) > 0:
		n.InternalIP = kc.NodeIP[0]
	default:
		var ids []int64
		for id := range m.info.PrivateIPs {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		if len(ids) > 0 {
			n.InternalIP = m.info.PrivateIPs[ids[0]]
		} else {
			n.InternalIP = m.info.PublicIPv4
		}
	}
	n.ExternalIP = m.info.PublicIPv4
	if len(kc.NodeExternalIP) > 0 {
		n.ExternalIP = kc.NodeExternalIP[0]
	}
	n.Args = []string{string(m.boot.Role)}
	return n
}

// ServerPowerOn boots k3s on the server from its user data.
func (s *Sandbox) ServerPowerOn(_ context.Context, info hcloudemu.ServerInfo) error {
	s.stopMachine(info.ID)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	m := &machine{s: s, info: info, done: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(s.ctx)
	s.machines[info.ID] = m
	s.mu.Unlock()
	boot, err := ParseBoot(info.UserData, info.Name)
	if err != nil {
		m.report("running, no k3s node: %v", err)
		close(m.done)
		return nil
	}
	m.boot = boot
	m.report("k3s %s %s: booting", boot.Role, boot.NodeName)
	go func() {
		defer close(m.done)
		m.run()
	}()
	return nil
}

// ServerPowerOff stops k3s on the server: its heartbeats stop (the Node goes
// NotReady after the grace period) and a server leaves its control plane.
func (s *Sandbox) ServerPowerOff(_ context.Context, info hcloudemu.ServerInfo) error {
	if m := s.stopMachine(info.ID); m != nil && info.Report != nil {
		info.Report("powered off: k3s stopped")
	}
	return nil
}

// ServerDelete forgets the server; deleting the last server of a cluster
// stops its control plane and removes its data. Nodes are not deleted.
func (s *Sandbox) ServerDelete(_ context.Context, info hcloudemu.ServerInfo) error {
	s.stopMachine(info.ID)
	s.mu.Lock()
	clusters := make([]*cluster, 0, len(s.clusters))
	for _, c := range s.clusters {
		clusters = append(clusters, c)
	}
	s.mu.Unlock()
	for _, c := range clusters {
		c.forget(info.ID)
	}
	// Clusters on disk that were not loaded since a restart.
	entries, _ := os.ReadDir(filepath.Join(s.cfg.StateDir, "clusters"))
	for _, e := range entries {
		s.mu.Lock()
		_, loaded := s.clusters[e.Name()]
		s.mu.Unlock()
		if loaded {
			continue
		}
		dir := filepath.Join(s.cfg.StateDir, "clusters", e.Name())
		meta, err := loadMeta(dir)
		if err != nil || meta.Servers[info.ID] == "" {
			continue
		}
		delete(meta.Servers, info.ID)
		if len(meta.Servers) == 0 {
			s.logf("cluster %s: last server deleted, removing its data", meta.ID)
			_ = os.RemoveAll(dir)
		} else {
			_ = saveMeta(dir, meta)
		}
	}
	return nil
}

func (s *Sandbox) stopMachine(id int64) *machine {
	s.mu.Lock()
	m := s.machines[id]
	delete(s.machines, id)
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	m.cancel()
	<-m.done
	m.mu.Lock()
	c := m.cluster
	m.mu.Unlock()
	if c != nil {
		c.leave(m)
	}
	return m
}

// Close stops every node and control plane; data stays on disk for the
// next start.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	ids := make([]int64, 0, len(s.machines))
	for id := range s.machines {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); s.stopMachine(id) }()
	}
	wg.Wait()
	s.cancel()
	s.mu.Lock()
	clusters := make([]*cluster, 0, len(s.clusters))
	for _, c := range s.clusters {
		clusters = append(clusters, c)
	}
	s.mu.Unlock()
	for _, c := range clusters {
		c.mu.Lock()
		c.stopLocked()
		c.mu.Unlock()
	}
	// Bridge namespaces and the kubelet's host sysctls go last.
	err := s.host.cleanAll()
	_ = os.Remove(s.cfg.RuntimeDir) // only when empty: other sandboxes may share it
	unlockStateDir(s.lock)
	return err
}

// run joins the machine to its cluster and keeps its node heartbeating
// until the machine stops.
func (m *machine) run() {
	s := m.s
	var c *cluster
	if m.boot.Init {
		var err error
		c, err = s.openCluster(m)
		if err != nil {
			m.report("k3s server %s: %v", m.boot.NodeName, err)
			return
		}
	} else {
		for {
			var err error
			c, err = s.findCluster(m)
			if err == nil {
				break
			}
			m.report("k3s %s %s: %v", m.boot.Role, m.boot.NodeName, err)
			if !sleepCtx(m.ctx, s.cfg.JoinRetry) {
				return
			}
		}
	}
	m.mu.Lock()
	m.cluster = c
	m.mu.Unlock()
	if m.boot.Role == RoleServer {
		m.report("k3s server %s: starting control plane of cluster %s", m.boot.NodeName, c.id)
		for {
			err := c.join(m)
			if err == nil {
				break
			}
			if m.ctx.Err() != nil {
				return
			}
			m.report("k3s server %s: control plane: %v", m.boot.NodeName, firstLine(err))
			if !sleepCtx(m.ctx, 5*s.cfg.JoinRetry) {
				return
			}
		}
	}
	if s.cfg.Nodes == NodesReal {
		m.runRealNode(c)
		return
	}
	m.runNode(c)
}

// runNode registers the Node and sends heartbeats (what the kubelet does).
func (m *machine) runNode(c *cluster) {
	s := m.s
	spec := m.nodeSpec()
	for m.ctx.Err() == nil {
		url, ok := c.apiURL()
		if !ok {
			m.report("k3s %s %s: waiting for the control plane of cluster %s", m.boot.Role, spec.Name, c.id)
			if !sleepCtx(m.ctx, s.cfg.JoinRetry) {
				return
			}
			continue
		}
		cfg, err := ClientConfig(url, c.pki, "system:node:"+spec.Name, []string{"system:nodes"})
		if err != nil {
			m.report("k3s %s %s: node certificate: %v", m.boot.Role, spec.Name, err)
			return
		}
		kc, err := kubernetes.NewForConfig(cfg)
		if err == nil {
			err = registerNode(m.ctx, kc, spec)
		}
		if err == nil {
			err = renewLease(m.ctx, kc, spec.Name, 4*s.cfg.HeartbeatInterval)
		}
		if err == nil {
			err = c.applyServerLabels(m.ctx, spec)
		}
		if err != nil {
			if m.ctx.Err() != nil {
				return
			}
			m.report("k3s %s %s: registering node: %v", m.boot.Role, spec.Name, firstLine(err))
			if !sleepCtx(m.ctx, s.cfg.JoinRetry) {
				return
			}
			continue
		}
		m.mu.Lock()
		m.ready = true
		m.mu.Unlock()
		m.report("k3s %s %s: node Ready in cluster %s (%s)", m.boot.Role, spec.Name, c.id, url)
		failures := 0
		for failures < 3 {
			if !sleepCtx(m.ctx, s.cfg.HeartbeatInterval) {
				return
			}
			if u, ok := c.apiURL(); !ok || u != url {
				break
			}
			err := renewLease(m.ctx, kc, spec.Name, 4*s.cfg.HeartbeatInterval)
			if err == nil {
				err = postStatus(m.ctx, kc, spec)
			}
			if err == nil {
				err = finishDeletedPods(m.ctx, kc, spec.Name)
			}
			if err != nil {
				failures++
				if m.ctx.Err() == nil {
					s.logf("node %s: heartbeat: %v", spec.Name, firstLine(err))
				}
				continue
			}
			failures = 0
		}
		m.mu.Lock()
		m.ready = false
		m.mu.Unlock()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// clusterID names a cluster after its server CA.
func clusterID(p *ClusterPKI) string {
	sum := sha256.Sum256(p.ServerCA.Cert.Raw)
	return hex.EncodeToString(sum[:6])
}

// openCluster returns (creating or loading from disk) the cluster of a first
// server, checking its token against the cluster's bootstrap data.
func (s *Sandbox) openCluster(m *machine) (*cluster, error) {
	id := clusterID(m.boot.PKI)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[id]
	if c == nil {
		dir := filepath.Join(s.cfg.StateDir, "clusters", id)
		meta, err := loadMeta(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			meta = &clusterMeta{ID: id, Project: m.info.Project, SecretDigest: SecretDigest(m.boot.Token.Secret),
				Created: time.Now().UTC(), Servers: map[int64]string{}}
			if m.boot.AgentToken != nil {
				meta.AgentSecretDigest = SecretDigest(m.boot.AgentToken.Secret)
			}
		case err != nil:
			return nil, err
		}
		cp, err := NewControlPlane(dir, m.boot.PKI, m.boot.K3s.ServiceCIDR, s.cfg.ControlPlane)
		if err != nil {
			return nil, err
		}
		cp.ClusterCIDR = m.boot.K3s.ClusterCIDR
		c = &cluster{s: s, id: id, dir: dir, pki: m.boot.PKI, meta: meta, cp: cp,
			clusterDomain: m.boot.K3s.ClusterDomain, live: map[int64]*machine{}, proxies: map[int64]*tcpProxy{}}
		s.clusters[id] = c
	}
	if SecretDigest(m.boot.Token.Secret) != c.meta.SecretDigest {
		return nil, errors.New("bootstrap data already found and encrypted with a different token: token does not match the cluster's")
	}
	return c, nil
}

// findCluster resolves the cluster a joining server or agent names with its
// server URL (a server's address, or a load balancer in front of servers)
// and checks its token.
func (s *Sandbox) findCluster(m *machine) (*cluster, error) {
	host, _ := m.boot.K3s.ServerHost()
	target := fmt.Sprintf("https://%s", net.JoinHostPort(host, "6443"))
	s.mu.Lock()
	var found *cluster
	for _, o := range s.machines {
		if o == m || o.boot == nil || o.boot.Role != RoleServer || o.info.Project != m.info.Project {
			continue
		}
		o.mu.Lock()
		oc := o.cluster
		o.mu.Unlock()
		if oc == nil || !contains(o.addresses(), host) {
			continue
		}
		found = oc
		break
	}
	lbs := s.cfg.LoadBalancers
	s.mu.Unlock()
	if found == nil && lbs != nil {
		if ids, ok := lbs.LoadBalancerTargets(m.info.Project, host); ok {
			s.mu.Lock()
			for _, id := range ids {
				if o := s.machines[id]; o != nil {
					o.mu.Lock()
					oc := o.cluster
					o.mu.Unlock()
					if oc != nil {
						found = oc
						break
					}
				}
			}
			s.mu.Unlock()
		}
	}
	if found == nil {
		return nil, fmt.Errorf("waiting to join: no k3s server answers at %s", target)
	}
	if _, ok := found.apiURL(); !ok {
		return nil, fmt.Errorf("waiting to join: the k3s server at %s is not ready", target)
	}
	// Servers join with the server token only; agents with it or, when the
	// first server set one, with the agent token (as k3s does).
	digest := SecretDigest(m.boot.Token.Secret)
	if digest != found.meta.SecretDigest &&
		(m.boot.Role != RoleAgent || found.meta.AgentSecretDigest == "" || digest != found.meta.AgentSecretDigest) {
		return nil, fmt.Errorf("refused by %s: token does not match the cluster's (401 Unauthorized)", target)
	}
	if m.boot.Token.CAHash != "" && m.boot.Token.CAHash != CAHashOf(found.pki.ServerCA.CertPEM) {
		return nil, fmt.Errorf("refused: the CA of %s does not match the hash in the token", target)
	}
	if m.boot.PKI != nil && !m.boot.PKI.SameCAs(found.pki) {
		return nil, fmt.Errorf("refused: this server's CA files differ from those of the cluster at %s", target)
	}
	return found, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- clusters ----

type clusterMeta struct {
	ID           string `json:"id"`
	Project      string `json:"project"`
	SecretDigest string `json:"secret_digest"`
	// AgentSecretDigest identifies the first server's agent-token, if any.
	AgentSecretDigest string           `json:"agent_secret_digest,omitempty"`
	Created           time.Time        `json:"created"`
	Servers           map[int64]string `json:"servers"` // server ID → name, until deleted
}

func loadMeta(dir string) (*clusterMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return nil, err
	}
	var m clusterMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Servers == nil {
		m.Servers = map[int64]string{}
	}
	return &m, nil
}

func saveMeta(dir string, m *clusterMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "cluster.json"), b, 0o600)
}

type cluster struct {
	s             *Sandbox
	id            string
	dir           string
	pki           *ClusterPKI
	clusterDomain string

	netMu sync.Mutex // real nodes: creating the bridge namespace
	// addonsStarted: the k3s add-ons were handed to the control plane.
	addonsStarted bool
	mu            sync.Mutex // held while processes start or stop
	meta          *clusterMeta
	cp            *ControlPlane
	hostID        int64
	live          map[int64]*machine // powered-on servers in the cluster
	proxies       map[int64]*tcpProxy
	url           string // ready apiserver endpoint ("" while none)
	removed       bool
	adminCache    *kubernetes.Clientset
	adminURL      string
}

func (c *cluster) apiURL() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url, c.url != ""
}

// join adds a powered-on server and reconciles the control plane.
func (c *cluster) join(m *machine) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return errors.New("cluster was removed")
	}
	c.live[m.info.ID] = m
	if c.meta.Servers[m.info.ID] != m.info.Name {
		c.meta.Servers[m.info.ID] = m.info.Name
		if err := saveMeta(c.dir, c.meta); err != nil {
			return err
		}
	}
	if err := c.reconcileLocked(m.ctx); err != nil {
		return err
	}
	if c.hostID != m.info.ID {
		return c.waitServedSANLocked(m.ctx, m.info.PublicIPv4)
	}
	return nil
}

// leave removes a stopped server from the control plane.
func (c *cluster) leave(m *machine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live[m.info.ID] != m {
		return
	}
	delete(c.live, m.info.ID)
	if err := c.reconcileLocked(c.s.ctx); err != nil && c.s.ctx.Err() == nil {
		c.s.logf("cluster %s: %v", c.id, firstLine(err))
	}
}

// forget drops a deleted server; the last one takes the cluster's data.
func (c *cluster) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.meta.Servers[id]; !ok || c.removed {
		return
	}
	delete(c.meta.Servers, id)
	if len(c.meta.Servers) > 0 {
		_ = saveMeta(c.dir, c.meta)
		return
	}
	c.s.logf("cluster %s: last server deleted: stopping its control plane and removing its data", c.id)
	c.stopLocked()
	c.removed = true
	_ = os.RemoveAll(c.dir)
	if c.s.cfg.Nodes == NodesReal {
		bridge := bridgeNetnsName(c.s.sandboxTag(), c.id)
		if err := deleteNetns(bridge); err != nil {
			c.s.logf("cluster %s: %v", c.id, err)
		}
		_ = c.s.host.note(func(r *hostRecord) { r.Netns = remove(r.Netns, bridge) })
	}
	c.s.mu.Lock()
	delete(c.s.clusters, c.id)
	c.s.mu.Unlock()
}

// reconcileLocked makes the processes match the live servers: the apiserver
// binds the host server's IP (the first live server), other live servers
// forward their IP:6443 to it, and nothing runs without a live server.
func (c *cluster) reconcileLocked(ctx context.Context) error {
	if len(c.live) == 0 {
		c.stopLocked()
		return nil
	}
	host := c.live[c.hostID]
	if host == nil {
		var ids []int64
		for id := range c.live {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		host = c.live[ids[0]]
	}
	var names []string
	for _, m := range c.live {
		names = append(names, m.addresses()...)
		names = append(names, m.boot.K3s.TLSSAN...)
	}
	sans := servingSANs(names, c.cp.ServiceIP, c.clusterDomain)
	hostIP := host.info.PublicIPv4
	if !c.cp.Running() || c.cp.Host() != hostIP {
		c.url = ""
		// A proxy may hold the new host's address.
		if p := c.proxies[host.info.ID]; p != nil {
			p.Close()
			delete(c.proxies, host.info.ID)
		}
		start := time.Now()
		// Real nodes reach the apiserver on the host server's node IP (the
		// kubernetes Service's endpoint; that node forwards it).
		c.cp.Advertise = ""
		if c.s.cfg.Nodes == NodesReal {
			if ip, err := nodeIP(host.nodeSpec()); err == nil {
				c.cp.Advertise = ip
			}
		}
		if err := c.cp.Start(ctx, hostIP, sans); err != nil {
			return err
		}
		c.s.logf("cluster %s: kube-apiserver ready on %s:6443 in %s", c.id, hostIP, time.Since(start).Round(time.Millisecond))
	} else if err := c.cp.SetSANs(sans); err != nil {
		return err
	}
	c.hostID = host.info.ID
	c.url = c.cp.URL()
	c.startAddons(host.boot)
	for id, p := range c.proxies {
		if c.live[id] == nil || id == c.hostID {
			p.Close()
			delete(c.proxies, id)
		}
	}
	for id, m := range c.live {
		if id == c.hostID || c.proxies[id] != nil {
			continue
		}
		p, err := newTCPProxy(net.JoinHostPort(m.info.PublicIPv4, "6443"), net.JoinHostPort(hostIP, "6443"))
		if err != nil {
			return fmt.Errorf("server %s: %w", m.info.Name, err)
		}
		c.proxies[id] = p
	}
	return nil
}

// waitServedSANLocked waits until the certificate served on ip:6443 covers
// ip (the apiserver reloads rewritten certificates by itself).
func (c *cluster) waitServedSANLocked(ctx context.Context, ip string) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, err := servedCertCovers(net.JoinHostPort(ip, "6443"), ip, c.pki)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serving certificate on %s:6443 does not cover %s: %v", ip, ip, err)
		}
		c.mu.Unlock()
		alive := sleepCtx(ctx, 500*time.Millisecond)
		c.mu.Lock()
		if !alive {
			return ctx.Err()
		}
	}
}

func (c *cluster) stopLocked() {
	for id, p := range c.proxies {
		p.Close()
		delete(c.proxies, id)
	}
	c.url = ""
	c.hostID = 0
	c.cp.Stop()
}

func (c *cluster) admin() (*kubernetes.Clientset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.url == "" {
		return nil, errors.New("control plane not running")
	}
	if c.adminCache != nil && c.adminURL == c.url {
		return c.adminCache, nil
	}
	cfg, err := ClientConfig(c.url, c.pki, "system:k3s-supervisor", []string{"system:masters"})
	if err != nil {
		return nil, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.adminCache, c.adminURL = kc, c.url
	return kc, nil
}

func (c *cluster) applyServerLabels(ctx context.Context, n NodeSpec) error {
	kc, err := c.admin()
	if err != nil {
		return err
	}
	return applyServerLabels(ctx, kc, n)
}

// ClusterStatus describes a running or stopped cluster.
type ClusterStatus struct {
	ID          string   `json:"id"`
	Project     string   `json:"project"`
	Endpoint    string   `json:"endpoint,omitempty"`
	Servers     []string `json:"servers"`
	LiveServers []string `json:"live_servers"`
	Nodes       []string `json:"nodes"`
	PIDs        []int    `json:"pids,omitempty"`
	APIServerMB int64    `json:"apiserver_rss_mib"`
	EtcdMB      int64    `json:"etcd_rss_mib"`
	// ControllersMB is kube-controller-manager + kube-scheduler.
	ControllersMB int64 `json:"controllers_rss_mib"`
}

// Clusters reports every cluster the sandbox has loaded.
func (s *Sandbox) Clusters() []ClusterStatus {
	s.mu.Lock()
	clusters := make([]*cluster, 0, len(s.clusters))
	for _, c := range s.clusters {
		clusters = append(clusters, c)
	}
	nodes := map[*cluster][]string{}
	for _, m := range s.machines {
		m.mu.Lock()
		if m.cluster != nil {
			state := "NotReady"
			if m.ready {
				state = "Ready"
			}
			nodes[m.cluster] = append(nodes[m.cluster], fmt.Sprintf("%s (%s, %s)", m.boot.NodeName, m.boot.Role, state))
		}
		m.mu.Unlock()
	}
	s.mu.Unlock()
	var out []ClusterStatus
	for _, c := range clusters {
		c.mu.Lock()
		st := ClusterStatus{ID: c.id, Project: c.meta.Project, Endpoint: c.url, Nodes: nodes[c], PIDs: c.cp.PIDs()}
		for _, name := range c.meta.Servers {
			st.Servers = append(st.Servers, name)
		}
		for _, m := range c.live {
			st.LiveServers = append(st.LiveServers, m.info.Name)
		}
		a, e := c.cp.RSS()
		st.APIServerMB, st.EtcdMB = a>>20, e>>20
		k, sc := c.cp.ControllersRSS()
		st.ControllersMB = (k + sc) >> 20
		c.mu.Unlock()
		sort.Strings(st.Servers)
		sort.Strings(st.LiveServers)
		sort.Strings(st.Nodes)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Prune forgets servers that no longer exist (deleted while the sandbox was
// not running) and removes the data of clusters left without servers. Call
// it before installing the hook.
func (s *Sandbox) Prune(exists func(serverID int64) bool) {
	entries, _ := os.ReadDir(filepath.Join(s.cfg.StateDir, "clusters"))
	for _, e := range entries {
		dir := filepath.Join(s.cfg.StateDir, "clusters", e.Name())
		meta, err := loadMeta(dir)
		if err != nil {
			continue
		}
		changed := false
		for id := range meta.Servers {
			if !exists(id) {
				delete(meta.Servers, id)
				changed = true
			}
		}
		switch {
		case len(meta.Servers) == 0:
			s.logf("cluster %s: no server left, removing its data", meta.ID)
			_ = os.RemoveAll(dir)
		case changed:
			_ = saveMeta(dir, meta)
		}
	}
}
