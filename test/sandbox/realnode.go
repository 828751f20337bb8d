package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/oci"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeMode says what a k3s node of the sandbox is.
type NodeMode string

const (
	// NodesAPI registers each node through the API only (a Lease heartbeat,
	// Ready status; no pod runs). Fast: for provider acceptance tests.
	NodesAPI NodeMode = "api"
	// NodesReal runs a real kubelet, containerd, CNI and kube-proxy per node
	// in a network namespace of its own.
	NodesReal NodeMode = "real"
)

// ParseNodeMode reads --nodes.
func ParseNodeMode(s string) (NodeMode, error) {
	switch NodeMode(s) {
	case NodesAPI, NodesReal:
		return NodeMode(s), nil
	case "":
		return NodesAPI, nil
	}
	return "", fmt.Errorf("node mode %q: want %q or %q", s, NodesAPI, NodesReal)
}

// Well-known in-netns addresses of a real node (as on k3s, where the agent's
// load balancer serves the apiserver on 127.0.0.1:6444).
const (
	nodeAPIAddr      = "127.0.0.1:6444"
	nodeRegistryAddr = "127.0.0.1:5000"
	// NodeGitIP is where every real node (and its pods) reaches the
	// sandbox's Git server (Config.Git): a link-local address on the
	// node's loopback, as a Hetzner server reaches a Git host outside.
	NodeGitIP  = "169.254.100.1"
	pauseImage = "registry.k8s.io/pause:3.10"
)

// Memory of the node daemons: their live heaps are small here (a few MiB),
// so a lower GOGC than Go's 100 keeps the heap close to them, and a soft
// GOMEMLIMIT bounds a burst. containerd's shims inherit containerd's
// environment. (Most of each daemon's RSS is its binary's mapped code and
// data, shared between the nodes: see NodeMemory.)
var (
	containerdEnv = []string{"GOGC=40", "GOMEMLIMIT=60MiB"}
	kubeletEnv    = []string{"GOGC=40", "GOMEMLIMIT=100MiB"}
	kubeProxyEnv  = []string{"GOGC=40", "GOMEMLIMIT=50MiB"}
)

// mirroredRegistries are the upstream registries every node's containerd
// pulls through the sandbox registry.
var mirroredRegistries = []string{"docker.io", "ghcr.io", "registry.k8s.io"}

// realNode is one machine's node runtime.
type realNode struct {
	m       *machine
	c       *cluster
	spec    NodeSpec
	ip      string
	tag     string // unique among sandboxes and nodes: <sandbox tag>-<server id>
	netns   string
	bridge  string // the cluster's bridge namespace
	cgroup  string // /sbx-<tag>
	runDir  string // /run/sbx/<tag>: sockets, kubelet root, pod netns
	dataDir string // <state>/nodes/<tag>: containerd root, logs, configs
	cniNet  string

	procs   []*proc
	proxies []*tcpProxy
	regSrv  *http.Server
	gitSrv  *http.Server
	routes  map[string]string // destination → gateway ("" = on link)
}

func (s *Sandbox) sandboxTag() string {
	abs, _ := filepath.Abs(s.cfg.StateDir)
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:3])
}

func bridgeNetnsName(tag, clusterID string) string { return "sbx-" + tag + "-c" + clusterID[:6] }

// nodeIP is the address the node has inside its namespace: its InternalIP,
// which must be a private (non-loopback) IPv4 — a private network attached
// to the server, or node-ip.
func nodeIP(spec NodeSpec) (string, error) {
	a, err := netip.ParseAddr(spec.InternalIP)
	if err != nil || !a.Is4() || a.IsLoopback() || a.IsUnspecified() {
		return "", fmt.Errorf("real-node mode needs a private IPv4 for node %s (attach the server to a network, or set node-ip); it has %q",
			spec.Name, spec.InternalIP)
	}
	return a.String(), nil
}

// startRealNode builds the node's namespace and starts containerd, the
// kubelet and kube-proxy in it.
func (c *cluster) startRealNode(ctx context.Context, m *machine, spec NodeSpec) (*realNode, error) {
	s := c.s
	ip, err := nodeIP(spec)
	if err != nil {
		return nil, err
	}
	tag := s.sandboxTag() + "-" + fmt.Sprint(m.info.ID)
	n := &realNode{m: m, c: c, spec: spec, ip: ip, tag: tag, netns: "sbx-" + tag,
		bridge: bridgeNetnsName(s.sandboxTag(), c.id), cgroup: "/sbx-" + tag,
		runDir: filepath.Join(s.cfg.RuntimeDir, tag), dataDir: filepath.Join(s.cfg.StateDir, "nodes", tag),
		cniNet: "sbx" + strings.ReplaceAll(tag, "-", ""), routes: map[string]string{}}
	// Whatever an earlier run of this node left goes first.
	if err := s.host.cleanNode(n.netns, n.cgroup, n.runDir, n.cniNet); err != nil {
		return nil, fmt.Errorf("cleaning up an earlier run: %w", err)
	}
	_ = os.RemoveAll(n.dataDir)
	if err := s.host.note(func(r *hostRecord) {
		r.Netns = addUnique(addUnique(r.Netns, n.bridge), n.netns)
		r.Cgroups = addUnique(r.Cgroups, n.cgroup)
		r.RuntimeDirs = addUnique(r.RuntimeDirs, n.runDir)
		r.CNIResults = addUnique(r.CNIResults, n.cniNet)
	}); err != nil {
		return nil, err
	}
	if err := s.host.saveSysctls(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.stop()
		}
	}()
	if err := n.network(); err != nil {
		return nil, err
	}
	// The apiserver reaches this node's kubelet from inside its namespace.
	if err := c.cp.SetNodeNetns(n.ip, netnsPath(n.netns)); err != nil {
		return nil, err
	}
	for _, d := range []string{n.runDir, n.dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := makeCgroup(n.cgroup, "daemons"); err != nil {
		return nil, err
	}
	if err := n.listeners(); err != nil {
		return nil, err
	}
	if err := n.startContainerd(ctx); err != nil {
		return nil, err
	}
	if err := n.startKubelet(); err != nil {
		return nil, err
	}
	if err := n.startKubeProxy(); err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

// network: the cluster's bridge namespace (one Linux bridge), the node's
// namespace with eth0 = one end of a veth whose other end is on the bridge,
// the node IP as a /32, a default route on the link.
func (n *realNode) network() error {
	if err := n.c.bridgeNetwork(n.bridge); err != nil {
		return err
	}
	if err := createNetns(n.netns); err != nil {
		return err
	}
	peer := "v" + fmt.Sprint(n.m.info.ID)
	if linkExists(n.bridge, peer) {
		_ = ipCmd("-n", n.bridge, "link", "del", peer)
	}
	for _, args := range [][]string{
		{"-n", n.bridge, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", n.netns},
		{"-n", n.bridge, "link", "set", peer, "master", "br0", "up"},
		{"-n", n.netns, "addr", "add", n.ip + "/32", "dev", "eth0"},
		{"-n", n.netns, "link", "set", "eth0", "up"},
		{"-n", n.netns, "route", "add", "default", "dev", "eth0"},
	} {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}

// bridgeNetwork creates the cluster's bridge namespace once (nodes of a
// cluster start concurrently).
func (c *cluster) bridgeNetwork(ns string) error {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	if err := createNetns(ns); err != nil {
		return err
	}
	if !linkExists(ns, "br0") {
		if err := ipCmd("-n", ns, "link", "add", "br0", "type", "bridge"); err != nil {
			return err
		}
	}
	return ipCmd("-n", ns, "link", "set", "br0", "up")
}

func linkExists(ns, name string) bool { return ipCmd("-n", ns, "link", "show", name) == nil }

// listeners serves, inside the node's namespace, the apiserver on
// 127.0.0.1:6444 (kubelet, kube-proxy) and, on servers, on <node ip>:6443
// (the kubernetes Service's endpoint), both forwarded to the cluster's
// apiserver; the image registry on 127.0.0.1:5000; and the Git server on
// NodeGitIP:80, which the node's pods reach through their gateway.
func (n *realNode) listeners() error {
	target := func() (string, error) {
		u, ok := n.c.apiURL()
		if !ok {
			return "", errors.New("control plane not running")
		}
		return strings.TrimPrefix(u, "https://"), nil
	}
	addrs := []string{nodeAPIAddr}
	if n.spec.Role == RoleServer {
		addrs = append(addrs, net.JoinHostPort(n.ip, "6443"))
	}
	for _, a := range addrs {
		ln, err := listenInNetns(netnsPath(n.netns), a)
		if err != nil {
			return fmt.Errorf("listen %s in %s: %w", a, n.netns, err)
		}
		n.proxies = append(n.proxies, serveTCPProxy(ln, target))
	}
	if reg := n.c.s.cfg.Registry; reg != nil {
		ln, err := listenInNetns(netnsPath(n.netns), nodeRegistryAddr)
		if err != nil {
			return fmt.Errorf("listen %s in %s: %w", nodeRegistryAddr, n.netns, err)
		}
		n.regSrv = &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = n.regSrv.Serve(ln) }()
	}
	if git := n.c.s.cfg.Git; git != nil {
		if err := ipCmd("-n", n.netns, "addr", "replace", NodeGitIP+"/32", "dev", "lo"); err != nil {
			return err
		}
		addr := net.JoinHostPort(NodeGitIP, "80")
		ln, err := listenInNetns(netnsPath(n.netns), addr)
		if err != nil {
			return fmt.Errorf("listen %s in %s: %w", addr, n.netns, err)
		}
		n.gitSrv = &http.Server{Handler: git, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = n.gitSrv.Serve(ln) }()
	}
	return nil
}

// startIn starts a node daemon inside the node's cgroup tree and network
// namespace: a shell moves itself into <cgroup>/daemons of every hierarchy,
// then nsenter execs the binary (same PID throughout).
func (n *realNode) startIn(name, bin string, args, env []string) (*proc, error) {
	script := `for f in ` + cgroupFS + `/*` + n.cgroup + `/daemons/cgroup.procs ` + cgroupFS + n.cgroup + `/daemons/cgroup.procs; do
  [ -e "$f" ] && echo $$ > "$f"
done
exec nsenter --net=` + netnsPath(n.netns) + ` -- "$@"`
	full := append([]string{"-c", script, name, bin}, args...)
	p, err := startProc(name, "/bin/sh", full, env, filepath.Join(n.dataDir, name+".log"))
	if err != nil {
		return nil, err
	}
	n.procs = append(n.procs, p)
	return p, nil
}

func (n *realNode) containerdSock() string { return filepath.Join(n.runDir, "containerd.sock") }

func (n *realNode) startContainerd(ctx context.Context) error {
	certs := filepath.Join(n.dataDir, "certs.d")
	for _, host := range mirroredRegistries {
		server := "https://" + host
		if host == "docker.io" {
			server = "https://registry-1.docker.io"
		}
		hosts := fmt.Sprintf("server = %q\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", server, nodeRegistryAddr)
		if err := writeFileAtomic(filepath.Join(certs, host, "hosts.toml"), []byte(hosts), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(n.dataDir, "cni"), 0o755); err != nil {
		return err
	}
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
`, filepath.Join(n.dataDir, "containerd"), filepath.Join(n.runDir, "containerd"), n.containerdSock(),
		filepath.Join(n.dataDir, "opt"), pauseImage, filepath.Join(n.dataDir, "cni"), certs)
	path := filepath.Join(n.dataDir, "containerd.toml")
	if err := writeFileAtomic(path, []byte(conf), 0o600); err != nil {
		return err
	}
	p, err := n.startIn("containerd", "/usr/bin/containerd", []string{"--config", path}, containerdEnv)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for !fileExists(n.containerdSock()) {
		if p.exited() {
			return fmt.Errorf("%w\n%s", p.exitError(), p.logTail(15))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd: no socket after 30s\n%s", p.logTail(15))
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

func (n *realNode) kubeconfig(name, user string, groups []string) (string, error) {
	b, err := kubeconfigFor("https://"+nodeAPIAddr, n.c.pki, user, groups)
	if err != nil {
		return "", err
	}
	p := filepath.Join(n.dataDir, name+".kubeconfig")
	return p, writeFileAtomic(p, b, 0o600)
}

func (n *realNode) startKubelet() error {
	kc, err := n.kubeconfig("kubelet", "system:node:"+n.spec.Name, []string{"system:nodes"})
	if err != nil {
		return err
	}
	caFile := filepath.Join(n.dataDir, "client-ca.crt")
	if err := writeFileAtomic(caFile, n.c.pki.ClientCA.CertPEM, 0o644); err != nil {
		return err
	}
	resolv := filepath.Join(n.dataDir, "resolv.conf")
	if err := writeFileAtomic(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		return err
	}
	dns, err := n.m.boot.K3s.ClusterDNSIP()
	if err != nil {
		return err
	}
	var taints []map[string]string
	for _, t := range n.spec.Taints {
		taints = append(taints, map[string]string{"key": t.Key, "value": t.Value, "effect": t.Effect})
	}
	cfg := map[string]any{
		"apiVersion":                  "kubelet.config.k8s.io/v1beta1",
		"kind":                        "KubeletConfiguration",
		"cgroupDriver":                "cgroupfs",
		"failCgroupV1":                false,
		"cgroupRoot":                  n.cgroup,
		"containerRuntimeEndpoint":    "unix://" + n.containerdSock(),
		"address":                     n.ip,
		"readOnlyPort":                0,
		"healthzBindAddress":          "127.0.0.1",
		"authentication":              map[string]any{"anonymous": map[string]any{"enabled": false}, "webhook": map[string]any{"enabled": true}, "x509": map[string]any{"clientCAFile": caFile}},
		"authorization":               map[string]any{"mode": "Webhook"},
		"clusterDNS":                  []string{dns.String()},
		"clusterDomain":               n.m.boot.K3s.ClusterDomain,
		"resolvConf":                  resolv,
		"podLogsDir":                  filepath.Join(n.dataDir, "pod-logs"),
		"failSwapOn":                  false,
		"protectKernelDefaults":       false,
		"serializeImagePulls":         false,
		"registerWithTaints":          taints,
		"providerID":                  n.spec.ProviderID,
		"evictionHard":                map[string]string{"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		"enforceNodeAllocatable":      []string{"pods"},
		"nodeStatusUpdateFrequency":   "10s",
		"syncFrequency":               "10s",
		"containerLogMaxSize":         "5Mi",
		"containerLogMaxFiles":        2,
		"volumePluginDir":             filepath.Join(n.runDir, "kubelet-plugins"),
		"hairpinMode":                 "hairpin-veth",
		"kubeAPIQPS":                  50,
		"kubeAPIBurst":                100,
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(n.dataDir, "kubelet.json")
	if err := writeFileAtomic(cfgPath, b, 0o600); err != nil {
		return err
	}
	kl, _ := n.spec.labels()
	var labels []string
	for k, v := range kl {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	args := []string{
		"--config=" + cfgPath,
		"--kubeconfig=" + kc,
		"--root-dir=" + filepath.Join(n.runDir, "kubelet"),
		"--cert-dir=" + filepath.Join(n.dataDir, "kubelet-pki"),
		"--hostname-override=" + n.spec.Name,
		"--node-ip=" + n.ip,
		"--node-labels=" + strings.Join(labels, ","),
		"--v=0",
	}
	_, err = n.startIn("kubelet", filepath.Join(n.c.s.cfg.ControlPlane.BinDir, "kubelet"), args, kubeletEnv)
	return err
}

func (n *realNode) startKubeProxy() error {
	kc, err := n.kubeconfig("kube-proxy", "system:kube-proxy", nil)
	if err != nil {
		return err
	}
	cfg := map[string]any{
		"apiVersion":         "kubeproxy.config.k8s.io/v1alpha1",
		"kind":               "KubeProxyConfiguration",
		"clientConnection":   map[string]any{"kubeconfig": kc},
		"mode":               "iptables",
		"clusterCIDR":        n.c.cp.ClusterCIDR,
		"hostnameOverride":   n.spec.Name,
		"bindAddress":        n.ip,
		"healthzBindAddress": "127.0.0.1:10256",
		"metricsBindAddress": "127.0.0.1:10249",
		// Host-wide conntrack settings stay as they are.
		"conntrack": map[string]any{"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
		// Replies of a pod reached through a Service from a pod on the
		// same bridge come back through the node (no br_netfilter here).
		"iptables": map[string]any{"masqueradeAll": true},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(n.dataDir, "kube-proxy.json")
	if err := writeFileAtomic(cfgPath, b, 0o600); err != nil {
		return err
	}
	_, err = n.startIn("kube-proxy", filepath.Join(n.c.s.cfg.ControlPlane.BinDir, "kube-proxy"),
		[]string{"--config=" + cfgPath, "--v=0"}, kubeProxyEnv)
	return err
}

// writeCNI writes the bridge network for the node's pod CIDR (once the
// controller manager assigned it); containerd picks the file up by itself.
func (n *realNode) writeCNI(podCIDR string) error {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       n.cniNet,
		"plugins": []any{
			map[string]any{"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]string{{{"subnet": podCIDR}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}}, "dataDir": filepath.Join(n.runDir, "ipam")}},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(n.dataDir, "cni", "10-sbx.conflist"), b, 0o644)
}

// sync reconciles what depends on the cluster: the node's CNI config and
// routes to every other node and its pod CIDR (all nodes share one L2
// segment, like flannel's host-gw). It returns the node object.
func (n *realNode) sync(ctx context.Context, wroteCNI *bool) (*corev1.Node, error) {
	kc, err := n.c.admin()
	if err != nil {
		return nil, err
	}
	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var self *corev1.Node
	want := map[string]string{}
	for i := range nodes.Items {
		o := &nodes.Items[i]
		if o.Name == n.spec.Name {
			self = o
			continue
		}
		var ip string
		for _, a := range o.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ip = a.Address
			}
		}
		if ip == "" || ip == n.ip {
			continue
		}
		want[ip+"/32"] = ""
		if o.Spec.PodCIDR != "" {
			want[o.Spec.PodCIDR] = ip
		}
	}
	if self != nil && self.Spec.PodCIDR != "" && !*wroteCNI {
		if err := n.writeCNI(self.Spec.PodCIDR); err != nil {
			return self, err
		}
		*wroteCNI = true
	}
	// On-link host routes first, then the pod CIDRs through them.
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return want[keys[i]] < want[keys[j]] || (want[keys[i]] == want[keys[j]] && keys[i] < keys[j])
	})
	for _, dst := range keys {
		gw := want[dst]
		if cur, ok := n.routes[dst]; ok && cur == gw {
			continue
		}
		args := []string{"-n", n.netns, "route", "replace", dst, "dev", "eth0"}
		if gw != "" {
			args = []string{"-n", n.netns, "route", "replace", dst, "via", gw, "dev", "eth0", "onlink"}
		}
		if err := ipCmd(args...); err != nil {
			return self, err
		}
		n.routes[dst] = gw
	}
	for dst := range n.routes {
		if _, ok := want[dst]; !ok {
			_ = ipCmd("-n", n.netns, "route", "del", dst)
			delete(n.routes, dst)
		}
	}
	return self, nil
}

// exited reports the first daemon that stopped.
func (n *realNode) exited() *proc {
	for _, p := range n.procs {
		if p.exited() {
			return p
		}
	}
	return nil
}

// memory sums the memory of every process of the node (daemons, shims,
// containers).
func (n *realNode) memory() NodeMemory { return memoryOf(cgroupPIDs(n.cgroup)) }

// stop ends the node: daemons (kubelet and kube-proxy first), every
// process left in its cgroup tree, its listeners, mounts, runtime
// directory, cgroups and namespace. The cluster's bridge namespace stays.
func (n *realNode) stop() {
	n.c.cp.RemoveNodeNetns(n.ip, netnsPath(n.netns))
	for i := len(n.procs) - 1; i >= 0; i-- {
		n.procs[i].stop(3 * time.Second)
	}
	for _, p := range n.proxies {
		p.Close()
	}
	if n.gitSrv != nil {
		_ = n.gitSrv.Close()
	}
	if n.regSrv != nil {
		_ = n.regSrv.Close()
	}
	if err := n.c.s.host.cleanNode(n.netns, n.cgroup, n.runDir, n.cniNet); err != nil {
		n.c.s.logf("node %s: cleanup: %v", n.spec.Name, err)
	}
	if err := unmountUnder(n.dataDir); err != nil {
		n.c.s.logf("node %s: cleanup: %v", n.spec.Name, err)
	}
	_ = os.RemoveAll(n.dataDir)
}

// DialNode opens a TCP connection to addr from inside the network namespace
// of the real node named node (as a process on that node would).
func (s *Sandbox) DialNode(ctx context.Context, node, addr string) (net.Conn, error) {
	s.mu.Lock()
	var ns string
	for _, m := range s.machines {
		m.mu.Lock()
		if m.real != nil && m.real.spec.Name == node {
			ns = m.real.netns
		}
		m.mu.Unlock()
	}
	s.mu.Unlock()
	if ns == "" {
		return nil, fmt.Errorf("no real node %s", node)
	}
	return dialInNetns(ctx, netnsPath(ns), addr)
}

// runRealNode is runNode for real-node mode: the node's runtime runs until
// the machine stops; a daemon that dies takes the node down and back up.
func (m *machine) runRealNode(c *cluster) {
	s := m.s
	spec := m.nodeSpec()
	if _, err := nodeIP(spec); err != nil {
		m.report("k3s %s %s: %v", m.boot.Role, spec.Name, err)
		return
	}
	for m.ctx.Err() == nil {
		if _, ok := c.apiURL(); !ok {
			m.report("k3s %s %s: waiting for the control plane of cluster %s", m.boot.Role, spec.Name, c.id)
			if !sleepCtx(m.ctx, s.cfg.JoinRetry) {
				return
			}
			continue
		}
		m.report("k3s %s %s: starting containerd, kubelet and kube-proxy", m.boot.Role, spec.Name)
		rn, err := c.startRealNode(m.ctx, m, spec)
		if err != nil {
			if m.ctx.Err() != nil {
				return
			}
			m.report("k3s %s %s: node runtime: %v", m.boot.Role, spec.Name, firstLine(err))
			if !sleepCtx(m.ctx, 5*s.cfg.JoinRetry) {
				return
			}
			continue
		}
		m.mu.Lock()
		m.real = rn
		m.mu.Unlock()
		m.superviseRealNode(c, rn)
		m.mu.Lock()
		m.real, m.ready = nil, false
		m.mu.Unlock()
		rn.stop()
		if m.ctx.Err() == nil && !sleepCtx(m.ctx, s.cfg.JoinRetry) {
			return
		}
	}
}

func (m *machine) superviseRealNode(c *cluster, rn *realNode) {
	s := m.s
	spec := rn.spec
	wroteCNI, labelled := false, false
	every := 500 * time.Millisecond
	for sleepCtx(m.ctx, every) {
		if p := rn.exited(); p != nil {
			m.report("k3s %s %s: %v: %s", m.boot.Role, spec.Name, p.exitError(), lastLine(p.logTail(3)))
			return
		}
		self, err := rn.sync(m.ctx, &wroteCNI)
		if err != nil {
			if m.ctx.Err() == nil {
				s.logf("node %s: %v", spec.Name, firstLine(err))
			}
			continue
		}
		if self == nil {
			continue
		}
		if !labelled {
			if err := c.applyServerLabels(m.ctx, spec); err == nil {
				labelled = true
			}
		}
		ready := false
		for _, cond := range self.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		m.mu.Lock()
		m.ready = ready
		m.mu.Unlock()
		if ready && labelled {
			u, _ := c.apiURL()
			m.report("k3s %s %s: node Ready in cluster %s (%s)", m.boot.Role, spec.Name, c.id, u)
			every = 2 * time.Second
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// OpenImageRegistry opens the image registry directory real nodes pull
// from (dir, else $PLATFORM_CACHE/registry as `go tool task images:build`
// fills it). A missing directory is an error that says how to build it.
func OpenImageRegistry(dir string) (http.Handler, error) {
	if dir == "" {
		dir = filepath.Join(cacheDir(), "registry")
	}
	if !fileExists(dir) {
		return nil, fmt.Errorf("image registry %s not found (build the images: go tool task images:build)", dir)
	}
	reg, err := oci.OpenRegistry(dir)
	if err != nil {
		return nil, err
	}
	return reg.Handler(), nil
}

// NodeMemory is what a real node's processes (containerd, its shims and
// containers, kubelet, kube-proxy) use, in bytes. RSS counts every resident
// page of each process, so pages several processes share (the same
// binaries in every node, containerd's shims) count once per process: an
// upper bound. PSS divides each shared page among the processes mapping it:
// the sum over all processes is the memory they really take.
type NodeMemory struct {
	RSS, PSS int64
	// Anon is the anonymous (heap, stacks) part of RSS; the rest is mapped
	// files, mostly the binaries' code and data.
	Anon      int64
	Processes int
	// ByCommand splits the sums by process name (containerd,
	// containerd-shim, kubelet, kube-proxy, pause, coredns, ...).
	ByCommand map[string]ProcessMemory
}

// ProcessMemory is the memory of Count processes of one name, in bytes.
type ProcessMemory struct {
	RSS, PSS, Anon int64
	Count          int
}

// RealNodeMemory is the memory of every real node's processes by node name.
func (s *Sandbox) RealNodeMemory() map[string]NodeMemory {
	s.mu.Lock()
	var nodes []*realNode
	for _, m := range s.machines {
		m.mu.Lock()
		if m.real != nil {
			nodes = append(nodes, m.real)
		}
		m.mu.Unlock()
	}
	s.mu.Unlock()
	out := map[string]NodeMemory{}
	for _, n := range nodes {
		out[n.spec.Name] = n.memory()
	}
	return out
}

// pidMemory is a process's resident set size, proportional set size and
// anonymous resident memory in bytes, from /proc/<pid>/smaps_rollup (zero
// when it is gone).
func pidMemory(pid int) (rss, pss, anon int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			rss = kb << 10
		case "Pss:":
			pss = kb << 10
		case "Anonymous:":
			anon = kb << 10
		}
	}
	return rss, pss, anon
}
