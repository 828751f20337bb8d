package hcloudemu

import (
	"fmt"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// FloatingIP is a stored floating IP.
type FloatingIP struct {
	base
	Type         string                      `json:"type"`
	IP           string                      `json:"ip"` // IPv4 address or IPv6 /64
	HomeLocation string                      `json:"home_location"`
	Description  *string                     `json:"description"`
	ServerID     int64                       `json:"server_id"`
	DNSPtr       map[string]string           `json:"dns_ptr"`
	Protection   schema.FloatingIPProtection `json:"protection"`
}

var floatingIPKind = newKind("floating_ip", "floating_ips", func(p *Project) map[int64]*FloatingIP { return p.FloatingIPs },
	(*reqCtx).renderFloatingIP, func(l Limits) int { return l.FloatingIPs }).
	protect(func(f *FloatingIP) *bool { return &f.Protection.Delete }).nameOptional()

func (c *reqCtx) renderFloatingIP(f *FloatingIP) schema.FloatingIP {
	loc, _ := locationByName(f.HomeLocation)
	out := schema.FloatingIP{ID: f.ID, Name: f.Name, Description: f.Description, Created: f.Created, IP: f.IP, Type: f.Type,
		HomeLocation: loc, Protection: f.Protection, Labels: copyLabels(f.Labels), DNSPtr: []schema.FloatingIPDNSPtr{}}
	if f.ServerID != 0 {
		id := f.ServerID
		out.Server = &id
	}
	for _, a := range sortedStrKeys(f.DNSPtr) {
		out.DNSPtr = append(out.DNSPtr, schema.FloatingIPDNSPtr{IP: a, DNSPtr: f.DNSPtr[a]})
	}
	return out
}

func registerFloatingIPs(h func(string, apiHandler)) {
	floatingIPKind.routes(h, endpoints[*FloatingIP]{update: updateFloatingIP, create: create(floatingIPKind, createFloatingIP),
		delete: floatingIPKind.remove(func(c *reqCtx, f *FloatingIP) *APIError { c.e.freeIP(f.IP); return nil })},
		on("assign", assignFloatingIP), on("unassign", unassignFloatingIP), on("change_dns_ptr", floatingIPDNSPtr).evenLocked())
}

// updateFloatingIP applies the description a PUT may carry.
func updateFloatingIP(c *reqCtx, f *FloatingIP) *APIError {
	var req struct {
		Description *string `json:"description"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Description != nil {
		f.Description = req.Description
	}
	return nil
}

func createFloatingIP(c *reqCtx, req *schema.FloatingIPCreateRequest) (int, any, *APIError) {
	if req.Type != "ipv4" && req.Type != "ipv6" {
		return 0, nil, errInvalid("type", "must be ipv4 or ipv6")
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	var srv *Server
	var loc string
	switch {
	case req.Server != nil:
		if srv = c.p.Servers[*req.Server]; srv == nil {
			return 0, nil, errInvalid("server", fmt.Sprintf("server %d not found", *req.Server))
		}
		loc = srv.Location
	case req.HomeLocation != nil:
		l, ok := locationByName(*req.HomeLocation)
		if !ok {
			return 0, nil, errInvalid("home_location", "location not found")
		}
		loc = l.Name
	default:
		return 0, nil, errInvalid("home_location", "home_location or server is required")
	}
	f := &FloatingIP{base: base{Created: c.now, Labels: labelsOrEmpty(req.Labels)}, Type: req.Type, HomeLocation: loc,
		Description: req.Description, DNSPtr: map[string]string{}}
	setIf(&f.Name, req.Name)
	if f.Name != "" {
		if err := floatingIPKind.checkName(c, f.Name, 0); err != nil {
			return 0, nil, err
		}
	}
	if err := floatingIPKind.checkLimit(c); err != nil {
		return 0, nil, err
	}
	floatingIPKind.add(c, f)
	if f.Name == "" {
		f.Name = fmt.Sprintf("floating_ip-%d", f.ID)
	}
	owner := fmt.Sprintf("floating_ip:%d", f.ID)
	if f.Type == "ipv4" {
		ip, err := c.e.allocIPv4(owner)
		if err != nil {
			delete(c.p.FloatingIPs, f.ID)
			return 0, nil, err
		}
		f.IP = ip
		f.DNSPtr[ip] = staticPtr(ip)
	} else {
		f.IP = c.e.allocIPv6(owner)
	}
	var action any
	if srv != nil {
		f.ServerID = srv.ID
		action = renderAction(c.newAction("assign_floating_ip", []schema.ActionResourceReference{res("floating_ip", f.ID), res("server", srv.ID)}), c.now)
	}
	return http.StatusCreated, map[string]any{"floating_ip": c.renderFloatingIP(f), "action": action}, nil
}

func assignFloatingIP(c *reqCtx, f *FloatingIP, req *schema.FloatingIPActionAssignRequest) (*Action, *APIError) {
	s := c.p.Servers[req.Server]
	if s == nil {
		return nil, errInvalid("server", fmt.Sprintf("server %d not found", req.Server))
	}
	home, _ := locationByName(f.HomeLocation)
	at, _ := locationByName(s.Location)
	if home.NetworkZone != at.NetworkZone {
		return nil, newErr("invalid_input", "floating ip %d (home %s) cannot be assigned to a server in network zone %s", f.ID, f.HomeLocation, at.NetworkZone)
	}
	f.ServerID = s.ID
	return c.newAction("assign_floating_ip", []schema.ActionResourceReference{res("floating_ip", f.ID), res("server", s.ID)}), nil
}

func unassignFloatingIP(c *reqCtx, f *FloatingIP, _ *struct{}) (*Action, *APIError) {
	if f.ServerID == 0 {
		return nil, newErr("floating_ip_not_assigned", "floating ip %d is not assigned", f.ID)
	}
	refs := []schema.ActionResourceReference{res("floating_ip", f.ID), res("server", f.ServerID)}
	f.ServerID = 0
	return c.newAction("unassign_floating_ip", refs), nil
}

func floatingIPDNSPtr(c *reqCtx, f *FloatingIP, req *schema.FloatingIPActionChangeDNSPtrRequest) (*Action, *APIError) {
	if err := changePtr(&f.DNSPtr, "floating ip", addrIn(f.IP, req.IP), req.IP, req.DNSPtr, ""); err != nil {
		return nil, err
	}
	return c.newAction("change_dns_ptr", floatingIPKind.ref(f)), nil
}
