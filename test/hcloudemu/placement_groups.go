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
	placementGroupKind.routes(h, endpoints[*PlacementGroup]{create: create(placementGroupKind, createPlacementGroup),
		delete: placementGroupKind.remove(placementGroupEmpty)})
}

func createPlacementGroup(c *reqCtx, req *schema.PlacementGroupCreateRequest) (int, any, *APIError) {
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

// placementGroupEmpty lets only a placement group without servers be
// deleted.
func placementGroupEmpty(c *reqCtx, pg *PlacementGroup) *APIError {
	if c.placementGroupSize(pg.ID) > 0 {
		return newErr("resource_in_use", "placement group %d still has servers", pg.ID)
	}
	return nil
}
