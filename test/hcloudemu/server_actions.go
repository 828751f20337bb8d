package hcloudemu

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

func registerServers(h func(string, apiHandler)) {
	actions := []kindAction[*Server]{reply("rebuild", rebuildServer), on("change_type", changeServerType),
		on("attach_to_network", attachServerToNetwork), on("detach_from_network", detachServerFromNetwork),
		on("change_alias_ips", changeServerAliasIPs), on("add_to_placement_group", addServerToPlacementGroup),
		on("remove_from_placement_group", removeServerFromPlacementGroup),
		on("change_protection", changeServerProtection).evenLocked(), reply("enable_rescue", enableRescue),
		on("disable_rescue", disableRescue), on("attach_iso", attachISO), on("detach_iso", detachISO),
		on("change_dns_ptr", changeServerDNSPtr).evenLocked()}
	for _, kind := range []string{"poweron", "poweroff", "shutdown", "reboot", "reset"} {
		actions = append(actions, on(kind, func(c *reqCtx, s *Server, _ *struct{}) (*Action, *APIError) { return powerAction(c, s, kind), nil }))
	}
	serverKind.routes(h, endpoints[*Server]{create: create(serverKind, createServer), delete: (*reqCtx).deleteServer}, actions...)
}

func powerAction(c *reqCtx, s *Server, kind string) *Action {
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
	return a
}

func instant() actionOpt            { return func(a *Action) { a.Deadline = a.Started } }
func prevStatus(s string) actionOpt { return func(a *Action) { a.PrevStatus = s } }

func rebuildServer(c *reqCtx, s *Server, req *schema.ServerActionRebuildRequest) (int, any, *APIError) {
	if s.Protection.Rebuild {
		return 0, nil, errProtected("server", s.ID, "rebuild")
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

func changeServerType(c *reqCtx, s *Server, req *schema.ServerActionChangeTypeRequest) (*Action, *APIError) {
	if req.ServerType.ID == 0 && req.ServerType.Name == "" {
		return nil, errInvalid("server_type", "is required")
	}
	nt, ok := serverTypeByIDOrName(req.ServerType)
	if !ok {
		return nil, errInvalid("server_type", "server type not found")
	}
	if !nt.orderable(time.Now()) {
		return nil, errInvalid("server_type", fmt.Sprintf("server type %s is deprecated and unavailable in all locations", nt.name))
	}
	if s.Status != "off" {
		return nil, newErr("server_not_stopped", "server %d must be stopped to change its type", s.ID)
	}
	cur, _ := serverTypeByID(s.ServerTypeID)
	if nt.arch != cur.arch {
		return nil, newErr("invalid_server_type", "cannot change architecture from %s to %s", cur.arch, nt.arch)
	}
	if !contains(nt.locations, s.Location) {
		return nil, newErr("invalid_server_type", "server type %s is not available in %s", nt.name, s.Location)
	}
	if nt.disk < s.PrimaryDiskSize {
		return nil, newErr("invalid_server_type", "server type %s has a smaller disk (%d GB) than the server (%d GB)", nt.name, nt.disk, s.PrimaryDiskSize)
	}
	upgrade := req.UpgradeDisk
	a := c.newAction("change_server_type", []schema.ActionResourceReference{res("server", s.ID)}, locking(), prevStatus(s.Status),
		func(a *Action) {
			a.NewTypeID = nt.id
			if upgrade {
				a.NewImageID = -1 // marker: upgrade disk
			}
		})
	return a, nil
}

func attachServerToNetwork(c *reqCtx, s *Server, req *schema.ServerActionAttachToNetworkRequest) (*Action, *APIError) {
	if req.Network == 0 {
		return nil, errInvalid("network", "is required")
	}
	n := c.p.Networks[req.Network]
	if n == nil {
		return nil, errNotFound("network", req.Network)
	}
	for _, pn := range s.PrivateNets {
		if pn.Network == n.ID {
			return nil, newErr("server_already_attached", "server %d is already attached to network %d", s.ID, n.ID)
		}
	}
	loc, _ := locationByName(s.Location)
	want := ""
	if req.IP != nil {
		want = *req.IP
	}
	ip, aerr := c.allocPrivateIP(n, loc.NetworkZone, want)
	if aerr != nil {
		return nil, aerr
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
			return nil, aerr
		}
		s.PrivateNets[len(s.PrivateNets)-1].AliasIPs = append(s.PrivateNets[len(s.PrivateNets)-1].AliasIPs, aip)
	}
	a := c.newAction("attach_to_network", []schema.ActionResourceReference{res("server", s.ID), res("network", n.ID)}, locking())
	return a, nil
}

func detachServerFromNetwork(c *reqCtx, s *Server, req *schema.ServerActionDetachFromNetworkRequest) (*Action, *APIError) {
	if c.p.Networks[req.Network] == nil {
		return nil, errNotFound("network", req.Network)
	}
	idx, err := attachedAt(s, req.Network)
	if err != nil {
		return nil, err
	}
	s.PrivateNets = append(s.PrivateNets[:idx], s.PrivateNets[idx+1:]...)
	a := c.newAction("detach_from_network", []schema.ActionResourceReference{res("server", s.ID), res("network", req.Network)}, locking())
	return a, nil
}

func changeServerAliasIPs(c *reqCtx, s *Server, req *schema.ServerActionChangeAliasIPsRequest) (*Action, *APIError) {
	n := c.p.Networks[req.Network]
	if n == nil {
		return nil, errNotFound("network", req.Network)
	}
	idx, err := attachedAt(s, req.Network)
	if err != nil {
		return nil, err
	}
	loc, _ := locationByName(s.Location)
	old := s.PrivateNets[idx].AliasIPs
	s.PrivateNets[idx].AliasIPs = []string{}
	for _, a := range req.AliasIPs {
		ip, aerr := c.allocPrivateIP(n, loc.NetworkZone, a)
		if aerr != nil {
			s.PrivateNets[idx].AliasIPs = old
			return nil, aerr
		}
		s.PrivateNets[idx].AliasIPs = append(s.PrivateNets[idx].AliasIPs, ip)
	}
	a := c.newAction("change_alias_ips", []schema.ActionResourceReference{res("server", s.ID), res("network", n.ID)}, locking())
	return a, nil
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

func addServerToPlacementGroup(c *reqCtx, s *Server, req *schema.ServerActionAddToPlacementGroupRequest) (*Action, *APIError) {
	pg := c.p.PlacementGroups[req.PlacementGroup]
	if pg == nil {
		return nil, errNotFound("placement_group", req.PlacementGroup)
	}
	if s.Status != "off" {
		return nil, newErr("server_not_stopped", "server %d must be stopped to change its placement group", s.ID)
	}
	if s.PlacementGroupID != 0 {
		return nil, newErr("server_already_added", "server %d is already in placement group %d", s.ID, s.PlacementGroupID)
	}
	if c.placementGroupSize(pg.ID) >= maxServersPerSpreadGroup {
		return nil, newErr("placement_error", "placement group %d is full (spread allows %d servers)", pg.ID, maxServersPerSpreadGroup)
	}
	s.PlacementGroupID = pg.ID
	a := c.newAction("add_to_placement_group", []schema.ActionResourceReference{res("server", s.ID), res("placement_group", pg.ID)}, locking())
	return a, nil
}

func removeServerFromPlacementGroup(c *reqCtx, s *Server, _ *struct{}) (*Action, *APIError) {
	if s.PlacementGroupID == 0 {
		return nil, errInvalid("placement_group", "server is not in a placement group")
	}
	pgID := s.PlacementGroupID
	s.PlacementGroupID = 0
	a := c.newAction("remove_from_placement_group", []schema.ActionResourceReference{res("server", s.ID), res("placement_group", pgID)}, locking())
	return a, nil
}

func changeServerProtection(c *reqCtx, s *Server, req *schema.ServerActionChangeProtectionRequest) (*Action, *APIError) {
	del, reb := s.Protection.Delete, s.Protection.Rebuild
	if req.Delete != nil {
		del = *req.Delete
	}
	if req.Rebuild != nil {
		reb = *req.Rebuild
	}
	if del != reb {
		return nil, errInvalid("rebuild", "delete and rebuild protection must have the same value")
	}
	s.Protection.Delete, s.Protection.Rebuild = del, reb
	a := c.newAction("change_protection", []schema.ActionResourceReference{res("server", s.ID)})
	return a, nil
}

func changeServerDNSPtr(c *reqCtx, s *Server, req *schema.ServerActionChangeDNSPtrRequest) (*Action, *APIError) {
	for _, id := range []int64{s.IPv4ID, s.IPv6ID} {
		if ip := c.p.PrimaryIPs[id]; ip != nil && addrIn(ip.IP, req.IP) {
			if aerr := setDNSPtr(ip, req.IP, req.DNSPtr); aerr != nil {
				return nil, aerr
			}
			a := c.newAction("change_dns_ptr", []schema.ActionResourceReference{res("server", s.ID)})
			return a, nil
		}
	}
	return nil, errInvalid("ip", "ip does not belong to the server")
}

// applyActionEffect applies what happens when an action finishes.
func (e *Emulator) applyActionEffect(p *Project, a *Action) {
	if len(a.Resources) == 0 {
		return
	}
	if a.Command == "create_volume" {
		if v := p.Volumes[a.Resources[0].ID]; v != nil && a.Status == "success" {
			v.Status = "available"
		} else if v != nil {
			delete(p.Volumes, v.ID)
		}
		return
	}
	if a.Resources[0].Type != "server" {
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
	e.serverActionDone(p, s, a)
}

// serverActionDone applies a server action that succeeded: the status it
// leads to and the power events a kubelet host would see.
func (e *Emulator) serverActionDone(p *Project, s *Server, a *Action) {
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

// attachedAt is the index of the server's attachment to network nid.
func attachedAt(s *Server, nid int64) (int, *APIError) {
	for i, pn := range s.PrivateNets {
		if pn.Network == nid {
			return i, nil
		}
	}
	return -1, newErr("server_not_attached_to_network", "server %d is not attached to network %d", s.ID, nid)
}

// enableRescue boots the rescue system on the next reboot and answers its
// root password.
func enableRescue(c *reqCtx, s *Server, req *schema.ServerActionEnableRescueRequest) (int, any, *APIError) {
	if req.Type != nil && *req.Type != "linux64" {
		return 0, nil, errInvalid("type", "must be linux64")
	}
	for _, id := range req.SSHKeys {
		if c.p.SSHKeys[id] == nil {
			return 0, nil, errInvalid("ssh_keys", fmt.Sprintf("ssh key %d not found", id))
		}
	}
	if s.RescueEnabled {
		return 0, nil, newErr("rescue_already_enabled", "rescue mode is already enabled for server %d", s.ID)
	}
	s.RescueEnabled = true
	a := c.newAction("enable_rescue", serverKind.ref(s))
	return http.StatusCreated, map[string]any{"action": renderAction(a, c.now), "root_password": randomPassword()}, nil
}

func disableRescue(c *reqCtx, s *Server, _ *struct{}) (*Action, *APIError) {
	if !s.RescueEnabled {
		return nil, newErr("rescue_already_disabled", "rescue mode is already disabled for server %d", s.ID)
	}
	s.RescueEnabled = false
	return c.newAction("disable_rescue", serverKind.ref(s)), nil
}

func attachISO(c *reqCtx, s *Server, req *schema.ServerActionAttachISORequest) (*Action, *APIError) {
	iso, ok := isoByIDOrName(req.ISO)
	if !ok {
		return nil, errInvalid("iso", "iso not found")
	}
	st, _ := serverTypeByID(s.ServerTypeID)
	if iso.arch != "" && iso.arch != st.arch {
		return nil, errInvalid("iso", fmt.Sprintf("iso %s is for %s, the server is %s", iso.name, iso.arch, st.arch))
	}
	s.ISOID = iso.id
	return c.newAction("attach_iso", serverKind.ref(s)), nil
}

func detachISO(c *reqCtx, s *Server, _ *struct{}) (*Action, *APIError) {
	if s.ISOID == 0 {
		return nil, newErr("no_iso_attached", "no iso is attached to server %d", s.ID)
	}
	s.ISOID = 0
	return c.newAction("detach_iso", serverKind.ref(s)), nil
}
