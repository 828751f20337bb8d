package hcloudemu

import (
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

var placementGroupKind = newKind("placement_group", "placement_groups",
	func(p *Project) map[int64]*PlacementGroup { return p.PlacementGroups }, (*reqCtx).renderPlacementGroup,
	func(l Limits) int { return l.PlacementGroups }).filterBy("type", func(pg *PlacementGroup) string { return pg.Type })

func (c *reqCtx) renderPlacementGroup(pg *PlacementGroup) schema.PlacementGroup {
	out := schema.PlacementGroup{ID: pg.ID, Name: pg.Name, Labels: copyLabels(pg.Labels), Created: pg.Created,
		Type: pg.Type, Servers: []int64{}}
	for _, id := range sortedKeys(c.p.Servers) {
		if c.p.Servers[id].PlacementGroupID == pg.ID {
			out.Servers = append(out.Servers, id)
		}
	}
	return out
}

func registerPlacementGroups(h func(string, apiHandler)) {
	placementGroupKind.routes(h, nil)
	h("POST /v1/placement_groups", (*reqCtx).createPlacementGroup)
	h("DELETE /v1/placement_groups/{id}", (*reqCtx).deletePlacementGroup)
}

func (c *reqCtx) createPlacementGroup() (int, any, *APIError) {
	var req schema.PlacementGroupCreateRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := validateName(req.Name, false); err != nil {
		return 0, nil, err
	}
	if req.Type != "spread" {
		return 0, nil, errInvalid("type", "must be spread")
	}
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	if err := placementGroupKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	pg := &PlacementGroup{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)}, Type: req.Type}
	placementGroupKind.add(c, pg)
	return http.StatusCreated, map[string]any{"placement_group": c.renderPlacementGroup(pg), "action": nil}, nil
}

func (c *reqCtx) deletePlacementGroup() (int, any, *APIError) {
	pg, err := placementGroupKind.find(c)
	if err != nil {
		return 0, nil, err
	}
	if c.placementGroupSize(pg.ID) > 0 {
		return 0, nil, newErr("resource_in_use", "placement group %d still has servers", pg.ID)
	}
	delete(c.p.PlacementGroups, pg.ID)
	return http.StatusNoContent, nil, nil
}
