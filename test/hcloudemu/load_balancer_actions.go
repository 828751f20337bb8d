package hcloudemu

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

var loadBalancerKind = newKind("load_balancer", "load_balancers",
	func(p *Project) map[int64]*LoadBalancer { return p.LoadBalancers }, (*reqCtx).renderLoadBalancer,
	func(l Limits) int { return l.LoadBalancers }).protect(func(lb *LoadBalancer) *bool { return &lb.Protection.Delete })

func registerLoadBalancers(h func(string, apiHandler)) {
	loadBalancerKind.routes(h, endpoints[*LoadBalancer]{create: create(loadBalancerKind, createLoadBalancer),
		delete: (*reqCtx).deleteLoadBalancer},
		on("add_service", lbAddService), on("update_service", lbUpdateService), on("delete_service", lbDeleteService),
		on("add_target", lbAddTarget), on("remove_target", lbRemoveTarget), on("change_algorithm", lbChangeAlgorithm),
		on("change_type", lbChangeType), on("attach_to_network", lbAttachToNetwork), on("detach_from_network", lbDetachFromNetwork),
		on("enable_public_interface", lbEnablePublicInterface), on("disable_public_interface", lbDisablePublicInterface),
		on("change_dns_ptr", lbChangeDNSPtr).evenLocked())
}

func createLoadBalancer(c *reqCtx, req *lbCreateReq) (int, any, *APIError) {
	if req.LoadBalancerType.ID == 0 && req.LoadBalancerType.Name == "" {
		return 0, nil, errInvalid("load_balancer_type", "is required")
	}
	lt, ok := lbTypeByIDOrName(req.LoadBalancerType)
	if !ok {
		return 0, nil, errInvalid("load_balancer_type", "load balancer type not found")
	}
	algo := "round_robin"
	if req.Algorithm != nil {
		algo = req.Algorithm.Type
		if algo != "round_robin" && algo != "least_connections" {
			return 0, nil, errInvalid("algorithm.type", "must be round_robin or least_connections")
		}
	}
	locName, lerr := lbLocation(req)
	if lerr != nil {
		return 0, nil, lerr
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	if err := loadBalancerKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	public := req.PublicInterface == nil || *req.PublicInterface
	if !public && req.Network == nil {
		return 0, nil, errInvalid("public_interface", "a load balancer without public interface needs a network")
	}
	lb := &LoadBalancer{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)},
		TypeID: lt.id, Location: locName, Algorithm: algo, PublicEnabled: public, Services: []schema.LoadBalancerService{},
		Targets: []LBTarget{}, PrivateNets: []PrivateNet{}}
	if req.Network != nil {
		if err := c.attachLB(lb, *req.Network, ""); err != nil {
			return 0, nil, err
		}
	}
	for _, s := range req.Services {
		if err := c.addService(lb, s); err != nil {
			return 0, nil, err
		}
	}
	for _, t := range req.Targets {
		if err := c.addTarget(lb, t); err != nil {
			return 0, nil, err
		}
	}
	lb.ID = c.e.st.nextID("load_balancer")
	if err := c.allocLBAddresses(lb); err != nil {
		return 0, nil, err
	}
	c.p.LoadBalancers[lb.ID] = lb
	a := c.newAction("create_load_balancer", loadBalancerKind.ref(lb), locking())
	return http.StatusCreated, map[string]any{"load_balancer": c.renderLoadBalancer(lb), "action": renderAction(a, c.now)}, nil
}

// lbLocation is the requested location, or the first of the requested
// network zone.
func lbLocation(req *lbCreateReq) (string, *APIError) {
	locName, given, err := resolveLocation(req.Location, nil)
	if err != nil || given {
		return locName, err
	}
	if req.NetworkZone == nil || !networkZones[*req.NetworkZone] {
		return "", errInvalid("location", "location or a valid network_zone is required")
	}
	for _, l := range catalogLocations {
		if l.NetworkZone == *req.NetworkZone {
			return l.Name, nil
		}
	}
	return "", nil
}

// allocLBAddresses gives a new load balancer its public IPv4 address and
// the first address of an IPv6 /64.
func (c *reqCtx) allocLBAddresses(lb *LoadBalancer) *APIError {
	owner := fmt.Sprintf("load_balancer:%d", lb.ID)
	v4, err := c.e.allocIPv4(owner)
	if err != nil {
		return err
	}
	lb.IPv4 = v4
	v6, _ := netip.ParsePrefix(c.e.allocIPv6(owner))
	lb.IPv6 = v6.Addr().Next().String()
	c.e.st.IPsInUse[lb.IPv6] = owner
	delete(c.e.st.IPsInUse, v6.String())
	return nil
}

func (c *reqCtx) deleteLoadBalancer() (int, any, *APIError) {
	lb, err := loadBalancerKind.findDeletable(c)
	if err != nil {
		return 0, nil, err
	}
	c.e.freeIP(lb.IPv4)
	c.e.freeIP(lb.IPv6)
	delete(c.p.LoadBalancers, lb.ID)
	a := c.newAction("delete_load_balancer", loadBalancerKind.ref(lb))
	return http.StatusOK, map[string]any{"action": renderAction(a, c.now)}, nil
}

func lbAddService(c *reqCtx, lb *LoadBalancer, req *lbServiceReq) (*Action, *APIError) {
	if err := c.addService(lb, *req); err != nil {
		return nil, err
	}
	return c.newAction("add_service", loadBalancerKind.ref(lb)), nil
}

func lbUpdateService(c *reqCtx, lb *LoadBalancer, req *lbServiceReq) (*Action, *APIError) {
	if req.ListenPort == nil {
		return nil, errInvalid("listen_port", "is required")
	}
	for i := range lb.Services {
		if lb.Services[i].ListenPort == *req.ListenPort {
			svc := cloneService(lb.Services[i])
			if err := buildService(&svc, *req, false, c.p.Certificates); err != nil {
				return nil, err
			}
			lb.Services[i] = svc
			return c.newAction("update_service", loadBalancerKind.ref(lb)), nil
		}
	}
	return nil, errInvalid("listen_port", "service not found")
}

func lbDeleteService(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerDeleteServiceRequest) (*Action, *APIError) {
	for i := range lb.Services {
		if lb.Services[i].ListenPort == req.ListenPort {
			lb.Services = append(lb.Services[:i], lb.Services[i+1:]...)
			return c.newAction("delete_service", loadBalancerKind.ref(lb)), nil
		}
	}
	return nil, errInvalid("listen_port", "service not found")
}

func lbAddTarget(c *reqCtx, lb *LoadBalancer, req *lbTargetReq) (*Action, *APIError) {
	if err := c.addTarget(lb, *req); err != nil {
		return nil, err
	}
	return c.newAction("add_target", loadBalancerKind.ref(lb)), nil
}

func lbRemoveTarget(c *reqCtx, lb *LoadBalancer, req *lbTargetReq) (*Action, *APIError) {
	for i, t := range lb.Targets {
		match := t.Type == req.Type
		switch req.Type {
		case "server":
			match = match && req.Server != nil && t.ServerID == req.Server.ID
		case "label_selector":
			match = match && req.LabelSelector != nil && t.Selector == req.LabelSelector.Selector
		case "ip":
			match = match && req.IP != nil && t.IP == req.IP.IP
		default:
			return nil, errInvalid("type", "must be one of server, label_selector, ip")
		}
		if match {
			lb.Targets = append(lb.Targets[:i], lb.Targets[i+1:]...)
			return c.newAction("remove_target", loadBalancerKind.ref(lb)), nil
		}
	}
	return nil, errInvalid("target", "target not found")
}

func lbChangeAlgorithm(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerActionChangeAlgorithmRequest) (*Action, *APIError) {
	if req.Type != "round_robin" && req.Type != "least_connections" {
		return nil, errInvalid("type", "must be round_robin or least_connections")
	}
	lb.Algorithm = req.Type
	return c.newAction("change_algorithm", loadBalancerKind.ref(lb)), nil
}

func lbChangeType(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerActionChangeTypeRequest) (*Action, *APIError) {
	t, ok := lbTypeByIDOrName(req.LoadBalancerType)
	if !ok {
		return nil, errInvalid("load_balancer_type", "load balancer type not found")
	}
	if len(lb.Services) > t.services || len(lb.Targets) > t.targets {
		return nil, newErr("invalid_load_balancer_type", "load balancer type %s allows %d services and %d targets", t.name, t.services, t.targets)
	}
	lb.TypeID = t.id
	return c.newAction("change_load_balancer_type", loadBalancerKind.ref(lb), locking()), nil
}

func lbAttachToNetwork(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerActionAttachToNetworkRequest) (*Action, *APIError) {
	want := ""
	if req.IP != nil {
		want = *req.IP
	}
	if err := c.attachLB(lb, req.Network, want); err != nil {
		return nil, err
	}
	return c.newAction("attach_to_network", append(loadBalancerKind.ref(lb), res("network", req.Network)), locking()), nil
}

func lbDetachFromNetwork(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerActionDetachFromNetworkRequest) (*Action, *APIError) {
	found := false
	for _, pn := range lb.PrivateNets {
		found = found || pn.Network == req.Network
	}
	if !found {
		return nil, newErr("load_balancer_not_attached_to_network", "load balancer %d is not attached to network %d", lb.ID, req.Network)
	}
	if !lb.PublicEnabled && len(lb.PrivateNets) == 1 {
		return nil, errInvalid("network", "cannot detach the last network while the public interface is disabled")
	}
	lb.PrivateNets = deletePrivateNet(lb.PrivateNets, req.Network)
	return c.newAction("detach_from_network", append(loadBalancerKind.ref(lb), res("network", req.Network)), locking()), nil
}

func lbEnablePublicInterface(c *reqCtx, lb *LoadBalancer, _ *struct{}) (*Action, *APIError) {
	lb.PublicEnabled = true
	return c.newAction("enable_public_interface", loadBalancerKind.ref(lb)), nil
}

func lbDisablePublicInterface(c *reqCtx, lb *LoadBalancer, _ *struct{}) (*Action, *APIError) {
	if len(lb.PrivateNets) == 0 {
		return nil, newErr("load_balancer_not_attached_to_network", "load balancer %d must be attached to a network first", lb.ID)
	}
	for _, t := range lb.Targets {
		if !t.UsePrivateIP && t.Type != "ip" {
			return nil, newErr("targets_without_use_private_ip", "load balancer %d has targets using public IPs", lb.ID)
		}
	}
	lb.PublicEnabled = false
	return c.newAction("disable_public_interface", loadBalancerKind.ref(lb)), nil
}

func lbChangeDNSPtr(c *reqCtx, lb *LoadBalancer, req *schema.LoadBalancerActionChangeDNSPtrRequest) (*Action, *APIError) {
	belongs := req.IP == lb.IPv4 || req.IP == lb.IPv6
	if err := changePtr(&lb.DNSPtr, "load balancer", belongs, req.IP, req.DNSPtr, ""); err != nil {
		return nil, err
	}
	return c.newAction("change_dns_ptr", loadBalancerKind.ref(lb)), nil
}
