package sandbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// The apiserver's "cluster" traffic — to kubelets (logs, exec, attach,
// port-forward, the node proxy), and to pods and Services (webhooks,
// aggregated APIs, the proxy subresources) — leaves through an HTTP CONNECT
// proxy the sandbox serves on a unix socket (--egress-selector-config-file),
// as k3s sends it through its supervisor's tunnel to each agent. Kubelets
// listen on their node's InternalIP inside the node's network namespace,
// which the host cannot route to: the proxy dials a node's address from
// inside that node's namespace, a pod or ClusterIP address from inside a
// node's namespace (routes and kube-proxy's rules are there), and anything
// else from the host's.

// egressConfig is the EgressSelectorConfiguration kube-apiserver reads.
const egressConfig = `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %q
`

// clusterEgress is a running CONNECT proxy for one control plane.
type clusterEgress struct {
	ln   net.Listener
	dial func(ctx context.Context, addr string) (net.Conn, error)
	wg   sync.WaitGroup
	mu   sync.Mutex
	live map[net.Conn]struct{}
}

// egressSocket is the abstract unix socket of a control plane's proxy:
// named after its directory, so control planes side by side never share
// one, and gone with the process that listens (nothing to clean up).
func egressSocket(dir string) string {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	return "@sbx-egress-" + hex.EncodeToString(sum[:8])
}

func startClusterEgress(socket string, dial func(ctx context.Context, addr string) (net.Conn, error)) (*clusterEgress, error) {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	e := &clusterEgress{ln: ln, dial: dial, live: map[net.Conn]struct{}{}}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Add(1)
			go func() { defer e.wg.Done(); e.handle(c) }()
		}
	}()
	return e, nil
}

func (e *clusterEgress) track(c net.Conn, add bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if add {
		e.live[c] = struct{}{}
	} else {
		delete(e.live, c)
	}
}

// handle serves one CONNECT: the apiserver writes "CONNECT host:port" and
// waits for 200 before it speaks TLS to the destination.
func (e *clusterEgress) handle(c net.Conn) {
	defer c.Close()
	e.track(c, true)
	defer e.track(c, false)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := e.dial(ctx, req.Host)
	cancel()
	if err != nil {
		msg := firstLine(err)
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
		return
	}
	defer up.Close()
	e.track(up, true)
	defer e.track(up, false)
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// close stops listening, cuts the open tunnels and waits for them.
func (e *clusterEgress) close() {
	e.ln.Close()
	e.mu.Lock()
	for c := range e.live {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// nodeNetns is what the egress proxy knows of a cluster's real nodes:
// InternalIP → network namespace path.
type nodeNetns struct {
	mu    sync.Mutex
	byIP  map[netip.Addr]string
	cidrs []netip.Prefix // pod and service networks: reached from any node
}

// SetNodeNetns makes connections to ip (a real node's InternalIP: its
// kubelet on :10250) leave from the network namespace at nsPath.
func (cp *ControlPlane) SetNodeNetns(ip, nsPath string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return err
	}
	cp.nodes.mu.Lock()
	defer cp.nodes.mu.Unlock()
	if cp.nodes.byIP == nil {
		cp.nodes.byIP = map[netip.Addr]string{}
	}
	cp.nodes.byIP[a] = nsPath
	return nil
}

// RemoveNodeNetns forgets a node's namespace (only if still nsPath: a node
// that restarted may have registered again).
func (cp *ControlPlane) RemoveNodeNetns(ip, nsPath string) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	cp.nodes.mu.Lock()
	defer cp.nodes.mu.Unlock()
	if cp.nodes.byIP[a] == nsPath {
		delete(cp.nodes.byIP, a)
	}
}

// netnsFor is the namespace to dial ip from ("" = the host's): the node's
// own for its address; for the pod and service networks the namespace of
// the node with the lowest address (every node routes to every pod CIDR and
// runs kube-proxy).
func (cp *ControlPlane) netnsFor(ip netip.Addr) string {
	cp.nodes.mu.Lock()
	defer cp.nodes.mu.Unlock()
	if ns, ok := cp.nodes.byIP[ip]; ok {
		return ns
	}
	in := false
	for _, p := range cp.nodes.cidrs {
		in = in || p.Contains(ip)
	}
	if !in || len(cp.nodes.byIP) == 0 {
		return ""
	}
	ips := make([]netip.Addr, 0, len(cp.nodes.byIP))
	for a := range cp.nodes.byIP {
		ips = append(ips, a)
	}
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	return cp.nodes.byIP[ips[0]]
}

// dialCluster opens the apiserver's "cluster" connection to addr.
func (cp *ControlPlane) dialCluster(ctx context.Context, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if ns := cp.netnsFor(a.Unmap()); ns != "" {
			return dialInNetns(ctx, ns, addr)
		}
	}
	return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
}

// startEgress starts the control plane's proxy (once) and writes the
// apiserver's egress selector configuration; it returns that file.
func (cp *ControlPlane) startEgress() (string, error) {
	var cidrs []netip.Prefix
	for _, s := range []string{cp.ClusterCIDR, cp.ServiceCIDR} {
		if p, err := netip.ParsePrefix(s); err == nil {
			cidrs = append(cidrs, p.Masked())
		}
	}
	cp.nodes.mu.Lock()
	cp.nodes.cidrs = cidrs
	cp.nodes.mu.Unlock()
	socket := egressSocket(cp.Dir)
	if cp.egress == nil {
		e, err := startClusterEgress(socket, cp.dialCluster)
		if err != nil {
			return "", err
		}
		cp.egress = e
	}
	path := cp.tls("egress-selector.yaml")
	return path, writeFileAtomic(path, fmt.Appendf(nil, egressConfig, socket), 0o600)
}

// stopEgress stops the proxy (Stop).
func (cp *ControlPlane) stopEgress() {
	if cp.egress != nil {
		cp.egress.close()
		cp.egress = nil
	}
}
