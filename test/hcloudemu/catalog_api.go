package hcloudemu

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// catalogList serves a read-only catalog collection.
func catalogList[T any](key string, all []T, id func(T) int64, name func(T) string) apiHandler {
	return func(c *reqCtx) (int, any, *APIError) {
		items := append([]T{}, all...)
		page, meta, err := paginate(c.r.URL.Query(), items, listKeys[T]{id: id, name: name})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, listResponse(key, page, meta), nil
	}
}

func catalogGet[T any](key, kind string, all []T, id func(T) int64) apiHandler {
	return func(c *reqCtx) (int, any, *APIError) {
		want, err := c.pathID()
		if err != nil {
			return 0, nil, err
		}
		for _, x := range all {
			if id(x) == want {
				return http.StatusOK, map[string]any{key: x}, nil
			}
		}
		return 0, nil, errNotFound(kind, want)
	}
}

// renderAll renders every spec of a catalog collection, in order.
func renderAll[S, R any](specs []S, render func(S) R) []R {
	var out []R
	for _, s := range specs {
		out = append(out, render(s))
	}
	return out
}

func registerCatalog(h func(string, apiHandler)) {
	serverTypes := renderAll(serverTypeSpecs, renderServerType)
	lbTypes := renderAll(lbTypeSpecs, renderLBType)
	dcs := renderAll(catalogDatacenters, renderDatacenter)
	stID := func(x schema.ServerType) int64 { return x.ID }
	stName := func(x schema.ServerType) string { return x.Name }
	h("GET /v1/server_types", catalogList("server_types", serverTypes, stID, stName))
	h("GET /v1/server_types/{id}", catalogGet("server_type", "server_type", serverTypes, stID))
	ltID := func(x schema.LoadBalancerType) int64 { return x.ID }
	h("GET /v1/load_balancer_types", catalogList("load_balancer_types", lbTypes, ltID, func(x schema.LoadBalancerType) string { return x.Name }))
	h("GET /v1/load_balancer_types/{id}", catalogGet("load_balancer_type", "load_balancer_type", lbTypes, ltID))
	locID := func(x schema.Location) int64 { return x.ID }
	h("GET /v1/locations", catalogList("locations", catalogLocations, locID, func(x schema.Location) string { return x.Name }))
	h("GET /v1/locations/{id}", catalogGet("location", "location", catalogLocations, locID))
	dcID := func(x schema.Datacenter) int64 { return x.ID }
	h("GET /v1/datacenters", func(c *reqCtx) (int, any, *APIError) {
		_, body, err := catalogList("datacenters", dcs, dcID, func(x schema.Datacenter) string { return x.Name })(c)
		if err != nil {
			return 0, nil, err
		}
		m := body.(map[string]any)
		m["recommendation"] = datacenterOf("fsn1").id
		return http.StatusOK, m, nil
	})
	h("GET /v1/datacenters/{id}", catalogGet("datacenter", "datacenter", dcs, dcID))
	h("GET /v1/pricing", func(c *reqCtx) (int, any, *APIError) {
		return http.StatusOK, schema.PricingGetResponse{Pricing: renderPricing()}, nil
	})
	registerImages(h, renderAll(imageSpecs, renderImage))
	registerISOs(h, renderAll(isoSpecs, renderISO))
}

// registerImages serves the system images, filtered by architecture, type
// and status; no image is bound to a server.
func registerImages(h func(string, apiHandler), images []schema.Image) {
	imgID := func(x schema.Image) int64 { return x.ID }
	h("GET /v1/images", func(c *reqCtx) (int, any, *APIError) {
		q := c.r.URL.Query()
		archs, types, statuses := q["architecture"], q["type"], q["status"]
		if v := q.Get("bound_to"); v != "" {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return 0, nil, errInvalid("bound_to", "must be an integer")
			}
			// Only system images exist; none is bound to a server.
			_, meta, _ := paginate(q, []schema.Image{}, listKeys[schema.Image]{id: imgID})
			return http.StatusOK, listResponse("images", []schema.Image{}, meta), nil
		}
		var items []schema.Image
		for _, img := range images {
			if len(archs) > 0 && !contains(archs, img.Architecture) {
				continue
			}
			if len(types) > 0 && !contains(types, img.Type) {
				continue
			}
			if len(statuses) > 0 && !contains(statuses, img.Status) {
				continue
			}
			items = append(items, img)
		}
		page, meta, err := paginate(q, items, listKeys[schema.Image]{id: imgID,
			name:    func(x schema.Image) string { return *x.Name },
			labels:  func(x schema.Image) map[string]string { return x.Labels },
			created: func(x schema.Image) time.Time { return *x.Created }})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, listResponse("images", page, meta), nil
	})
	h("GET /v1/images/{id}", catalogGet("image", "image", images, imgID))
}

// registerISOs serves the ISO catalog, filtered by architecture.
func registerISOs(h func(string, apiHandler), isos []schema.ISO) {
	isoID := func(x schema.ISO) int64 { return x.ID }
	h("GET /v1/isos", func(c *reqCtx) (int, any, *APIError) {
		archs := c.r.URL.Query()["architecture"]
		items := []schema.ISO{}
		for _, iso := range isos {
			if len(archs) == 0 || (iso.Architecture != nil && contains(archs, *iso.Architecture)) {
				items = append(items, iso)
			}
		}
		return catalogList("isos", items, isoID, func(x schema.ISO) string { return x.Name })(c)
	})
	h("GET /v1/isos/{id}", catalogGet("iso", "iso", isos, isoID))
}
