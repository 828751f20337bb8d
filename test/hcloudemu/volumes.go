package hcloudemu

import (
	"fmt"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Volume is a stored block volume.
type Volume struct {
	base
	Location   string                  `json:"location"`
	Size       int                     `json:"size"`
	Format     *string                 `json:"format"`
	ServerID   int64                   `json:"server_id"`
	Status     string                  `json:"status"`
	Protection schema.VolumeProtection `json:"protection"`
}

const minVolumeSize, maxVolumeSize = 10, 10240

var volumeKind = newKind("volume", "volumes", func(p *Project) map[int64]*Volume { return p.Volumes },
	(*reqCtx).renderVolume, func(l Limits) int { return l.Volumes }).
	filterBy("status", func(v *Volume) string { return v.Status }).
	protect(func(v *Volume) *bool { return &v.Protection.Delete })

func (c *reqCtx) renderVolume(v *Volume) schema.Volume {
	loc, _ := locationByName(v.Location)
	out := schema.Volume{ID: v.ID, Name: v.Name, Status: v.Status, Location: loc, Size: v.Size, Format: v.Format,
		Protection: v.Protection, Labels: copyLabels(v.Labels), Created: v.Created,
		LinuxDevice: fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", v.ID)}
	if v.ServerID != 0 {
		id := v.ServerID
		out.Server = &id
	}
	return out
}

func registerVolumes(h func(string, apiHandler)) {
	volumeKind.routes(h, endpoints[*Volume]{create: create(volumeKind, createVolume), delete: volumeKind.remove(volumeDetached)},
		on("attach", attachVolume), on("detach", detachVolume), on("resize", resizeVolume))
}

func createVolume(c *reqCtx, req *schema.VolumeCreateRequest) (int, any, *APIError) {
	if req.Size < minVolumeSize || req.Size > maxVolumeSize {
		return 0, nil, errInvalid("size", fmt.Sprintf("must be between %d and %d GB", minVolumeSize, maxVolumeSize))
	}
	if req.Format != nil && *req.Format != "ext4" && *req.Format != "xfs" {
		return 0, nil, errInvalid("format", "must be ext4 or xfs")
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	locName, given, err := resolveLocation(req.Location, nil)
	if err != nil {
		return 0, nil, err
	}
	var srv *Server
	switch {
	case req.Server != nil && given:
		return 0, nil, errInvalid("location", "location and server are mutually exclusive")
	case req.Server != nil:
		if srv = c.p.Servers[*req.Server]; srv == nil {
			return 0, nil, errInvalid("server", fmt.Sprintf("server %d not found", *req.Server))
		}
		locName = srv.Location
	case !given:
		return 0, nil, errInvalid("location", "location or server is required")
	}
	if err := volumeKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	v := &Volume{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)}, Location: locName,
		Size: req.Size, Format: req.Format, Status: "creating"}
	volumeKind.add(c, v)
	a := c.newAction("create_volume", volumeKind.ref(v), locking())
	next := []schema.Action{}
	if srv != nil {
		v.ServerID = srv.ID
		attach := c.newAction("attach_volume", []schema.ActionResourceReference{res("volume", v.ID), res("server", srv.ID)}, after(a))
		next = append(next, renderAction(attach, c.now))
	}
	return http.StatusCreated, map[string]any{"volume": c.renderVolume(v), "action": renderAction(a, c.now), "next_actions": next}, nil
}

// volumeDetached lets only a detached volume be deleted.
func volumeDetached(_ *reqCtx, v *Volume) *APIError {
	if v.ServerID != 0 {
		return newErr("resource_in_use", "volume %d is attached to server %d: detach it first", v.ID, v.ServerID)
	}
	return nil
}

func attachVolume(c *reqCtx, v *Volume, req *schema.VolumeActionAttachVolumeRequest) (*Action, *APIError) {
	s := c.p.Servers[req.Server]
	if s == nil {
		return nil, errInvalid("server", fmt.Sprintf("server %d not found", req.Server))
	}
	if v.ServerID != 0 {
		return nil, newErr("volume_already_attached", "volume %d is already attached to server %d", v.ID, v.ServerID)
	}
	if s.Location != v.Location {
		return nil, newErr("invalid_input", "volume %d is in %s, server %d in %s", v.ID, v.Location, s.ID, s.Location)
	}
	v.ServerID = s.ID
	return c.newAction("attach_volume", []schema.ActionResourceReference{res("volume", v.ID), res("server", s.ID)}, locking()), nil
}

func detachVolume(c *reqCtx, v *Volume, _ *struct{}) (*Action, *APIError) {
	if v.ServerID == 0 {
		return nil, newErr("volume_not_attached", "volume %d is not attached", v.ID)
	}
	refs := []schema.ActionResourceReference{res("volume", v.ID), res("server", v.ServerID)}
	v.ServerID = 0
	return c.newAction("detach_volume", refs, locking()), nil
}

func resizeVolume(c *reqCtx, v *Volume, req *schema.VolumeActionResizeVolumeRequest) (*Action, *APIError) {
	if req.Size <= v.Size {
		return nil, errInvalid("size", fmt.Sprintf("must be larger than the current size (%d GB): volumes only grow", v.Size))
	}
	if req.Size > maxVolumeSize {
		return nil, errInvalid("size", fmt.Sprintf("must be at most %d GB", maxVolumeSize))
	}
	v.Size = req.Size
	return c.newAction("resize_volume", volumeKind.ref(v), locking()), nil
}
