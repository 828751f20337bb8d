package hcloudemu

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// serverJSON renders null public addresses like Hetzner does.
type serverJSON struct {
	schema.Server
	PublicNet serverPublicNetJSON `json:"public_net"`
	// Datacenter is still sent by the API (deprecated in favour of location).
	Datacenter schema.Datacenter `json:"datacenter"`
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
	for _, id := range sortedKeys(p.Volumes) {
		if p.Volumes[id].ServerID == s.ID {
			out.Volumes = append(out.Volumes, id)
		}
	}
	if iso, ok := isoByID(s.ISOID); ok {
		r := renderISO(iso)
		out.ISO = &r
	}
	for _, id := range sortedKeys(p.LoadBalancers) {
		if lbTargetsServer(c, p.LoadBalancers[id], s) {
			out.LoadBalancers = append(out.LoadBalancers, id)
		}
	}
	js := serverJSON{Server: out, Datacenter: renderDatacenter(datacenterOf(s.Location)), PublicNet: serverPublicNetJSON{FloatingIPs: []int64{}, Firewalls: []schema.ServerFirewall{}}}
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
	for _, id := range sortedKeys(p.FloatingIPs) {
		if p.FloatingIPs[id].ServerID == s.ID {
			js.PublicNet.FloatingIPs = append(js.PublicNet.FloatingIPs, id)
		}
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

var serverKind = newKind("server", "servers", func(p *Project) map[int64]*Server { return p.Servers },
	(*reqCtx).renderServer, func(l Limits) int { return l.Servers }).hostnames().
	filterBy("status", func(s *Server) string { return s.Status }).sortBy("status", func(s *Server) string { return s.Status })

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
		for _, d := range catalogDatacenters {
			if (dc.ID != 0 && d.id == dc.ID) || (dc.Name != "" && d.name == dc.Name) {
				return d.location, true, nil
			}
		}
		return "", true, errInvalid("datacenter", "datacenter not found")
	}
	return "", false, nil
}

// serverPlan is a validated create request.
type serverPlan struct {
	st         serverTypeSpec
	img        imageSpec
	loc        schema.Location
	keys       []*SSHKey
	pg         *PlacementGroup
	ip4, ip6   *PrimaryIP
	en4, en6   bool
	startAfter bool
}

func createServer(c *reqCtx, req *serverCreateReq) (int, any, *APIError) {
	sp, err := c.planServer(*req)
	if err != nil {
		return 0, nil, err
	}
	p := c.p
	s := &Server{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)}, Status: "initializing",
		ServerTypeID: sp.st.id, Location: sp.loc.Name, ImageID: sp.img.id, UserData: req.UserData, PrimaryDiskSize: sp.st.disk}
	s.ID = c.e.st.nextID("server")
	if sp.pg != nil {
		s.PlacementGroupID = sp.pg.ID
	}
	for _, nid := range req.Networks {
		ip, err := c.allocPrivateIP(p.Networks[nid], sp.loc.NetworkZone, "")
		if err != nil {
			return 0, nil, err
		}
		s.PrivateNets = append(s.PrivateNets, PrivateNet{Network: nid, IP: ip, AliasIPs: []string{}, MAC: macFor(s.ID, nid)})
	}
	for _, x := range []struct {
		on  bool
		ip  *PrimaryIP
		typ string
		dst *int64
	}{{sp.en4, sp.ip4, "ipv4", &s.IPv4ID}, {sp.en6, sp.ip6, "ipv6", &s.IPv6ID}} {
		if !x.on {
			continue
		}
		ip := x.ip
		if ip == nil {
			if ip, err = c.newPrimaryIP(x.typ, sp.loc.Name, true, ""); err != nil {
				return 0, nil, err
			}
		}
		ip.AssigneeID, ip.AssigneeType = s.ID, "server"
		*x.dst = ip.ID
	}
	p.Servers[s.ID] = s
	for _, vid := range req.Volumes {
		p.Volumes[vid].ServerID = s.ID
	}
	for _, f := range req.Firewalls {
		fw := p.Firewalls[f.Firewall]
		if !containsID(fw.ServerIDs, s.ID) {
			fw.ServerIDs = append(fw.ServerIDs, s.ID)
		}
	}
	action := c.newAction("create_server", serverKind.ref(s), locking())
	next := []schema.Action{}
	if sp.startAfter {
		start := c.newAction("start_server", serverKind.ref(s), locking(), after(action))
		next = append(next, renderAction(start, c.now))
	}
	var rootPassword *string
	if len(sp.keys) == 0 {
		pw := randomPassword()
		rootPassword = &pw
	}
	return http.StatusCreated, map[string]any{"server": c.renderServer(s), "action": renderAction(action, c.now),
		"next_actions": next, "root_password": rootPassword}, nil
}

// planServer validates a create request (create has checked the name) in
// Hetzner's order of checks.
func (c *reqCtx) planServer(req serverCreateReq) (serverPlan, *APIError) {
	var sp serverPlan
	var err *APIError
	if sp.st, sp.img, err = serverTypeAndImage(req.ServerType, req.Image); err != nil {
		return sp, err
	}
	if sp.loc, err = c.serverLocation(req, sp.st); err != nil {
		return sp, err
	}
	if err := validateLabels(req.Labels); err != nil {
		return sp, err
	}
	if len(req.UserData) > maxUserData {
		return sp, errInvalid("user_data", "is too long (maximum is 32 KiB)")
	}
	if err := c.serverRefs(req, &sp); err != nil {
		return sp, err
	}
	if err := c.serverPublicNet(req, &sp); err != nil {
		return sp, err
	}
	if err := serverKind.checkNew(c, req.Name); err != nil {
		return sp, err
	}
	sp.startAfter = req.StartAfterCreate == nil || *req.StartAfterCreate
	return sp, nil
}

// serverTypeAndImage resolves the server type and an image of its
// architecture.
func serverTypeAndImage(stRef, imgRef schema.IDOrName) (serverTypeSpec, imageSpec, *APIError) {
	if stRef.ID == 0 && stRef.Name == "" {
		return serverTypeSpec{}, imageSpec{}, errInvalid("server_type", "is required")
	}
	st, ok := serverTypeByIDOrName(stRef)
	if !ok {
		return st, imageSpec{}, errInvalid("server_type", "server type not found")
	}
	if !st.orderable(time.Now()) {
		return st, imageSpec{}, errInvalid("server_type", fmt.Sprintf("server type %s is deprecated and unavailable in all locations", st.name))
	}
	if imgRef.ID == 0 && imgRef.Name == "" {
		return st, imageSpec{}, errInvalid("image", "is required")
	}
	img, ok := imageFor(imgRef, st.arch)
	if !ok {
		return st, img, errInvalid("image", "image not found")
	}
	if img.a != st.arch {
		return st, img, errInvalid("image", "image architecture does not match server type architecture")
	}
	return st, img, nil
}

// serverLocation is the requested location, the placement group's, or the
// server type's first.
func (c *reqCtx) serverLocation(req serverCreateReq, st serverTypeSpec) (schema.Location, *APIError) {
	locName, given, err := resolveLocation(req.Location, req.Datacenter)
	if err != nil {
		return schema.Location{}, err
	}
	if !given {
		locName = st.locations[0]
		if pg := c.p.PlacementGroups[req.PlacementGroup]; pg != nil {
			for _, s := range c.p.Servers {
				if s.PlacementGroupID == pg.ID {
					locName = s.Location
					break
				}
			}
		}
	}
	if !contains(st.locations, locName) {
		return schema.Location{}, errInvalid("server_type", fmt.Sprintf("server type %s is not available in %s", st.name, locName))
	}
	loc, _ := locationByName(locName)
	return loc, nil
}

// serverRefs checks the SSH keys, volumes, networks, firewalls and placement
// group a create request names.
func (c *reqCtx) serverRefs(req serverCreateReq, sp *serverPlan) *APIError {
	p := c.p
	for _, vid := range req.Volumes {
		v := p.Volumes[vid]
		if v == nil {
			return errInvalid("volumes", fmt.Sprintf("volume %d not found", vid))
		}
		if v.ServerID != 0 {
			return newErr("volume_already_attached", "volume %d is already attached to server %d", v.ID, v.ServerID)
		}
		if v.Location != sp.loc.Name {
			return errInvalid("volumes", fmt.Sprintf("volume %d is in %s, the server in %s", v.ID, v.Location, sp.loc.Name))
		}
	}
	for _, k := range req.SSHKeys {
		key := c.sshKeyByIDOrName(k)
		if key == nil {
			return errInvalid("ssh_keys", fmt.Sprintf("ssh key %s not found", idOrNameString(k)))
		}
		sp.keys = append(sp.keys, key)
	}
	seenNet := map[int64]bool{}
	for _, nid := range req.Networks {
		if p.Networks[nid] == nil {
			return errInvalid("networks", fmt.Sprintf("network %d not found", nid))
		}
		if seenNet[nid] {
			return errInvalid("networks", "duplicate network")
		}
		seenNet[nid] = true
	}
	for _, f := range req.Firewalls {
		if p.Firewalls[f.Firewall] == nil {
			return errInvalid("firewalls", fmt.Sprintf("firewall %d not found", f.Firewall))
		}
	}
	if req.PlacementGroup != 0 {
		sp.pg = p.PlacementGroups[req.PlacementGroup]
		if sp.pg == nil {
			return errInvalid("placement_group", "placement group not found")
		}
		if c.placementGroupSize(sp.pg.ID) >= maxServersPerSpreadGroup {
			return newErr("placement_error", "placement group %d is full (spread allows %d servers)", sp.pg.ID, maxServersPerSpreadGroup)
		}
	}
	return nil
}

// serverPublicNet checks the public_net part: which families are on and
// which existing primary IPs are taken.
func (c *reqCtx) serverPublicNet(req serverCreateReq, sp *serverPlan) *APIError {
	sp.en4, sp.en6 = true, true
	pn := req.PublicNet
	if pn == nil {
		return nil
	}
	if pn.EnableIPv4 != nil {
		sp.en4 = *pn.EnableIPv4
	}
	if pn.EnableIPv6 != nil {
		sp.en6 = *pn.EnableIPv6
	}
	for _, x := range []struct {
		id     int64
		enable bool
		typ    string
		dst    **PrimaryIP
	}{{pn.IPv4, sp.en4, "ipv4", &sp.ip4}, {pn.IPv6, sp.en6, "ipv6", &sp.ip6}} {
		if x.id == 0 {
			continue
		}
		field := "public_net." + x.typ
		if !x.enable {
			return errInvalid(field, "primary ip given but enable_"+x.typ+" is false")
		}
		pip := c.p.PrimaryIPs[x.id]
		if pip == nil {
			return errInvalid(field, "primary ip not found")
		}
		if pip.Type != x.typ {
			return newErr("primary_ip_version_mismatch", "primary ip %d is of type %s", pip.ID, pip.Type)
		}
		if pip.AssigneeID != 0 {
			return newErr("primary_ip_assigned", "primary ip %d is already assigned", pip.ID)
		}
		if pip.Location != sp.loc.Name {
			return newErr("primary_ip_datacenter_mismatch", "primary ip %d is in %s, server in %s", pip.ID, pip.Location, sp.loc.Name)
		}
		*x.dst = pip
	}
	return nil
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

func (c *reqCtx) deleteServer() (int, any, *APIError) {
	s, err := serverKind.find(c)
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
	// Volumes are detached and floating IPs unassigned, as on Hetzner.
	for _, v := range p.Volumes {
		if v.ServerID == s.ID {
			v.ServerID = 0
		}
	}
	for _, f := range p.FloatingIPs {
		if f.ServerID == s.ID {
			f.ServerID = 0
		}
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
