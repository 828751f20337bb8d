package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// tcpProxy forwards a joining server's <ip>:6443 to the apiserver of its
// cluster (one kube-apiserver per cluster keeps memory low; the serving
// certificate covers every server's address, so clients cannot tell).
type tcpProxy struct {
	ln     net.Listener
	target func() (string, error)
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newTCPProxy(listen, target string) (*tcpProxy, error) {
	return newTCPProxyFunc(listen, func() (string, error) { return target, nil })
}

func newTCPProxyFunc(listen string, target func() (string, error)) (*tcpProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", listen, err)
	}
	return serveTCPProxy(ln, target), nil
}

// serveTCPProxy forwards the connections ln accepts (a listener in a node's
// network namespace, say) to target, dialled from the sandbox's own.
func serveTCPProxy(ln net.Listener, target func() (string, error)) *tcpProxy {
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *tcpProxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *tcpProxy) handle(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	target, err := p.target()
	if err != nil {
		return
	}
	up, err := dialTarget(target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(c, true) || !p.track(up, true) {
		return
	}
	defer p.track(c, false)
	defer p.track(up, false)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// netnsTarget names addr as dialled from inside the network namespace at
// nsPath (a real node's): what dialTarget understands.
func netnsTarget(nsPath, addr string) string { return nsPath + "#" + addr }

// dialTarget dials host:port, or from inside a namespace a netnsTarget.
func dialTarget(target string, timeout time.Duration) (net.Conn, error) {
	ns, addr, inNS := strings.Cut(target, "#")
	if !inNS {
		return net.DialTimeout("tcp", target, timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialInNetns(ctx, ns, addr)
}

// Close stops listening and cuts open connections.
func (p *tcpProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// servedCertCovers dials addr and reports whether the certificate it serves
// chains to the cluster's server CA and covers ip.
func servedCertCovers(addr, ip string, pki *ClusterPKI) (bool, error) {
	pool := x509.NewCertPool()
	pool.AddCert(pki.ServerCA.Cert)
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: ip, MinVersion: tls.VersionTLS12})
	if err != nil {
		return false, err
	}
	conn.Close()
	return true, nil
}
