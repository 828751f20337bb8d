package hcloudemu

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

var networkKind = newKind("network", "networks", func(p *Project) map[int64]*Network { return p.Networks },
	(*reqCtx).renderNetwork, func(l Limits) int { return l.Networks }).
	protect(func(n *Network) *bool { return &n.Protection.Delete })

func registerNetworks(h func(string, apiHandler)) {
	networkKind.routes(h, endpoints[*Network]{create: create(networkKind, createNetwork), delete: networkKind.remove(detachNetwork),
		update: func(c *reqCtx, n *Network) *APIError {
			return c.setBool("expose_routes_to_vswitch", &n.ExposeRoutesToVSwitch)
		}},
		on("add_subnet", addSubnet), on("delete_subnet", deleteSubnet), on("add_route", addRoute), on("delete_route", deleteRoute),
		on("change_ip_range", changeIPRange))
}

func createNetwork(c *reqCtx, req *networkCreateReq) (int, any, *APIError) {
	if req.IPRange == "" {
		return 0, nil, errInvalid("ip_range", "is required")
	}
	if _, err := validateNetworkRange(req.IPRange); err != nil {
		return 0, nil, err
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	n := &Network{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)}, IPRange: req.IPRange,
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
	if err := networkKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	networkKind.add(c, n)
	return http.StatusCreated, map[string]any{"network": c.renderNetwork(n)}, nil
}

// detachNetwork detaches the servers and load balancers attached to a
// network being deleted, as Hetzner does.
func detachNetwork(c *reqCtx, n *Network) *APIError {
	for _, s := range c.p.Servers {
		s.PrivateNets = deletePrivateNet(s.PrivateNets, n.ID)
	}
	for _, lb := range c.p.LoadBalancers {
		lb.PrivateNets = deletePrivateNet(lb.PrivateNets, n.ID)
	}
	return nil
}

func addSubnet(c *reqCtx, n *Network, req *schema.NetworkSubnet) (*Action, *APIError) {
	if err := c.validateSubnet(n, req, n.Subnets); err != nil {
		return nil, err
	}
	n.Subnets = append(n.Subnets, *req)
	return c.newAction("add_subnet", networkKind.ref(n)), nil
}

func deleteSubnet(c *reqCtx, n *Network, req *schema.NetworkActionDeleteSubnetRequest) (*Action, *APIError) {
	idx := -1
	for i, sn := range n.Subnets {
		if sn.IPRange == req.IPRange {
			idx = i
		}
	}
	if idx < 0 {
		return nil, errInvalid("ip_range", "subnet not found")
	}
	pfx, _ := netip.ParsePrefix(req.IPRange)
	for ip := range c.usedPrivateIPs(n.ID) {
		if pfx.Contains(ip) {
			return nil, newErr("service_error", "cannot delete subnet %s: servers are attached", req.IPRange)
		}
	}
	n.Subnets = append(n.Subnets[:idx], n.Subnets[idx+1:]...)
	return c.newAction("delete_subnet", networkKind.ref(n)), nil
}

func addRoute(c *reqCtx, n *Network, req *schema.NetworkRoute) (*Action, *APIError) {
	if err := c.validateRoute(n, *req); err != nil {
		return nil, err
	}
	for _, r := range n.Routes {
		if r.Destination == req.Destination {
			return nil, errInvalid("destination", "a route to this destination exists")
		}
	}
	n.Routes = append(n.Routes, *req)
	return c.newAction("add_route", networkKind.ref(n)), nil
}

func deleteRoute(c *reqCtx, n *Network, req *schema.NetworkRoute) (*Action, *APIError) {
	idx := -1
	for i, r := range n.Routes {
		if r.Destination == req.Destination && r.Gateway == req.Gateway {
			idx = i
		}
	}
	if idx < 0 {
		return nil, errInvalid("destination", "route not found")
	}
	n.Routes = append(n.Routes[:idx], n.Routes[idx+1:]...)
	return c.newAction("delete_route", networkKind.ref(n)), nil
}

func changeIPRange(c *reqCtx, n *Network, req *schema.NetworkActionChangeIPRangeRequest) (*Action, *APIError) {
	np, verr := validateNetworkRange(req.IPRange)
	if verr != nil {
		return nil, verr
	}
	old, _ := netip.ParsePrefix(n.IPRange)
	if !(np.Bits() <= old.Bits() && np.Contains(old.Addr())) {
		return nil, errInvalid("ip_range", fmt.Sprintf("can only be extended: new range must contain %s", n.IPRange))
	}
	n.IPRange = np.String()
	for i := range n.Subnets {
		n.Subnets[i].Gateway = gateway(n)
	}
	return c.newAction("change_ip_range", networkKind.ref(n), locking()), nil
}
