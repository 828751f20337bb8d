package hcloudemu

import (
	"net/netip"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func (c *reqCtx) renderNetwork(n *Network) schema.Network {
	out := schema.Network{ID: n.ID, Name: n.Name, Created: n.Created, IPRange: n.IPRange,
		Subnets: append([]schema.NetworkSubnet{}, n.Subnets...), Routes: append([]schema.NetworkRoute{}, n.Routes...),
		Servers: []int64{}, LoadBalancers: []int64{}, Protection: n.Protection, Labels: copyLabels(n.Labels),
		ExposeRoutesToVSwitch: n.ExposeRoutesToVSwitch}
	for _, id := range sortedKeys(c.p.Servers) {
		for _, pn := range c.p.Servers[id].PrivateNets {
			if pn.Network == n.ID {
				out.Servers = append(out.Servers, id)
			}
		}
	}
	for _, id := range sortedKeys(c.p.LoadBalancers) {
		for _, pn := range c.p.LoadBalancers[id].PrivateNets {
			if pn.Network == n.ID {
				out.LoadBalancers = append(out.LoadBalancers, id)
			}
		}
	}
	return out
}

// gateway is the network's first address (Hetzner's gateway for all
// subnets).
func gateway(n *Network) string {
	pfx, err := netip.ParsePrefix(n.IPRange)
	if err != nil {
		return ""
	}
	return pfx.Masked().Addr().Next().String()
}

func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

func parsePrivatePrefix(field, v string) (netip.Prefix, *APIError) {
	pfx, err := netip.ParsePrefix(v)
	if err != nil || !pfx.Addr().Is4() {
		return netip.Prefix{}, errInvalid(field, "must be an IPv4 CIDR")
	}
	if pfx.Masked() != pfx {
		return netip.Prefix{}, errInvalid(field, "must be a network address (host bits zero)")
	}
	return pfx, nil
}

func validateNetworkRange(v string) (netip.Prefix, *APIError) {
	pfx, err := parsePrivatePrefix("ip_range", v)
	if err != nil {
		return pfx, err
	}
	ok := false
	for _, r := range privateRanges {
		if r.Bits() <= pfx.Bits() && r.Contains(pfx.Addr()) {
			ok = true
		}
	}
	if !ok {
		return pfx, errInvalid("ip_range", "must be within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
	}
	if pfx.Bits() > 24 {
		return pfx, errInvalid("ip_range", "must be at least a /24")
	}
	return pfx, nil
}

func (c *reqCtx) validateSubnet(n *Network, sn *schema.NetworkSubnet, others []schema.NetworkSubnet) *APIError {
	switch sn.Type {
	case "cloud", "server":
	case "vswitch":
		if sn.VSwitchID == 0 {
			return errInvalid("vswitch_id", "is required for vswitch subnets")
		}
	default:
		return errInvalid("type", "must be one of cloud, server, vswitch")
	}
	if !networkZones[sn.NetworkZone] {
		return errInvalid("network_zone", "unknown network zone")
	}
	netPfx, _ := netip.ParsePrefix(n.IPRange)
	if sn.IPRange == "" {
		// Pick the first free /24 like Hetzner does.
		if netPfx.Bits() > 24 {
			return newErr("no_subnet_available", "no free subnet in %s", n.IPRange)
		}
		base := netPfx.Masked().Addr().As4()
		count := 1 << (24 - netPfx.Bits())
		for i := 0; i < count; i++ {
			v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
			v += uint32(i) << 8
			cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 24)
			free := true
			for _, o := range others {
				if op, err := netip.ParsePrefix(o.IPRange); err == nil && overlaps(op, cand) {
					free = false
				}
			}
			if free {
				sn.IPRange = cand.String()
				break
			}
		}
		if sn.IPRange == "" {
			return newErr("no_subnet_available", "no free subnet in %s", n.IPRange)
		}
	}
	pfx, err := parsePrivatePrefix("ip_range", sn.IPRange)
	if err != nil {
		return err
	}
	if pfx.Bits() > 30 {
		return errInvalid("ip_range", "subnet must be at least a /30")
	}
	if !(netPfx.Bits() <= pfx.Bits() && netPfx.Contains(pfx.Addr())) {
		return errInvalid("ip_range", "subnet must be within the network's ip_range")
	}
	for _, o := range others {
		if op, perr := netip.ParsePrefix(o.IPRange); perr == nil && overlaps(op, pfx) {
			return errInvalid("ip_range", "subnet overlaps with "+o.IPRange)
		}
	}
	sn.Gateway = gateway(n)
	return nil
}

func (c *reqCtx) validateRoute(n *Network, r schema.NetworkRoute) *APIError {
	dst, err := parsePrivatePrefix("destination", r.Destination)
	if err != nil {
		return err
	}
	_ = dst
	gw, perr := netip.ParseAddr(r.Gateway)
	if perr != nil || !gw.Is4() {
		return errInvalid("gateway", "must be an IPv4 address")
	}
	netPfx, _ := netip.ParsePrefix(n.IPRange)
	if !netPfx.Contains(gw) {
		return errInvalid("gateway", "must be within the network's ip_range")
	}
	if gw.String() == gateway(n) {
		return errInvalid("gateway", "must not be the network gateway")
	}
	return nil
}

// usedPrivateIPs lists addresses taken in a network.
func (c *reqCtx) usedPrivateIPs(nid int64) map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	add := func(pn PrivateNet) {
		if pn.Network != nid {
			return
		}
		if a, err := netip.ParseAddr(pn.IP); err == nil {
			used[a] = true
		}
		for _, al := range pn.AliasIPs {
			if a, err := netip.ParseAddr(al); err == nil {
				used[a] = true
			}
		}
	}
	for _, s := range c.p.Servers {
		for _, pn := range s.PrivateNets {
			add(pn)
		}
	}
	for _, lb := range c.p.LoadBalancers {
		for _, pn := range lb.PrivateNets {
			add(pn)
		}
	}
	return used
}

// allocPrivateIP returns want (if free and inside a matching subnet) or the
// first free host address of a subnet in zone. Only the network's own first
// address is the gateway's: in any other subnet the first host (.1) is handed
// out like every other address.
func (c *reqCtx) allocPrivateIP(n *Network, zone, want string) (string, *APIError) {
	used := c.usedPrivateIPs(n.ID)
	gw, _ := netip.ParseAddr(gateway(n))
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !a.Is4() {
			return "", errInvalid("ip", "must be an IPv4 address")
		}
		for _, sn := range n.Subnets {
			pfx, err := netip.ParsePrefix(sn.IPRange)
			if err != nil || sn.NetworkZone != zone || sn.Type == "vswitch" || !pfx.Contains(a) {
				continue
			}
			if used[a] || a == gw || a == pfx.Masked().Addr() || isBroadcast(pfx, a) {
				return "", newErr("ip_not_available", "ip %s is not available", want)
			}
			return a.String(), nil
		}
		return "", newErr("ip_not_available", "ip %s is not in a subnet of network %d in %s", want, n.ID, zone)
	}
	for _, sn := range n.Subnets {
		pfx, err := netip.ParsePrefix(sn.IPRange)
		if err != nil || sn.NetworkZone != zone || sn.Type == "vswitch" {
			continue
		}
		for a := pfx.Masked().Addr().Next(); pfx.Contains(a) && !isBroadcast(pfx, a); a = a.Next() {
			if !used[a] && a != gw {
				return a.String(), nil
			}
		}
	}
	return "", newErr("no_subnet_available", "no subnet with free addresses in network %d for network zone %s", n.ID, zone)
}

func isBroadcast(pfx netip.Prefix, a netip.Addr) bool {
	return !pfx.Contains(a.Next())
}

type networkCreateReq struct {
	Name                  string                 `json:"name"`
	IPRange               string                 `json:"ip_range"`
	Subnets               []schema.NetworkSubnet `json:"subnets"`
	Routes                []schema.NetworkRoute  `json:"routes"`
	Labels                *map[string]string     `json:"labels"`
	ExposeRoutesToVSwitch bool                   `json:"expose_routes_to_vswitch"`
}

func deletePrivateNet(pns []PrivateNet, nid int64) []PrivateNet {
	out := pns[:0]
	for _, pn := range pns {
		if pn.Network != nid {
			out = append(out, pn)
		}
	}
	return out
}
