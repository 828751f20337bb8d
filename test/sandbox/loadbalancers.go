package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
	"github.com/sre-platform/platform/test/hcloudemu"
)

// EmulatorLoadBalancers reads load balancers from the emulator's state: it
// resolves an API load balancer named in a server URL, and Forward makes
// load balancers listen on <lb ip>:<port> and forward TCP to their targets
// (the emulator only keeps their state).
type EmulatorLoadBalancers struct {
	Emu  *hcloudemu.Emulator
	Logf func(format string, args ...any)
	// Nodes, when set, sends a target that runs a real node to the node's
	// own address inside its network namespace (where kube-proxy serves
	// NodePorts), as a Hetzner load balancer reaches a server.
	Nodes NodeNetworks

	mu       sync.Mutex
	forwards map[string]*tcpForward // listen address → forward
}

func (r *EmulatorLoadBalancers) loadBalancers() map[string][]lbView {
	out := map[string][]lbView{}
	for project, d := range r.Emu.Dump("") {
		servers := map[int64]schema.Server{}
		for _, s := range d.Servers {
			var sv schema.Server
			if b, err := json.Marshal(s); err == nil && json.Unmarshal(b, &sv) == nil {
				servers[sv.ID] = sv
			}
		}
		for _, l := range d.LoadBalancers {
			var lb schema.LoadBalancer
			b, err := json.Marshal(l)
			if err != nil || json.Unmarshal(b, &lb) != nil {
				continue
			}
			v := lbView{ip: lb.PublicNet.IPv4.IP, enabled: lb.PublicNet.Enabled}
			for _, pn := range lb.PrivateNet {
				v.privateIPs = append(v.privateIPs, pn.IP)
			}
			add := func(t schema.LoadBalancerTarget) {
				if t.Server == nil {
					return
				}
				s, ok := servers[t.Server.ID]
				if !ok {
					return
				}
				// Only public IPv4s are bound on this machine (loopback);
				// a private-IP target (use_private_ip) is reached there.
				addr := s.PublicNet.IPv4.IP
				v.targets = append(v.targets, lbTarget{id: s.ID, addr: addr, running: s.Status == "running"})
			}
			for _, t := range lb.Targets {
				add(t)
				for _, sub := range t.Targets {
					add(sub)
				}
			}
			for _, svc := range lb.Services {
				if svc.Protocol == "tcp" && svc.ListenPort > 0 && svc.DestinationPort > 0 {
					v.ports = append(v.ports, [2]int{svc.ListenPort, svc.DestinationPort})
				}
			}
			out[project] = append(out[project], v)
		}
	}
	return out
}

type lbView struct {
	ip         string
	privateIPs []string // in its networks: servers join through these too
	enabled    bool
	targets    []lbTarget
	ports      [][2]int
}

type lbTarget struct {
	id      int64
	addr    string
	running bool
}

// NodeNetworks finds a real node's network namespace and address by its
// server ID (*Sandbox implements it).
type NodeNetworks interface {
	NodeNetwork(serverID int64) (nsPath, ip string, ok bool)
}

// LoadBalancerTargets implements LoadBalancerResolver.
func (r *EmulatorLoadBalancers) LoadBalancerTargets(project, ip string) ([]int64, bool) {
	for _, v := range r.loadBalancers()[project] {
		if v.ip != ip && !slices.Contains(v.privateIPs, ip) {
			continue
		}
		var ids []int64
		for _, t := range v.targets {
			ids = append(ids, t.id)
		}
		return ids, true
	}
	return nil, false
}

// Forward keeps TCP forwards for every public load balancer service in
// step with the emulator's state until ctx ends.
func (r *EmulatorLoadBalancers) Forward(ctx context.Context, every time.Duration) {
	defer r.closeAll()
	for {
		r.sync()
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (r *EmulatorLoadBalancers) sync() {
	want := map[string][]string{}
	for _, lbs := range r.loadBalancers() {
		for _, v := range lbs {
			if !v.enabled || v.ip == "" {
				continue
			}
			for _, p := range v.ports {
				// Like Hetzner's TCP health check: only running targets
				// that accept a connection on the destination port get
				// traffic.
				var targets []string
				for _, t := range v.targets {
					if !t.running || t.addr == "" {
						continue
					}
					dst := net.JoinHostPort(t.addr, strconv.Itoa(p[1]))
					if r.Nodes != nil {
						if ns, ip, ok := r.Nodes.NodeNetwork(t.id); ok {
							dst = netnsTarget(ns, net.JoinHostPort(ip, strconv.Itoa(p[1])))
						}
					}
					if healthy(dst) {
						targets = append(targets, dst)
					}
				}
				want[net.JoinHostPort(v.ip, strconv.Itoa(p[0]))] = targets
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forwards == nil {
		r.forwards = map[string]*tcpForward{}
	}
	for addr, f := range r.forwards {
		if _, ok := want[addr]; !ok {
			f.proxy.Close()
			delete(r.forwards, addr)
		}
	}
	for addr, targets := range want {
		f := r.forwards[addr]
		if f == nil {
			f = &tcpForward{}
			p, err := newTCPProxyFunc(addr, f.next)
			if err != nil {
				if r.Logf != nil {
					r.Logf("sandbox: load balancer %s: %v", addr, err)
				}
				continue
			}
			f.proxy = p
			r.forwards[addr] = f
		}
		f.set(targets)
	}
}

// healthy is the TCP health check: the target accepts a connection.
func healthy(addr string) bool {
	c, err := dialTarget(addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (r *EmulatorLoadBalancers) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, f := range r.forwards {
		f.proxy.Close()
		delete(r.forwards, addr)
	}
}

// tcpForward round-robins connections over the running targets.
type tcpForward struct {
	proxy   *tcpProxy
	mu      sync.Mutex
	targets []string
	n       int
}

func (f *tcpForward) set(t []string) {
	f.mu.Lock()
	f.targets = t
	f.mu.Unlock()
}

func (f *tcpForward) next() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.targets) == 0 {
		return "", fmt.Errorf("no healthy target")
	}
	f.n++
	return f.targets[f.n%len(f.targets)], nil
}
