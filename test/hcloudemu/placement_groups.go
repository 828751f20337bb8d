package hcloudemu

import (
	"net/http"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

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
	h("GET /v1/placement_groups", func(c *reqCtx) (int, any, *APIError) {
		q := c.r.URL.Query()
		types := q["type"]
		items := make([]*PlacementGroup, 0, len(c.p.PlacementGroups))
		for _, x := range c.p.PlacementGroups {
			if len(types) > 0 && !contains(types, x.Type) {
				continue
			}
			items = append(items, x)
		}
		page, meta, err := paginate(q, items, listKeys[*PlacementGroup]{
			id: func(x *PlacementGroup) int64 { return x.ID }, name: func(x *PlacementGroup) string { return x.Name },
			labels: func(x *PlacementGroup) map[string]string { return x.Labels }, created: func(x *PlacementGroup) time.Time { return x.Created },
		})
		if err != nil {
			return 0, nil, err
		}
		out := make([]schema.PlacementGroup, 0, len(page))
		for _, x := range page {
			out = append(out, c.renderPlacementGroup(x))
		}
		return http.StatusOK, listResponse("placement_groups", out, meta), nil
	})
	h("POST /v1/placement_groups", func(c *reqCtx) (int, any, *APIError) {
		var req schema.PlacementGroupCreateRequest
		if err := decodeBody(c.r, &req); err != nil {
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
		if c.nameTaken("placement_group", req.Name, 0) {
			return 0, nil, errUnique("name")
		}
		if len(c.p.PlacementGroups) >= c.p.Limits.PlacementGroups {
			return 0, nil, newErr("resource_limit_exceeded", "placement group limit of %d reached", c.p.Limits.PlacementGroups)
		}
		pg := &PlacementGroup{ID: c.e.st.nextID("placement_group"), Name: req.Name, Type: req.Type, Created: c.now,
			Labels: labelsOrEmpty(req.Labels)}
		c.p.PlacementGroups[pg.ID] = pg
		return http.StatusCreated, map[string]any{"placement_group": c.renderPlacementGroup(pg), "action": nil}, nil
	})
	get := func(c *reqCtx) (*PlacementGroup, *APIError) {
		id, err := c.pathID()
		if err != nil {
			return nil, err
		}
		pg := c.p.PlacementGroups[id]
		if pg == nil {
			return nil, errNotFound("placement_group", id)
		}
		return pg, nil
	}
	h("GET /v1/placement_groups/{id}", func(c *reqCtx) (int, any, *APIError) {
		pg, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"placement_group": c.renderPlacementGroup(pg)}, nil
	})
	h("PUT /v1/placement_groups/{id}", func(c *reqCtx) (int, any, *APIError) {
		pg, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		var req schema.PlacementGroupUpdateRequest
		if err := decodeBody(c.r, &req); err != nil {
			return 0, nil, err
		}
		if req.Name != nil {
			if err := validateName(*req.Name, false); err != nil {
				return 0, nil, err
			}
			if c.nameTaken("placement_group", *req.Name, pg.ID) {
				return 0, nil, errUnique("name")
			}
		}
		if err := validateLabels(req.Labels); err != nil {
			return 0, nil, err
		}
		if req.Name != nil {
			pg.Name = *req.Name
		}
		if req.Labels != nil {
			pg.Labels = labelsOrEmpty(req.Labels)
		}
		return http.StatusOK, map[string]any{"placement_group": c.renderPlacementGroup(pg)}, nil
	})
	h("DELETE /v1/placement_groups/{id}", func(c *reqCtx) (int, any, *APIError) {
		pg, err := get(c)
		if err != nil {
			return 0, nil, err
		}
		if c.placementGroupSize(pg.ID) > 0 {
			return 0, nil, newErr("resource_in_use", "placement group %d still has servers", pg.ID)
		}
		delete(c.p.PlacementGroups, pg.ID)
		return http.StatusNoContent, nil, nil
	})
}
