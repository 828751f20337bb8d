package hcloudemu

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// serverJSON renders null public addresses like Hetzner does.
type serverJSON struct {
	schema.Server
	PublicNet serverPublicNetJSON `json:"public_net"`
}

type serverPublicNetJSON struct {
	IPv4        *schema.ServerPublicNetIPv4 `json:"ipv4"`
	IPv6        *schema.ServerPublicNetIPv6 `json:"ipv6"`
	FloatingIPs []int64                     `json:"floating_ips"`
	Firewalls   []schema.ServerFirewall     `json:"firewalls"`
}

const maxServersPerSpreadGroup = 10
const maxUserData = 32 * 1024

func (c *reqCtx) renderServer(s *Server) serverJSON {
	p := c.p
	st, _ := serverTypeByID(s.ServerTypeID)
	loc, _ := locationByName(s.Location)
	out := schema.Server{ID: s.ID, Name: s.Name, Status: s.Status, Created: s.Created,
		ServerType: renderServerType(st), IncludedTraffic: 21990232555520, Location: loc,
		RescueEnabled: s.RescueEnabled, Locked: c.e.lockedBy(p, "server", s.ID) != nil,
		Protection: s.Protection, Labels: copyLabels(s.Labels), Volumes: []int64{},
		PrimaryDiskSize: s.PrimaryDiskSize, LoadBalancers: []int64{}, PrivateNet: []schema.ServerPrivateNet{}}
	zero := uint64(0)
	out.OutgoingTraffic, out.IngoingTraffic = &zero, &zero
	if img, ok := imageByID(s.ImageID); ok {
		i := renderImage(img)
		out.Image = &i
	}
	if pg := p.PlacementGroups[s.PlacementGroupID]; pg != nil {
		r := c.renderPlacementGroup(pg)
		out.PlacementGroup = &r
	}
	for _, pn := range s.PrivateNets {
		alias := pn.AliasIPs
		if alias == nil {
			alias = []string{}
		}
		out.PrivateNet = append(out.PrivateNet, schema.ServerPrivateNet{Network: pn.Network, IP: pn.IP, AliasIPs: alias, MACAddress: pn.MAC})
	}
	for _, id := range sortedKeys(p.LoadBalancers) {
		if lbTargetsServer(c, p.LoadBalancers[id], s) {
			out.LoadBalancers = append(out.LoadBalancers, id)
		}
	}
	js := serverJSON{Server: out, PublicNet: serverPublicNetJSON{FloatingIPs: []int64{}, Firewalls: []schema.ServerFirewall{}}}
	if ip := p.PrimaryIPs[s.IPv4ID]; ip != nil {
		js.PublicNet.IPv4 = &schema.ServerPublicNetIPv4{ID: ip.ID, IP: ip.IP, DNSPtr: ip.DNSPtr[ip.IP]}
	}
	if ip := p.PrimaryIPs[s.IPv6ID]; ip != nil {
		v6 := &schema.ServerPublicNetIPv6{ID: ip.ID, IP: ip.IP, DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}
		for _, a := range sortedStrKeys(ip.DNSPtr) {
			v6.DNSPtr = append(v6.DNSPtr, schema.ServerPublicNetIPv6DNSPtr{IP: a, DNSPtr: ip.DNSPtr[a]})
		}
		js.PublicNet.IPv6 = v6
	}
	for _, fid := range sortedKeys(p.Firewalls) {
		if firewallAppliesTo(p.Firewalls[fid], s) {
			js.PublicNet.Firewalls = append(js.PublicNet.Firewalls, schema.ServerFirewall{ID: fid, Status: "applied"})
		}
	}
	return js
}

type serverCreateReq struct {
	Name             string                         `json:"name"`
	ServerType       schema.IDOrName                `json:"server_type"`
	Image            schema.IDOrName                `json:"image"`
	SSHKeys          []schema.IDOrName              `json:"ssh_keys"`
	Location         *schema.IDOrName               `json:"location"`
	Datacenter       *schema.IDOrName               `json:"datacenter"`
	UserData         string                         `json:"user_data"`
	StartAfterCreate *bool                          `json:"start_after_create"`
	Labels           *map[string]string             `json:"labels"`
	Automount        *bool                          `json:"automount"`
	Volumes          []int64                        `json:"volumes"`
	Networks         []int64                        `json:"networks"`
	Firewalls        []schema.ServerCreateFirewalls `json:"firewalls"`
	PlacementGroup   int64                          `json:"placement_group"`
	PublicNet        *struct {
		EnableIPv4 *bool `json:"enable_ipv4"`
		EnableIPv6 *bool `json:"enable_ipv6"`
		IPv4       int64 `json:"ipv4"`
		IPv6       int64 `json:"ipv6"`
	} `json:"public_net"`
}

func registerServers(h func(string, apiHandler)) {
	h("GET /v1/servers", (*reqCtx).listServers)
	h("POST /v1/servers", (*reqCtx).createServer)
	h("GET /v1/servers/{id}", func(c *reqCtx) (int, any, *APIError) {
		s, err := c.server()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"server": c.renderServer(s)}, nil
	})
	h("PUT /v1/servers/{id}", (*reqCtx).updateServer)
	h("DELETE /v1/servers/{id}", (*reqCtx).deleteServer)
	for _, a := range []string{"poweron", "poweroff", "shutdown", "reboot", "reset"} {
		h("POST /v1/servers/{id}/actions/"+a, func(c *reqCtx) (int, any, *APIError) { return c.powerAction(a) })
	}
	h("POST /v1/servers/{id}/actions/rebuild", (*reqCtx).rebuildServer)
	h("POST /v1/servers/{id}/actions/change_type", (*reqCtx).changeServerType)
	h("POST /v1/servers/{id}/actions/attach_to_network", (*reqCtx).attachServerToNetwork)
	h("POST /v1/servers/{id}/actions/detach_from_network", (*reqCtx).detachServerFromNetwork)
	h("POST /v1/servers/{id}/actions/change_alias_ips", (*reqCtx).changeServerAliasIPs)
	h("POST /v1/servers/{id}/actions/add_to_placement_group", (*reqCtx).addServerToPlacementGroup)
	h("POST /v1/servers/{id}/actions/remove_from_placement_group", (*reqCtx).removeServerFromPlacementGroup)
	h("POST /v1/servers/{id}/actions/change_protection", (*reqCtx).changeServerProtection)
	h("POST /v1/servers/{id}/actions/change_dns_ptr", (*reqCtx).changeServerDNSPtr)
}

func (c *reqCtx) server() (*Server, *APIError) {
	id, err := c.pathID()
	if err != nil {
		return nil, err
	}
	s := c.p.Servers[id]
	if s == nil {
		return nil, errNotFound("server", id)
	}
	return s, nil
}

func (c *reqCtx) listServers() (int, any, *APIError) {
	q := c.r.URL.Query()
	statuses := q["status"]
	items := make([]*Server, 0, len(c.p.Servers))
	for _, s := range c.p.Servers {
		if len(statuses) > 0 && !contains(statuses, s.Status) {
			continue
		}
		items = append(items, s)
	}
	page, meta, err := paginate(q, items, listKeys[*Server]{
		id:      func(s *Server) int64 { return s.ID },
		name:    func(s *Server) string { return s.Name },
		labels:  func(s *Server) map[string]string { return s.Labels },
		created: func(s *Server) time.Time { return s.Created },
		extra:   map[string]func(a, b *Server) int{"status": func(a, b *Server) int { return cmpStr(a.Status, b.Status) }},
	})
	if err != nil {
		return 0, nil, err
	}
	out := make([]serverJSON, 0, len(page))
	for _, s := range page {
		out = append(out, c.renderServer(s))
	}
	return http.StatusOK, listResponse("servers", out, meta), nil
}

func (c *reqCtx) nameTaken(kind, name string, except int64) bool {
	p := c.p
	switch kind {
	case "server":
		for _, x := range p.Servers {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "network":
		for _, x := range p.Networks {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "firewall":
		for _, x := range p.Firewalls {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "placement_group":
		for _, x := range p.PlacementGroups {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "load_balancer":
		for _, x := range p.LoadBalancers {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "ssh_key":
		for _, x := range p.SSHKeys {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	case "primary_ip":
		for _, x := range p.PrimaryIPs {
			if x.Name == name && x.ID != except {
				return true
			}
		}
	}
	return false
}

// resolveLocation picks the location from location/datacenter fields.
func resolveLocation(loc, dc *schema.IDOrName) (string, bool, *APIError) {
	if loc != nil && (loc.ID != 0 || loc.Name != "") {
		l, ok := locationByIDOrName(*loc)
		if !ok {
			return "", true, errInvalid("location", "location not found")
		}
		return l.Name, true, nil
	}
	if dc != nil && (dc.ID != 0 || dc.Name != "") {
		for i, l := range catalogLocations {
			if (dc.ID != 0 && int64(i+1) == dc.ID) || (dc.Name != "" && catalogDatacenterNames[l.Name] == dc.Name) {
				return l.Name, true, nil
			}
		}
		return "", true, errInvalid("datacenter", "datacenter not found")
	}
	return "", false, nil
}

func (c *reqCtx) createServer() (int, any, *APIError) {
	var req serverCreateReq
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	p := c.p
	if err := validateName(req.Name, true); err != nil {
		return 0, nil, err
	}
	if req.ServerType.ID == 0 && req.ServerType.Name == "" {
		return 0, nil, errInvalid("server_type", "is required")
	}
	st, ok := serverTypeByIDOrName(req.ServerType)
	if !ok {
		return 0, nil, errInvalid("server_type", "server type not found")
	}
	if req.Image.ID == 0 && req.Image.Name == "" {
		return 0, nil, errInvalid("image", "is required")
	}
	img, ok := imageFor(req.Image, st.arch)
	if !ok {
		return 0, nil, errInvalid("image", "image not found")
	}
	if img.a != st.arch {
		return 0, nil, errInvalid("image", "image architecture does not match server type architecture")
	}
	locName, given, err := resolveLocation(req.Location, req.Datacenter)
	if err != nil {
		return 0, nil, err
	}
	if !given {
		locName = st.locations[0]
		if pg := p.PlacementGroups[req.PlacementGroup]; pg != nil {
			for _, s := range p.Servers {
				if s.PlacementGroupID == pg.ID {
					locName = s.Location
					break
				}
			}
		}
	}
	if !contains(st.locations, locName) {
		return 0, nil, errInvalid("server_type", fmt.Sprintf("server type %s is not available in %s", st.name, locName))
	}
	loc, _ := locationByName(locName)
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	if len(req.UserData) > maxUserData {
		return 0, nil, errInvalid("user_data", "is too long (maximum is 32 KiB)")
	}
	if len(req.Volumes) > 0 {
		return 0, nil, errInvalid("volumes", fmt.Sprintf("volume %d not found", req.Volumes[0]))
	}
	var keys []*SSHKey
	for _, k := range req.SSHKeys {
		key := c.sshKeyByIDOrName(k)
		if key == nil {
			return 0, nil, errInvalid("ssh_keys", fmt.Sprintf("ssh key %s not found", idOrNameString(k)))
		}
		keys = append(keys, key)
	}
	seenNet := map[int64]bool{}
	for _, nid := range req.Networks {
		n := p.Networks[nid]
		if n == nil {
			return 0, nil, errInvalid("networks", fmt.Sprintf("network %d not found", nid))
		}
		if seenNet[nid] {
			return 0, nil, errInvalid("networks", "duplicate network")
		}
		seenNet[nid] = true
	}
	for _, f := range req.Firewalls {
		if p.Firewalls[f.Firewall] == nil {
			return 0, nil, errInvalid("firewalls", fmt.Sprintf("firewall %d not found", f.Firewall))
		}
	}
	var pg *PlacementGroup
	if req.PlacementGroup != 0 {
		pg = p.PlacementGroups[req.PlacementGroup]
		if pg == nil {
			return 0, nil, errInvalid("placement_group", "placement group not found")
		}
		if c.placementGroupSize(pg.ID) >= maxServersPerSpreadGroup {
			return 0, nil, newErr("placement_error", "placement group %d is full (spread allows %d servers)", pg.ID, maxServersPerSpreadGroup)
		}
	}
	enable4, enable6 := true, true
	var ip4, ip6 *PrimaryIP
	if pn := req.PublicNet; pn != nil {
		if pn.EnableIPv4 != nil {
			enable4 = *pn.EnableIPv4
		}
		if pn.EnableIPv6 != nil {
			enable6 = *pn.EnableIPv6
		}
		for _, x := range []struct {
			id     int64
			enable bool
			typ    string
			dst    **PrimaryIP
		}{{pn.IPv4, enable4, "ipv4", &ip4}, {pn.IPv6, enable6, "ipv6", &ip6}} {
			if x.id == 0 {
				continue
			}
			field := "public_net." + x.typ
			if !x.enable {
				return 0, nil, errInvalid(field, "primary ip given but enable_"+x.typ+" is false")
			}
			pip := p.PrimaryIPs[x.id]
			if pip == nil {
				return 0, nil, errInvalid(field, "primary ip not found")
			}
			if pip.Type != x.typ {
				return 0, nil, newErr("primary_ip_version_mismatch", "primary ip %d is of type %s", pip.ID, pip.Type)
			}
			if pip.AssigneeID != 0 {
				return 0, nil, newErr("primary_ip_assigned", "primary ip %d is already assigned", pip.ID)
			}
			if pip.Location != locName {
				return 0, nil, newErr("primary_ip_datacenter_mismatch", "primary ip %d is in %s, server in %s", pip.ID, pip.Location, locName)
			}
			*x.dst = pip
		}
	}
	if c.nameTaken("server", req.Name, 0) {
		return 0, nil, errUnique("name")
	}
	if len(p.Servers) >= p.Limits.Servers {
		return 0, nil, newErr("resource_limit_exceeded", "server limit of %d reached", p.Limits.Servers)
	}
	// All checks passed: create.
	s := &Server{ID: c.e.st.nextID("server"), Name: req.Name, Status: "initializing", Created: c.now,
		ServerTypeID: st.id, Location: locName, ImageID: img.id, UserData: req.UserData,
		Labels: labelsOrEmpty(req.Labels), PrimaryDiskSize: st.disk}
	if pg != nil {
		s.PlacementGroupID = pg.ID
	}
	for _, nid := range req.Networks {
		ip, err := c.allocPrivateIP(p.Networks[nid], loc.NetworkZone, "")
		if err != nil {
			return 0, nil, err
		}
		s.PrivateNets = append(s.PrivateNets, PrivateNet{Network: nid, IP: ip, AliasIPs: []string{}, MAC: macFor(s.ID, nid)})
	}
	if enable4 {
		if ip4 == nil {
			ip4, err = c.newPrimaryIP("ipv4", locName, true, "")
			if err != nil {
				return 0, nil, err
			}
		}
		ip4.AssigneeID, ip4.AssigneeType = s.ID, "server"
		s.IPv4ID = ip4.ID
	}
	if enable6 {
		if ip6 == nil {
			ip6, err = c.newPrimaryIP("ipv6", locName, true, "")
			if err != nil {
				return 0, nil, err
			}
		}
		ip6.AssigneeID, ip6.AssigneeType = s.ID, "server"
		s.IPv6ID = ip6.ID
	}
	p.Servers[s.ID] = s
	for _, f := range req.Firewalls {
		fw := p.Firewalls[f.Firewall]
		if !containsID(fw.ServerIDs, s.ID) {
			fw.ServerIDs = append(fw.ServerIDs, s.ID)
		}
	}
	action := c.newAction("create_server", []schema.ActionResourceReference{res("server", s.ID)}, locking())
	next := []schema.Action{}
	if req.StartAfterCreate == nil || *req.StartAfterCreate {
		start := c.newAction("start_server", []schema.ActionResourceReference{res("server", s.ID)}, locking(), after(action))
		next = append(next, renderAction(start, c.now))
	}
	var rootPassword *string
	if len(keys) == 0 {
		pw := randomPassword()
		rootPassword = &pw
	}
	return http.StatusCreated, map[string]any{"server": c.renderServer(s), "action": renderAction(action, c.now),
		"next_actions": next, "root_password": rootPassword}, nil
}

func idOrNameString(v schema.IDOrName) string {
	if v.ID != 0 {
		return fmt.Sprint(v.ID)
	}
	return v.Name
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func removeID(ids []int64, id int64) []int64 {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func macFor(serverID, networkID int64) string {
	v := uint32(serverID*2654435761) ^ uint32(networkID*40503)
	return fmt.Sprintf("86:00:00:%02x:%02x:%02x", byte(v>>16), byte(v>>8), byte(v))
}

func (c *reqCtx) updateServer() (int, any, *APIError) {
	s, err := c.server()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerUpdateRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	if req.Name != "" {
		if err := validateName(req.Name, true); err != nil {
			return 0, nil, err
		}
		if c.nameTaken("server", req.Name, s.ID) {
			return 0, nil, errUnique("name")
		}
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	if req.Name != "" {
		s.Name = req.Name
	}
	if req.Labels != nil {
		s.Labels = labelsOrEmpty(req.Labels)
	}
	return http.StatusOK, map[string]any{"server": c.renderServer(s)}, nil
}

func (c *reqCtx) deleteServer() (int, any, *APIError) {
	s, err := c.server()
	if err != nil {
		return 0, nil, err
	}
	if s.Protection.Delete {
		return 0, nil, errProtected("server", s.ID)
	}
	c.e.removeServerLocked(c.p, s)
	a := c.newAction("delete_server", []schema.ActionResourceReference{res("server", s.ID)})
	return http.StatusOK, map[string]any{"action": renderAction(a, c.now)}, nil
}

// removeServerLocked deletes a server and everything that only exists with
// it: auto-delete primary IPs, firewall and load balancer references.
func (e *Emulator) removeServerLocked(p *Project, s *Server) {
	for _, id := range []int64{s.IPv4ID, s.IPv6ID} {
		ip := p.PrimaryIPs[id]
		if ip == nil {
			continue
		}
		if ip.AutoDelete {
			e.freeIP(ip.IP)
			delete(p.PrimaryIPs, id)
		} else {
			ip.AssigneeID, ip.AssigneeType = 0, "server"
		}
	}
	for _, fw := range p.Firewalls {
		fw.ServerIDs = removeID(fw.ServerIDs, s.ID)
	}
	for _, lb := range p.LoadBalancers {
		lb.Targets = deleteTargets(lb.Targets, func(t LBTarget) bool { return t.Type == "server" && t.ServerID == s.ID })
	}
	wasOn := s.Status == "running" || s.Status == "starting" || s.Status == "stopping"
	if wasOn {
		e.queueHookLocked("off", p, s, "delete")
	}
	e.queueHookLocked("delete", p, s, "delete")
	delete(p.Servers, s.ID)
	// Running actions on the server fail like on Hetzner.
	for _, ra := range e.running {
		if ra.p == p && hasResource(ra.a, "server", s.ID) && ra.a.Command != "delete_server" {
			ra.a.FailCode, ra.a.FailMessage = "server_deleted", "server was deleted"
			delete(e.running, ra.a.ID)
			fin := time.Now()
			if fin.After(ra.a.Deadline) {
				fin = ra.a.Deadline
			}
			ra.a.Deadline = fin
			e.completeActionLocked(p, ra.a)
		}
	}
}

func deleteTargets(ts []LBTarget, drop func(LBTarget) bool) []LBTarget {
	out := ts[:0]
	for _, t := range ts {
		if !drop(t) {
			out = append(out, t)
		}
	}
	return out
}

func (c *reqCtx) lockedServer() (*Server, *APIError) {
	s, err := c.server()
	if err != nil {
		return nil, err
	}
	if c.e.lockedBy(c.p, "server", s.ID) != nil {
		return nil, errLocked("server", s.ID)
	}
	return s, nil
}

func (c *reqCtx) actionResponse(a *Action) (int, any, *APIError) {
	return http.StatusCreated, map[string]any{"action": renderAction(a, c.now)}, nil
}

func (c *reqCtx) powerAction(kind string) (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var emptyBody struct{}
	if err := decodeBody(c.r, &emptyBody); err != nil {
		return 0, nil, err
	}
	command := map[string]string{"poweron": "start_server", "poweroff": "stop_server", "shutdown": "shutdown_server",
		"reboot": "reboot_server", "reset": "reset_server"}[kind]
	refs := []schema.ActionResourceReference{res("server", s.ID)}
	prev := s.Status
	var a *Action
	switch kind {
	case "poweron":
		if s.Status == "running" {
			a = c.newAction(command, refs, instant())
			break
		}
		s.Status = "starting"
		a = c.newAction(command, refs, locking(), prevStatus(prev))
	case "poweroff", "shutdown":
		if s.Status == "off" {
			a = c.newAction(command, refs, instant())
			break
		}
		s.Status = "stopping"
		a = c.newAction(command, refs, locking(), prevStatus(prev))
	default: // reboot, reset
		a = c.newAction(command, refs, locking(), prevStatus(prev))
	}
	return c.actionResponse(a)
}

func instant() actionOpt            { return func(a *Action) { a.Deadline = a.Started } }
func prevStatus(s string) actionOpt { return func(a *Action) { a.PrevStatus = s } }

func (c *reqCtx) rebuildServer() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionRebuildRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	if s.Protection.Rebuild {
		return 0, nil, errProtected("server", s.ID)
	}
	st, _ := serverTypeByID(s.ServerTypeID)
	if req.Image.ID == 0 && req.Image.Name == "" {
		return 0, nil, errInvalid("image", "is required")
	}
	img, ok := imageFor(req.Image, st.arch)
	if !ok || img.a != st.arch {
		return 0, nil, errInvalid("image", "image not found for the server's architecture")
	}
	if req.UserData != nil && len(*req.UserData) > maxUserData {
		return 0, nil, errInvalid("user_data", "is too long (maximum is 32 KiB)")
	}
	prev := s.Status
	s.Status = "rebuilding"
	a := c.newAction("rebuild_server", []schema.ActionResourceReference{res("server", s.ID)}, locking(), prevStatus(prev),
		func(a *Action) { a.NewImageID, a.NewUserData = img.id, req.UserData })
	var rootPassword *string
	pw := randomPassword()
	rootPassword = &pw
	return http.StatusCreated, map[string]any{"action": renderAction(a, c.now), "root_password": rootPassword}, nil
}

func (c *reqCtx) changeServerType() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionChangeTypeRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	if req.ServerType.ID == 0 && req.ServerType.Name == "" {
		return 0, nil, errInvalid("server_type", "is required")
	}
	nt, ok := serverTypeByIDOrName(req.ServerType)
	if !ok {
		return 0, nil, errInvalid("server_type", "server type not found")
	}
	if s.Status != "off" {
		return 0, nil, newErr("server_not_stopped", "server %d must be stopped to change its type", s.ID)
	}
	cur, _ := serverTypeByID(s.ServerTypeID)
	if nt.arch != cur.arch {
		return 0, nil, newErr("invalid_server_type", "cannot change architecture from %s to %s", cur.arch, nt.arch)
	}
	if !contains(nt.locations, s.Location) {
		return 0, nil, newErr("invalid_server_type", "server type %s is not available in %s", nt.name, s.Location)
	}
	if nt.disk < s.PrimaryDiskSize {
		return 0, nil, newErr("invalid_server_type", "server type %s has a smaller disk (%d GB) than the server (%d GB)", nt.name, nt.disk, s.PrimaryDiskSize)
	}
	upgrade := req.UpgradeDisk
	a := c.newAction("change_server_type", []schema.ActionResourceReference{res("server", s.ID)}, locking(), prevStatus(s.Status),
		func(a *Action) {
			a.NewTypeID = nt.id
			if upgrade {
				a.NewImageID = -1 // marker: upgrade disk
			}
		})
	return c.actionResponse(a)
}

func (c *reqCtx) attachServerToNetwork() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionAttachToNetworkRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	if req.Network == 0 {
		return 0, nil, errInvalid("network", "is required")
	}
	n := c.p.Networks[req.Network]
	if n == nil {
		return 0, nil, errNotFound("network", req.Network)
	}
	for _, pn := range s.PrivateNets {
		if pn.Network == n.ID {
			return 0, nil, newErr("server_already_attached", "server %d is already attached to network %d", s.ID, n.ID)
		}
	}
	loc, _ := locationByName(s.Location)
	want := ""
	if req.IP != nil {
		want = *req.IP
	}
	ip, aerr := c.allocPrivateIP(n, loc.NetworkZone, want)
	if aerr != nil {
		return 0, nil, aerr
	}
	pn := PrivateNet{Network: n.ID, IP: ip, AliasIPs: []string{}, MAC: macFor(s.ID, n.ID)}
	s.PrivateNets = append(s.PrivateNets, pn)
	for _, alias := range req.AliasIPs {
		if alias == nil {
			continue
		}
		aip, aerr := c.allocPrivateIP(n, loc.NetworkZone, *alias)
		if aerr != nil {
			s.PrivateNets = s.PrivateNets[:len(s.PrivateNets)-1]
			return 0, nil, aerr
		}
		s.PrivateNets[len(s.PrivateNets)-1].AliasIPs = append(s.PrivateNets[len(s.PrivateNets)-1].AliasIPs, aip)
	}
	a := c.newAction("attach_to_network", []schema.ActionResourceReference{res("server", s.ID), res("network", n.ID)}, locking())
	return c.actionResponse(a)
}

func (c *reqCtx) detachServerFromNetwork() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionDetachFromNetworkRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	if c.p.Networks[req.Network] == nil {
		return 0, nil, errNotFound("network", req.Network)
	}
	idx := -1
	for i, pn := range s.PrivateNets {
		if pn.Network == req.Network {
			idx = i
		}
	}
	if idx < 0 {
		return 0, nil, newErr("server_not_attached_to_network", "server %d is not attached to network %d", s.ID, req.Network)
	}
	s.PrivateNets = append(s.PrivateNets[:idx], s.PrivateNets[idx+1:]...)
	a := c.newAction("detach_from_network", []schema.ActionResourceReference{res("server", s.ID), res("network", req.Network)}, locking())
	return c.actionResponse(a)
}

func (c *reqCtx) changeServerAliasIPs() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionChangeAliasIPsRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	n := c.p.Networks[req.Network]
	if n == nil {
		return 0, nil, errNotFound("network", req.Network)
	}
	idx := -1
	for i, pn := range s.PrivateNets {
		if pn.Network == req.Network {
			idx = i
		}
	}
	if idx < 0 {
		return 0, nil, newErr("server_not_attached_to_network", "server %d is not attached to network %d", s.ID, req.Network)
	}
	loc, _ := locationByName(s.Location)
	old := s.PrivateNets[idx].AliasIPs
	s.PrivateNets[idx].AliasIPs = []string{}
	for _, a := range req.AliasIPs {
		ip, aerr := c.allocPrivateIP(n, loc.NetworkZone, a)
		if aerr != nil {
			s.PrivateNets[idx].AliasIPs = old
			return 0, nil, aerr
		}
		s.PrivateNets[idx].AliasIPs = append(s.PrivateNets[idx].AliasIPs, ip)
	}
	a := c.newAction("change_alias_ips", []schema.ActionResourceReference{res("server", s.ID), res("network", n.ID)}, locking())
	return c.actionResponse(a)
}

func (c *reqCtx) placementGroupSize(id int64) int {
	n := 0
	for _, s := range c.p.Servers {
		if s.PlacementGroupID == id {
			n++
		}
	}
	return n
}

func (c *reqCtx) addServerToPlacementGroup() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionAddToPlacementGroupRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	pg := c.p.PlacementGroups[req.PlacementGroup]
	if pg == nil {
		return 0, nil, errNotFound("placement_group", req.PlacementGroup)
	}
	if s.Status != "off" {
		return 0, nil, newErr("server_not_stopped", "server %d must be stopped to change its placement group", s.ID)
	}
	if s.PlacementGroupID != 0 {
		return 0, nil, newErr("server_already_added", "server %d is already in placement group %d", s.ID, s.PlacementGroupID)
	}
	if c.placementGroupSize(pg.ID) >= maxServersPerSpreadGroup {
		return 0, nil, newErr("placement_error", "placement group %d is full (spread allows %d servers)", pg.ID, maxServersPerSpreadGroup)
	}
	s.PlacementGroupID = pg.ID
	a := c.newAction("add_to_placement_group", []schema.ActionResourceReference{res("server", s.ID), res("placement_group", pg.ID)}, locking())
	return c.actionResponse(a)
}

func (c *reqCtx) removeServerFromPlacementGroup() (int, any, *APIError) {
	s, err := c.lockedServer()
	if err != nil {
		return 0, nil, err
	}
	var emptyBody struct{}
	if err := decodeBody(c.r, &emptyBody); err != nil {
		return 0, nil, err
	}
	if s.PlacementGroupID == 0 {
		return 0, nil, errInvalid("placement_group", "server is not in a placement group")
	}
	if s.Status != "off" {
		return 0, nil, newErr("server_not_stopped", "server %d must be stopped to change its placement group", s.ID)
	}
	pgID := s.PlacementGroupID
	s.PlacementGroupID = 0
	a := c.newAction("remove_from_placement_group", []schema.ActionResourceReference{res("server", s.ID), res("placement_group", pgID)}, locking())
	return c.actionResponse(a)
}

func (c *reqCtx) changeServerProtection() (int, any, *APIError) {
	s, err := c.server()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionChangeProtectionRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	del, reb := s.Protection.Delete, s.Protection.Rebuild
	if req.Delete != nil {
		del = *req.Delete
	}
	if req.Rebuild != nil {
		reb = *req.Rebuild
	}
	if del != reb {
		return 0, nil, errInvalid("rebuild", "delete and rebuild protection must have the same value")
	}
	s.Protection.Delete, s.Protection.Rebuild = del, reb
	a := c.newAction("change_protection", []schema.ActionResourceReference{res("server", s.ID)})
	return c.actionResponse(a)
}

func (c *reqCtx) changeServerDNSPtr() (int, any, *APIError) {
	s, err := c.server()
	if err != nil {
		return 0, nil, err
	}
	var req schema.ServerActionChangeDNSPtrRequest
	if err := decodeBody(c.r, &req); err != nil {
		return 0, nil, err
	}
	for _, id := range []int64{s.IPv4ID, s.IPv6ID} {
		if ip := c.p.PrimaryIPs[id]; ip != nil && ipBelongs(ip, req.IP) {
			if aerr := setDNSPtr(ip, req.IP, req.DNSPtr); aerr != nil {
				return 0, nil, aerr
			}
			a := c.newAction("change_dns_ptr", []schema.ActionResourceReference{res("server", s.ID)})
			return c.actionResponse(a)
		}
	}
	return 0, nil, errInvalid("ip", "ip does not belong to the server")
}

// ipBelongs reports whether addr is the primary IP (v4) or inside its /64.
func ipBelongs(ip *PrimaryIP, addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	if ip.Type == "ipv4" {
		return a.String() == ip.IP
	}
	pfx, err := netip.ParsePrefix(ip.IP)
	return err == nil && pfx.Contains(a)
}

// applyActionEffect applies what happens when an action finishes.
func (e *Emulator) applyActionEffect(p *Project, a *Action) {
	if len(a.Resources) == 0 || a.Resources[0].Type != "server" {
		return
	}
	s := p.Servers[a.Resources[0].ID]
	if s == nil {
		return
	}
	if a.Status == "error" {
		switch a.Command {
		case "create_server":
			e.removeServerLocked(p, s)
		default:
			if a.PrevStatus != "" {
				s.Status = a.PrevStatus
			}
		}
		return
	}
	switch a.Command {
	case "create_server":
		s.Status = "off"
		for _, ra := range e.running {
			if ra.p == p && ra.a.Command == "start_server" && hasResource(ra.a, "server", s.ID) {
				s.Status = "starting"
			}
		}
	case "start_server":
		if s.Status != "running" {
			reason := "poweron"
			if a.PrevStatus == "" {
				reason = "create"
			}
			s.Status = "running"
			e.queueHookLocked("on", p, s, reason)
		}
	case "stop_server", "shutdown_server":
		if s.Status != "off" {
			s.Status = "off"
			reason := "poweroff"
			if a.Command == "shutdown_server" {
				reason = "shutdown"
			}
			e.queueHookLocked("off", p, s, reason)
		}
	case "reboot_server", "reset_server":
		reason := "reboot"
		if a.Command == "reset_server" {
			reason = "reset"
		}
		if a.PrevStatus == "running" {
			e.queueHookLocked("off", p, s, reason)
		}
		s.Status = "running"
		e.queueHookLocked("on", p, s, reason)
	case "rebuild_server":
		if a.NewImageID > 0 {
			s.ImageID = a.NewImageID
		}
		if a.NewUserData != nil {
			s.UserData = *a.NewUserData
		}
		if a.PrevStatus == "running" {
			e.queueHookLocked("off", p, s, "rebuild")
		}
		s.Status = "running"
		e.queueHookLocked("on", p, s, "rebuild")
	case "change_server_type":
		if st, ok := serverTypeByID(a.NewTypeID); ok {
			s.ServerTypeID = st.id
			if a.NewImageID == -1 {
				s.PrimaryDiskSize = st.disk
			}
		}
		if a.PrevStatus != "" {
			s.Status = a.PrevStatus
		}
	}
}
