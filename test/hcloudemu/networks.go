package hcloudemu

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

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
// first free address of a subnet in zone: .1 is the gateway's, servers get
// .2 upward.
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
			first := pfx.Masked().Addr().Next()
			if used[a] || a == gw || a == first || a == pfx.Masked().Addr() || isBroadcast(pfx, a) {
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
		for a := pfx.Masked().Addr().Next().Next(); pfx.Contains(a) && !isBroadcast(pfx, a); a = a.Next() {
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

func registerNetworks(h func(string, apiHandler)) {
	h("GET /v1/networks", func(c *reqCtx) (int, any, *APIError) {
		q := c.r.URL.Query()
		items := make([]*Network, 0, len(c.p.Networks))
		for _, n := range c.p.Networks {
			items = append(items, n)
		}
		page, meta, err := paginate(q, items, listKeys[*Network]{
			id: func(x *Network) int64 { return x.ID }, name: func(x *Network) string { return x.Name },
			labels: func(x *Network) map[string]string { return x.Labels }, created: func(x *Network) time.Time { return x.Created },
		})
		if err != nil {
			return 0, nil, err
		}
		out := make([]schema.Network, 0, len(page))
		for _, x := range page {
			out = append(out, c.renderNetwork(x))
		}
		return http.StatusOK, listResponse("networks", out, meta), nil
	})
	h("POST /v1/networks", func(c *reqCtx) (int, any, *APIError) {
		var req networkCreateReq
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if err := validateName(req.Name, false); err != nil {
			return 0, nil, err
		}
		if req.IPRange == "" {
			return 0, nil, errInvalid("ip_range", "is required")
		}
		if _, err := validateNetworkRange(req.IPRange); err != nil {
			return 0, nil, err
		}
		if err := validateLabels(req.Labels); err != nil {
			return 0, nil, err
		}
		n := &Network{Name: req.Name, Created: c.now, IPRange: req.IPRange, Labels: labelsOrEmpty(req.Labels),
			ExposeRoutesToVSwitch: req.ExposeRoutesToVSwitch, Subnets: []schema.NetworkSubnet{}, Routes: []schema.NetworkRoute{}}
		for _, sn := range req.Subnets {
			if err := c.validateSubnet(n, &sn, n.Subnets); err != nil {
				return 0, nil, err
			}
			n.Subnets = append(n.Subnets, sn)
		}
		for _, r := range req.Routes {
			if err := c.validateRoute(n, r); err != nil {
				return 0, nil, err
			}
			n.Routes = append(n.Routes, r)
		}
		if c.nameTaken("network", req.Name, 0) {
			return 0, nil, errUnique("name")
		}
		if len(c.p.Networks) >= c.p.Limits.Networks {
			return 0, nil, newErr("resource_limit_exceeded", "network limit of %d reached", c.p.Limits.Networks)
		}
		n.ID = c.e.st.nextID("network")
		c.p.Networks[n.ID] = n
		return http.StatusCreated, map[string]any{"network": c.renderNetwork(n)}, nil
	})
	get := func(c *reqCtx) (*Network, *APIError) {
		id, err := c.pathID()
		if err != nil {
			return nil, err
		}
		n := c.p.Networks[id]
		if n == nil {
			return nil, errNotFound("network", id)
		}
		return n, nil
	}
	getUnlocked := func(c *reqCtx) (*Network, *APIError) {
		n, err := get(c)
		if err != nil {
			return nil, err
		}
		if c.e.lockedBy(c.p, "network", n.ID) != nil {
			return nil, errLocked("network", n.ID)
		}
		return n, nil
	}
	h("GET /v1/networks/{id}", func(c *reqCtx) (int, any, *APIError) {
		n, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"network": c.renderNetwork(n)}, nil
	})
	h("PUT /v1/networks/{id}", func(c *reqCtx) (int, any, *APIError) {
		n, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkUpdateRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if req.Name != "" {
			if err := validateName(req.Name, false); err != nil {
				return 0, nil, err
			}
			if c.nameTaken("network", req.Name, n.ID) {
				return 0, nil, errUnique("name")
			}
		}
		if err := validateLabels(req.Labels); err != nil {
			return 0, nil, err
		}
		if req.Name != "" {
			n.Name = req.Name
		}
		if req.Labels != nil {
			n.Labels = labelsOrEmpty(req.Labels)
		}
		if req.ExposeRoutesToVSwitch != nil {
			n.ExposeRoutesToVSwitch = *req.ExposeRoutesToVSwitch
		}
		return http.StatusOK, map[string]any{"network": c.renderNetwork(n)}, nil
	})
	h("DELETE /v1/networks/{id}", func(c *reqCtx) (int, any, *APIError) {
		n, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		if n.Protection.Delete {
			return 0, nil, errProtected("network", n.ID)
		}
		// Attached servers and load balancers are detached, as on Hetzner.
		for _, s := range c.p.Servers {
			s.PrivateNets = deletePrivateNet(s.PrivateNets, n.ID)
		}
		for _, lb := range c.p.LoadBalancers {
			lb.PrivateNets = deletePrivateNet(lb.PrivateNets, n.ID)
		}
		delete(c.p.Networks, n.ID)
		return http.StatusNoContent, nil, nil
	})
	h("POST /v1/networks/{id}/actions/add_subnet", func(c *reqCtx) (int, any, *APIError) {
		n, err := getUnlocked(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkSubnet
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if err := c.validateSubnet(n, &req, n.Subnets); err != nil {
			return 0, nil, err
		}
		n.Subnets = append(n.Subnets, req)
		return c.actionResponse(c.newAction("add_subnet", []schema.ActionResourceReference{res("network", n.ID)}, locking()))
	})
	h("POST /v1/networks/{id}/actions/delete_subnet", func(c *reqCtx) (int, any, *APIError) {
		n, err := getUnlocked(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkActionDeleteSubnetRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		idx := -1
		for i, sn := range n.Subnets {
			if sn.IPRange == req.IPRange {
				idx = i
			}
		}
		if idx < 0 {
			return 0, nil, errInvalid("ip_range", "subnet not found")
		}
		pfx, _ := netip.ParsePrefix(req.IPRange)
		for ip := range c.usedPrivateIPs(n.ID) {
			if pfx.Contains(ip) {
				return 0, nil, newErr("service_error", "cannot delete subnet %s: servers are attached", req.IPRange)
			}
		}
		n.Subnets = append(n.Subnets[:idx], n.Subnets[idx+1:]...)
		return c.actionResponse(c.newAction("delete_subnet", []schema.ActionResourceReference{res("network", n.ID)}, locking()))
	})
	h("POST /v1/networks/{id}/actions/add_route", func(c *reqCtx) (int, any, *APIError) {
		n, err := getUnlocked(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkRoute
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if err := c.validateRoute(n, req); err != nil {
			return 0, nil, err
		}
		for _, r := range n.Routes {
			if r.Destination == req.Destination {
				return 0, nil, errInvalid("destination", "a route to this destination exists")
			}
		}
		n.Routes = append(n.Routes, req)
		return c.actionResponse(c.newAction("add_route", []schema.ActionResourceReference{res("network", n.ID)}, locking()))
	})
	h("POST /v1/networks/{id}/actions/delete_route", func(c *reqCtx) (int, any, *APIError) {
		n, err := getUnlocked(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkRoute
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		idx := -1
		for i, r := range n.Routes {
			if r.Destination == req.Destination && r.Gateway == req.Gateway {
				idx = i
			}
		}
		if idx < 0 {
			return 0, nil, errInvalid("destination", "route not found")
		}
		n.Routes = append(n.Routes[:idx], n.Routes[idx+1:]...)
		return c.actionResponse(c.newAction("delete_route", []schema.ActionResourceReference{res("network", n.ID)}, locking()))
	})
	h("POST /v1/networks/{id}/actions/change_ip_range", func(c *reqCtx) (int, any, *APIError) {
		n, err := getUnlocked(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkActionChangeIPRangeRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		np, verr := validateNetworkRange(req.IPRange)
		if verr != nil {
			return 0, nil, verr
		}
		old, _ := netip.ParsePrefix(n.IPRange)
		if !(np.Bits() <= old.Bits() && np.Contains(old.Addr())) {
			return 0, nil, errInvalid("ip_range", fmt.Sprintf("can only be extended: new range must contain %s", n.IPRange))
		}
		n.IPRange = np.String()
		for i := range n.Subnets {
			n.Subnets[i].Gateway = gateway(n)
		}
		return c.actionResponse(c.newAction("change_ip_range", []schema.ActionResourceReference{res("network", n.ID)}, locking()))
	})
	h("POST /v1/networks/{id}/actions/change_protection", func(c *reqCtx) (int, any, *APIError) {
		n, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.NetworkActionChangeProtectionRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if req.Delete != nil {
			n.Protection.Delete = *req.Delete
		}
		return c.actionResponse(c.newAction("change_protection", []schema.ActionResourceReference{res("network", n.ID)}))
	})
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
