package hcloudemu

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

type primaryIPJSON struct {
	schema.PrimaryIP
	AssigneeType string `json:"assignee_type"`
	// Datacenter is still sent by the API (deprecated in favour of location).
	Datacenter schema.Datacenter `json:"datacenter"`
}

func (c *reqCtx) renderPrimaryIP(ip *PrimaryIP) primaryIPJSON {
	loc, _ := locationByName(ip.Location)
	out := schema.PrimaryIP{ID: ip.ID, IP: ip.IP, Labels: copyLabels(ip.Labels), Name: ip.Name, Type: ip.Type,
		Protection: ip.Protection, DNSPtr: []schema.PrimaryIPDNSPTR{}, AssigneeType: "server", AutoDelete: ip.AutoDelete,
		Created: ip.Created, Location: loc}
	if ip.AssigneeID != 0 {
		id := ip.AssigneeID
		out.AssigneeID = &id
	}
	for _, a := range sortedStrKeys(ip.DNSPtr) {
		out.DNSPtr = append(out.DNSPtr, schema.PrimaryIPDNSPTR{IP: a, DNSPtr: ip.DNSPtr[a]})
	}
	return primaryIPJSON{PrimaryIP: out, AssigneeType: "server", Datacenter: renderDatacenter(datacenterOf(ip.Location))}
}

func sortedStrKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// newPrimaryIP allocates an address and stores a new primary IP.
func (c *reqCtx) newPrimaryIP(typ, location string, autoDelete bool, name string) (*PrimaryIP, *APIError) {
	p := c.p
	if err := primaryIPKind.checkLimit(c); err != nil {
		return nil, err
	}
	id := c.e.st.nextID("primary_ip")
	owner := fmt.Sprintf("primary_ip:%d", id)
	var addr string
	if typ == "ipv4" {
		a, err := c.e.allocIPv4(owner)
		if err != nil {
			return nil, err
		}
		addr = a
	} else {
		addr = c.e.allocIPv6(owner)
	}
	if name == "" {
		name = fmt.Sprintf("primary_ip-%d", id)
	}
	ip := &PrimaryIP{base: base{ID: id, Name: name, Created: c.now, Labels: map[string]string{}}, Type: typ, IP: addr, Location: location,
		AssigneeType: "server", AutoDelete: autoDelete, DNSPtr: map[string]string{}}
	if typ == "ipv4" {
		ip.DNSPtr[addr] = staticPtr(addr)
	}
	p.PrimaryIPs[id] = ip
	return ip, nil
}

// setDNSPtr changes the reverse DNS of a primary IP's address; null
// restores an IPv4 address's static entry.
func setDNSPtr(ip *PrimaryIP, addr string, ptr *string) *APIError {
	reset := ""
	if ip.Type == "ipv4" {
		reset = staticPtr(addr)
	}
	return changePtr(&ip.DNSPtr, "primary ip", addrIn(ip.IP, addr), addr, ptr, reset)
}

type primaryIPCreateReq struct {
	Name         string             `json:"name"`
	Type         string             `json:"type"`
	AssigneeType string             `json:"assignee_type"`
	AssigneeID   *int64             `json:"assignee_id"`
	Labels       *map[string]string `json:"labels"`
	AutoDelete   *bool              `json:"auto_delete"`
	Location     *schema.IDOrName   `json:"location"`
	Datacenter   *schema.IDOrName   `json:"datacenter"`
}

var primaryIPKind = newKind("primary_ip", "primary_ips", func(p *Project) map[int64]*PrimaryIP { return p.PrimaryIPs },
	(*reqCtx).renderPrimaryIP, func(l Limits) int { return l.PrimaryIPs }).
	filterBy("ip", func(ip *PrimaryIP) string { return ip.IP }).
	protect(func(ip *PrimaryIP) *bool { return &ip.Protection.Delete })

func registerPrimaryIPs(h func(string, apiHandler)) {
	primaryIPKind.routes(h, endpoints[*PrimaryIP]{create: create(primaryIPKind, createPrimaryIP), delete: primaryIPKind.remove(releasePrimaryIP),
		update: func(c *reqCtx, ip *PrimaryIP) *APIError { return c.setBool("auto_delete", &ip.AutoDelete) }},
		on("assign", assignPrimaryIP).evenLocked(), on("unassign", unassignPrimaryIP).evenLocked(),
		on("change_dns_ptr", primaryIPDNSPtr).evenLocked())
}

func createPrimaryIP(c *reqCtx, req *primaryIPCreateReq) (int, any, *APIError) {
	if req.Type != "ipv4" && req.Type != "ipv6" {
		return 0, nil, errInvalid("type", "must be ipv4 or ipv6")
	}
	if req.AssigneeType != "" && req.AssigneeType != "server" {
		return 0, nil, errInvalid("assignee_type", "must be server")
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	var srv *Server
	locName, given, lerr := resolveLocation(req.Location, req.Datacenter)
	if lerr != nil {
		return 0, nil, lerr
	}
	if req.AssigneeID != nil {
		if given {
			return 0, nil, errInvalid("assignee_id", "assignee_id and location are mutually exclusive")
		}
		srv = c.p.Servers[*req.AssigneeID]
		if srv == nil {
			return 0, nil, errInvalid("assignee_id", "server not found")
		}
		if srv.Status != "off" {
			return 0, nil, newErr("server_not_stopped", "server %d must be stopped to assign a primary ip", srv.ID)
		}
		if (req.Type == "ipv4" && srv.IPv4ID != 0) || (req.Type == "ipv6" && srv.IPv6ID != 0) {
			return 0, nil, newErr("server_has_"+req.Type, "server %d already has an %s address", srv.ID, req.Type)
		}
		locName = srv.Location
	} else if !given {
		return 0, nil, errInvalid("location", "location or assignee_id is required")
	}
	if err := primaryIPKind.unique(c.p, req.Name, 0); err != nil {
		return 0, nil, err
	}
	auto := req.AutoDelete != nil && *req.AutoDelete
	ip, err := c.newPrimaryIP(req.Type, locName, auto, req.Name)
	if err != nil {
		return 0, nil, err
	}
	ip.Labels = labelsOrEmpty(req.Labels)
	refs := []schema.ActionResourceReference{res("primary_ip", ip.ID)}
	if srv != nil {
		ip.AssigneeID = srv.ID
		if req.Type == "ipv4" {
			srv.IPv4ID = ip.ID
		} else {
			srv.IPv6ID = ip.ID
		}
		refs = append(refs, res("server", srv.ID))
	}
	a := c.newAction("create_primary_ip", refs)
	return http.StatusCreated, map[string]any{"primary_ip": c.renderPrimaryIP(ip), "action": renderAction(a, c.now)}, nil
}

// releasePrimaryIP lets a primary IP be deleted unless it is assigned to a
// running server, and releases its address.
func releasePrimaryIP(c *reqCtx, ip *PrimaryIP) *APIError {
	if s := c.p.Servers[ip.AssigneeID]; ip.AssigneeID != 0 && s != nil {
		if s.Status != "off" {
			return newErr("server_not_stopped", "primary ip %d is assigned to running server %d", ip.ID, s.ID)
		}
		c.unassign(ip)
	}
	c.e.freeIP(ip.IP)
	return nil
}

func assignPrimaryIP(c *reqCtx, ip *PrimaryIP, req *schema.PrimaryIPActionAssignRequest) (*Action, *APIError) {
	if req.AssigneeType != "" && req.AssigneeType != "server" {
		return nil, errInvalid("assignee_type", "must be server")
	}
	s := c.p.Servers[req.AssigneeID]
	if s == nil {
		return nil, errInvalid("assignee_id", "server not found")
	}
	if ip.AssigneeID != 0 {
		return nil, newErr("primary_ip_already_assigned", "primary ip %d is already assigned to server %d", ip.ID, ip.AssigneeID)
	}
	if s.Status != "off" {
		return nil, newErr("server_not_stopped", "server %d must be stopped to assign a primary ip", s.ID)
	}
	if ip.Location != s.Location {
		return nil, newErr("primary_ip_datacenter_mismatch", "primary ip %d is in %s, server in %s", ip.ID, ip.Location, s.Location)
	}
	if (ip.Type == "ipv4" && s.IPv4ID != 0) || (ip.Type == "ipv6" && s.IPv6ID != 0) {
		return nil, newErr("server_has_"+ip.Type, "server %d already has an %s address", s.ID, ip.Type)
	}
	if c.e.lockedBy(c.p, "server", s.ID) != nil {
		return nil, errLocked("server", s.ID)
	}
	ip.AssigneeID, ip.AssigneeType = s.ID, "server"
	if ip.Type == "ipv4" {
		s.IPv4ID = ip.ID
	} else {
		s.IPv6ID = ip.ID
	}
	a := c.newAction("assign_primary_ip", []schema.ActionResourceReference{res("primary_ip", ip.ID), res("server", s.ID)})
	return a, nil
}

func unassignPrimaryIP(c *reqCtx, ip *PrimaryIP, _ *struct{}) (*Action, *APIError) {
	if ip.AssigneeID == 0 {
		return nil, newErr("primary_ip_not_assigned", "primary ip %d is not assigned", ip.ID)
	}
	s := c.p.Servers[ip.AssigneeID]
	if s != nil && s.Status != "off" {
		return nil, newErr("server_not_stopped", "server %d must be stopped to unassign a primary ip", s.ID)
	}
	refs := []schema.ActionResourceReference{res("primary_ip", ip.ID)}
	if s != nil {
		refs = append(refs, res("server", s.ID))
	}
	c.unassign(ip)
	a := c.newAction("unassign_primary_ip", refs)
	return a, nil
}

func primaryIPDNSPtr(c *reqCtx, ip *PrimaryIP, req *schema.PrimaryIPActionChangeDNSPtrRequest) (*Action, *APIError) {
	if aerr := setDNSPtr(ip, req.IP, req.DNSPtr); aerr != nil {
		return nil, aerr
	}
	a := c.newAction("change_dns_ptr", []schema.ActionResourceReference{res("primary_ip", ip.ID)})
	return a, nil
}

func (c *reqCtx) unassign(ip *PrimaryIP) {
	if s := c.p.Servers[ip.AssigneeID]; s != nil {
		if s.IPv4ID == ip.ID {
			s.IPv4ID = 0
		}
		if s.IPv6ID == ip.ID {
			s.IPv6ID = 0
		}
	}
	ip.AssigneeID = 0
}
