package hcloudemu

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// State is everything the emulator persists. IDs are global (like Hetzner's)
// while every resource lives in exactly one project.
type State struct {
	Version  int                 `json:"version"`
	IDs      map[string]int64    `json:"ids"`
	Tokens   map[string]TokenRef `json:"tokens"`
	Projects map[string]*Project `json:"projects"`
	// IPv4Next is the offset of the next candidate address in the pool.
	IPv4Next uint64 `json:"ipv4_next"`
	// IPv6Next numbers the next /64 handed out from 2001:db8::/32.
	IPv6Next uint64 `json:"ipv6_next"`
	// IPsInUse maps public addresses to their owner ("primary_ip:12").
	IPsInUse map[string]string `json:"ips_in_use"`
}

// TokenRef binds an API token to a project.
type TokenRef struct {
	Project  string `json:"project"`
	ReadOnly bool   `json:"read_only"`
}

// Limits are the per-project resource limits (resource_limit_exceeded).
type Limits struct {
	Servers         int `json:"servers"`
	Networks        int `json:"networks"`
	Firewalls       int `json:"firewalls"`
	LoadBalancers   int `json:"load_balancers"`
	PrimaryIPs      int `json:"primary_ips"`
	PlacementGroups int `json:"placement_groups"`
	SSHKeys         int `json:"ssh_keys"`
	Volumes         int `json:"volumes"`
	FloatingIPs     int `json:"floating_ips"`
	Certificates    int `json:"certificates"`
}

// DefaultLimits are generous defaults; tests and benchmarks change them via
// the admin API.
var DefaultLimits = Limits{Servers: 100, Networks: 50, Firewalls: 50, LoadBalancers: 25,
	PrimaryIPs: 200, PlacementGroups: 50, SSHKeys: 200, Volumes: 100, FloatingIPs: 50, Certificates: 50}

// Project holds one project's resources.
type Project struct {
	Name            string                    `json:"name"`
	Limits          Limits                    `json:"limits"`
	Servers         map[int64]*Server         `json:"servers"`
	Networks        map[int64]*Network        `json:"networks"`
	Firewalls       map[int64]*Firewall       `json:"firewalls"`
	PlacementGroups map[int64]*PlacementGroup `json:"placement_groups"`
	LoadBalancers   map[int64]*LoadBalancer   `json:"load_balancers"`
	SSHKeys         map[int64]*SSHKey         `json:"ssh_keys"`
	PrimaryIPs      map[int64]*PrimaryIP      `json:"primary_ips"`
	Volumes         map[int64]*Volume         `json:"volumes"`
	FloatingIPs     map[int64]*FloatingIP     `json:"floating_ips"`
	Certificates    map[int64]*Certificate    `json:"certificates"`
	Actions         map[int64]*Action         `json:"actions"`
}

func newProject(name string) *Project {
	p := &Project{Name: name, Limits: DefaultLimits}
	p.init()
	return p
}

func (p *Project) init() {
	initMap(&p.Servers)
	initMap(&p.Networks)
	initMap(&p.Firewalls)
	initMap(&p.PlacementGroups)
	initMap(&p.LoadBalancers)
	initMap(&p.SSHKeys)
	initMap(&p.PrimaryIPs)
	initMap(&p.Volumes)
	initMap(&p.FloatingIPs)
	initMap(&p.Certificates)
	initMap(&p.Actions)
}

func initMap[K comparable, V any](m *map[K]V) {
	if *m == nil {
		*m = map[K]V{}
	}
}

// Server is a stored server.
type Server struct {
	base
	Status           string                  `json:"status"`
	ServerTypeID     int64                   `json:"server_type_id"`
	Location         string                  `json:"location"`
	ImageID          int64                   `json:"image_id"`
	UserData         string                  `json:"user_data"`
	IPv4ID           int64                   `json:"ipv4_id"`
	IPv6ID           int64                   `json:"ipv6_id"`
	PrivateNets      []PrivateNet            `json:"private_nets"`
	PlacementGroupID int64                   `json:"placement_group_id"`
	Protection       schema.ServerProtection `json:"protection"`
	RescueEnabled    bool                    `json:"rescue_enabled"`
	ISOID            int64                   `json:"iso_id,omitempty"`
	PrimaryDiskSize  int                     `json:"primary_disk_size"`
	MACSeed          uint32                  `json:"mac_seed"`
}

// PrivateNet is a server's (or load balancer's) attachment to a network.
type PrivateNet struct {
	Network  int64    `json:"network"`
	IP       string   `json:"ip"`
	AliasIPs []string `json:"alias_ips"`
	MAC      string   `json:"mac_address"`
}

// Network is a stored network.
type Network struct {
	base
	IPRange               string                   `json:"ip_range"`
	Subnets               []schema.NetworkSubnet   `json:"subnets"`
	Routes                []schema.NetworkRoute    `json:"routes"`
	Protection            schema.NetworkProtection `json:"protection"`
	ExposeRoutesToVSwitch bool                     `json:"expose_routes_to_vswitch"`
}

// Firewall is a stored firewall.
type Firewall struct {
	base
	Rules     []schema.FirewallRule `json:"rules"`
	ServerIDs []int64               `json:"server_ids"`
	Selectors []string              `json:"selectors"`
}

// PlacementGroup is a stored placement group.
type PlacementGroup struct {
	base
	Type string `json:"type"`
}

// LoadBalancer is a stored load balancer.
type LoadBalancer struct {
	base
	TypeID        int64                         `json:"type_id"`
	Location      string                        `json:"location"`
	Algorithm     string                        `json:"algorithm"`
	Protection    schema.LoadBalancerProtection `json:"protection"`
	PublicEnabled bool                          `json:"public_enabled"`
	IPv4          string                        `json:"ipv4"`
	IPv6          string                        `json:"ipv6"`
	PrivateNets   []PrivateNet                  `json:"private_nets"`
	Services      []schema.LoadBalancerService  `json:"services"`
	Targets       []LBTarget                    `json:"targets"`
	DNSPtr        map[string]string             `json:"dns_ptr,omitempty"`
}

// LBTarget is one load balancer target.
type LBTarget struct {
	Type         string `json:"type"`
	ServerID     int64  `json:"server_id,omitempty"`
	Selector     string `json:"selector,omitempty"`
	IP           string `json:"ip,omitempty"`
	UsePrivateIP bool   `json:"use_private_ip"`
}

// SSHKey is a stored SSH key.
type SSHKey struct {
	base
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
}

// PrimaryIP is a stored primary IP.
type PrimaryIP struct {
	base
	Type         string                     `json:"type"`
	IP           string                     `json:"ip"`
	Location     string                     `json:"location"`
	AssigneeID   int64                      `json:"assignee_id"`
	AssigneeType string                     `json:"assignee_type"`
	AutoDelete   bool                       `json:"auto_delete"`
	Protection   schema.PrimaryIPProtection `json:"protection"`
	DNSPtr       map[string]string          `json:"dns_ptr"`
}

func newState() *State {
	return &State{Version: 1, IDs: map[string]int64{}, Tokens: map[string]TokenRef{},
		Projects: map[string]*Project{}, IPsInUse: map[string]string{}}
}

func (s *State) nextID(kind string) int64 {
	s.IDs[kind]++
	return s.IDs[kind]
}

func (s *State) project(name string) *Project {
	p := s.Projects[name]
	if p == nil {
		p = newProject(name)
		s.Projects[name] = p
	}
	return p
}

// stateFile is the snapshot inside the state directory.
const stateFile = "state.json"

func loadState(dir string) (*State, error) {
	st := newState()
	if dir == "" {
		return st, nil
	}
	// Temp files of writes a crash interrupted: state.json is either the
	// old or the new snapshot, so they are garbage.
	stale, _ := filepath.Glob(filepath.Join(dir, stateFile+".tmp-*"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("removing stale %s: %w", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("state %s: %w", filepath.Join(dir, stateFile), err)
	}
	initMap(&st.IDs)
	initMap(&st.Tokens)
	initMap(&st.Projects)
	initMap(&st.IPsInUse)
	for _, p := range st.Projects {
		p.init()
		// State written before a kind existed has no limit for it.
		for _, l := range []struct{ v, def *int }{{&p.Limits.Volumes, &DefaultLimits.Volumes},
			{&p.Limits.FloatingIPs, &DefaultLimits.FloatingIPs}, {&p.Limits.Certificates, &DefaultLimits.Certificates}} {
			if *l.v == 0 {
				*l.v = *l.def
			}
		}
	}
	return st, nil
}

// writeFileAtomic writes data so that a crash at any point leaves either the
// old or the new file: temp file, fsync, rename, fsync of the directory.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ---- address allocation ----

// allocIPv4 hands out the next free address of the pool, skipping 127.0.0.1,
// .0 and .255 addresses so every address is usable by a listener.
func (e *Emulator) allocIPv4(owner string) (string, *APIError) {
	st := e.st
	pool := e.cfg.IPv4Pool
	base := pool.Masked().Addr().As4()
	b := uint64(base[0])<<24 | uint64(base[1])<<16 | uint64(base[2])<<8 | uint64(base[3])
	size := uint64(1) << (32 - pool.Bits())
	start := uint64(0)
	if pool.Masked().Addr() == netip.MustParseAddr("127.0.0.0") && pool.Bits() <= 16 {
		start = 256 + 1 // 127.0.1.1 upward
	}
	for tries := uint64(0); tries < size; tries++ {
		off := st.IPv4Next
		if off < start || off >= size {
			off = start
		}
		st.IPv4Next = off + 1
		v := b + off
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		last := byte(v)
		if last == 0 || last == 255 || a == netip.MustParseAddr("127.0.0.1") {
			continue
		}
		ip := a.String()
		if _, used := st.IPsInUse[ip]; used {
			continue
		}
		st.IPsInUse[ip] = owner
		return ip, nil
	}
	return "", newErr("resource_unavailable", "no free IPv4 address left in pool %s", pool)
}

// allocIPv6 hands out the next /64 from the documentation range.
func (e *Emulator) allocIPv6(owner string) string {
	st := e.st
	for {
		st.IPv6Next++
		n := st.IPv6Next
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		ip := netip.PrefixFrom(netip.AddrFrom16(a), 64).String()
		if _, used := st.IPsInUse[ip]; used {
			continue
		}
		st.IPsInUse[ip] = owner
		return ip
	}
}

func (e *Emulator) freeIP(ip string) {
	if ip != "" {
		delete(e.st.IPsInUse, ip)
	}
}
