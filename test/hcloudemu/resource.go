package hcloudemu

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// base is what every named resource has; embedded, its fields keep their
// JSON names in the state file.
type base struct {
	ID      int64             `json:"id"`
	Name    string            `json:"name"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels"`
}

func (b *base) meta() *base { return b }

// resource is a stored resource with a base.
type resource interface{ meta() *base }

// kind describes one resource kind to the generic handlers: lookup by path
// ID, list with filters, sort and pagination, name uniqueness, the project
// limit, renaming and relabeling, delete protection.
type kind[T resource, R any] struct {
	name     string // singular, as in errors, action resources and JSON keys: "load_balancer"
	plural   string // the collection: "load_balancers"
	store    func(*Project) map[int64]T
	render   func(*reqCtx, T) R
	limit    func(Limits) int
	hostname bool // names must be valid hostnames (servers)
	// optionalName: create takes no name or checks it later (floating IPs).
	optionalName bool
	// filter builds a list filter from query parameters beyond name and
	// label_selector; nil keeps every item.
	filter func(url.Values) (func(T) bool, *APIError)
	// sort adds sort fields beyond id, name and created.
	sort map[string]func(a, b T) int
	// protection points at the delete protection flag, for change_protection.
	protection func(T) *bool
	// noActions: the kind has no /actions endpoints (SSH keys).
	noActions bool
}

// newKind describes a kind by its names, its map in the project, how it
// renders and its project limit; protect, hostnames, nameOptional, filterBy,
// sortBy and withoutActions add the rest.
func newKind[T resource, R any](name, plural string, store func(*Project) map[int64]T, render func(*reqCtx, T) R,
	limit func(Limits) int) *kind[T, R] {
	return &kind[T, R]{name: name, plural: plural, store: store, render: render, limit: limit, sort: map[string]func(a, b T) int{}}
}

func (k *kind[T, R]) protect(flag func(T) *bool) *kind[T, R] { k.protection = flag; return k }

func (k *kind[T, R]) hostnames() *kind[T, R] { k.hostname = true; return k }

func (k *kind[T, R]) withoutActions() *kind[T, R] { k.noActions = true; return k }

func (k *kind[T, R]) nameOptional() *kind[T, R] { k.optionalName = true; return k }

// filterBy keeps items whose field equals one of the query parameter's
// values (when the parameter is given).
func (k *kind[T, R]) filterBy(param string, field func(T) string) *kind[T, R] {
	prev := k.filter
	k.filter = func(q url.Values) (func(T) bool, *APIError) {
		keep := func(T) bool { return true }
		if prev != nil {
			var err *APIError
			if keep, err = prev(q); err != nil {
				return nil, err
			}
		}
		vs := q[param]
		return func(x T) bool { return keep(x) && (len(vs) == 0 || contains(vs, field(x))) }, nil
	}
	return k
}

// sortBy adds a sort field comparing a string field.
func (k *kind[T, R]) sortBy(name string, field func(T) string) *kind[T, R] {
	k.sort[name] = func(a, b T) int { return cmpStr(field(a), field(b)) }
	return k
}

// find returns the resource named by the path's {id}.
func (k *kind[T, R]) find(c *reqCtx) (T, *APIError) {
	var zero T
	id, err := c.pathID()
	if err != nil {
		return zero, err
	}
	x, ok := k.store(c.p)[id]
	if !ok {
		return zero, errNotFound(k.name, id)
	}
	return x, nil
}

// findUnlocked is find, failing with locked while an action locks it.
func (k *kind[T, R]) findUnlocked(c *reqCtx) (T, *APIError) {
	x, err := k.find(c)
	if err != nil {
		return x, err
	}
	if c.e.lockedBy(c.p, k.name, x.meta().ID) != nil {
		return x, errLocked(k.name, x.meta().ID)
	}
	return x, nil
}

func (k *kind[T, R]) exists(p *Project, id int64) bool {
	_, ok := k.store(p)[id]
	return ok
}

// one renders a single resource under its key.
func (k *kind[T, R]) one(c *reqCtx, x T) map[string]any {
	return map[string]any{k.name: k.render(c, x)}
}

// ref is the action resource reference of x.
func (k *kind[T, R]) ref(x T) []schema.ActionResourceReference {
	return []schema.ActionResourceReference{res(k.name, x.meta().ID)}
}

// unique is Hetzner's one uniqueness check: no other resource of the kind
// (except the one with ID except) has the name.
func (k *kind[T, R]) unique(p *Project, name string, except int64) *APIError {
	for _, x := range k.store(p) {
		if b := x.meta(); b.Name == name && b.ID != except {
			return errUnique("name")
		}
	}
	return nil
}

// checkName validates a name and that no other resource of the kind has it.
func (k *kind[T, R]) checkName(c *reqCtx, name string, except int64) *APIError {
	if err := validateName(name, k.hostname); err != nil {
		return err
	}
	return k.unique(c.p, name, except)
}

// checkNew checks that a new resource's name is unused and that the
// project has room for it (create has validated the name).
func (k *kind[T, R]) checkNew(c *reqCtx, name string) *APIError {
	if err := k.unique(c.p, name, 0); err != nil {
		return err
	}
	return k.checkLimit(c)
}

// findDeletable is find, failing with protected under delete protection.
func (k *kind[T, R]) findDeletable(c *reqCtx) (T, *APIError) {
	x, err := k.find(c)
	if err == nil && k.protection != nil && *k.protection(x) {
		return x, errProtected(k.name, x.meta().ID)
	}
	return x, err
}

// checkLimit fails with resource_limit_exceeded when the project is full.
func (k *kind[T, R]) checkLimit(c *reqCtx) *APIError {
	if max := k.limit(c.p.Limits); len(k.store(c.p)) >= max {
		return newErr("resource_limit_exceeded", "%s limit of %d reached", kindWords(k.name), max)
	}
	return nil
}

// add assigns the next ID and stores x.
func (k *kind[T, R]) add(c *reqCtx, x T) {
	b := x.meta()
	b.ID = c.e.st.nextID(k.name)
	k.store(c.p)[b.ID] = x
}

func (k *kind[T, R]) listKeys() listKeys[T] {
	return listKeys[T]{
		id:      func(x T) int64 { return x.meta().ID },
		name:    func(x T) string { return x.meta().Name },
		labels:  func(x T) map[string]string { return x.meta().Labels },
		created: func(x T) time.Time { return x.meta().Created },
		extra:   k.sort,
	}
}

// list serves GET /v1/<plural>.
func (k *kind[T, R]) list(c *reqCtx) (int, any, *APIError) {
	q := c.r.URL.Query()
	keep := func(T) bool { return true }
	if k.filter != nil {
		f, err := k.filter(q)
		if err != nil {
			return 0, nil, err
		}
		keep = f
	}
	all := k.store(c.p)
	items := make([]T, 0, len(all))
	for _, x := range all {
		if keep(x) {
			items = append(items, x)
		}
	}
	page, meta, err := paginate(q, items, k.listKeys())
	if err != nil {
		return 0, nil, err
	}
	out := make([]R, 0, len(page))
	for _, x := range page {
		out = append(out, k.render(c, x))
	}
	return http.StatusOK, listResponse(k.plural, out, meta), nil
}

// get serves GET /v1/<plural>/{id}.
func (k *kind[T, R]) get(c *reqCtx) (int, any, *APIError) {
	x, err := k.find(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, k.one(c, x), nil
}

// updateReq is what every PUT /v1/<plural>/{id} accepts.
type updateReq struct {
	Name   *string            `json:"name"`
	Labels *map[string]string `json:"labels"`
}

// update serves PUT /v1/<plural>/{id}: name and labels, then what more the
// kind accepts (more validates and applies its own fields from the body).
func (k *kind[T, R]) update(more func(c *reqCtx, x T) *APIError) apiHandler {
	return func(c *reqCtx) (int, any, *APIError) {
		x, err := k.find(c)
		if err != nil {
			return 0, nil, err
		}
		var req updateReq
		if err := c.decode(&req); err != nil {
			return 0, nil, err
		}
		b := x.meta()
		if req.Name != nil {
			if err := k.checkName(c, *req.Name, b.ID); err != nil {
				return 0, nil, err
			}
		}
		if err := validateLabels(req.Labels); err != nil {
			return 0, nil, err
		}
		if more != nil {
			if err := more(c, x); err != nil {
				return 0, nil, err
			}
		}
		setIf(&b.Name, req.Name)
		if req.Labels != nil {
			b.Labels = labelsOrEmpty(req.Labels)
		}
		return http.StatusOK, k.one(c, x), nil
	}
}

// setIf sets *dst to *v when the request carries v.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// protectionReq is the body of change_protection on kinds with delete
// protection only.
type protectionReq struct {
	Delete *bool `json:"delete"`
}

func (k *kind[T, R]) changeProtection(c *reqCtx, x T, req *protectionReq) (*Action, *APIError) {
	setIf(k.protection(x), req.Delete)
	return c.newAction("change_protection", k.ref(x)), nil
}

// endpoints is what a kind serves beyond list, get and its /actions
// listings: the fields its PUT accepts beyond name and labels (nil: none),
// its create and its delete.
type endpoints[T resource] struct {
	update func(c *reqCtx, x T) *APIError
	create apiHandler
	delete apiHandler
}

// routes registers the kind's endpoints and actions, change_protection when
// the kind has delete protection, and the /actions listings.
func (k *kind[T, R]) routes(h func(string, apiHandler), ep endpoints[T], actions ...kindAction[T]) {
	p := "/v1/" + k.plural
	h("GET "+p, k.list)
	h("GET "+p+"/{id}", k.get)
	h("PUT "+p+"/{id}", k.update(ep.update))
	h("POST "+p, ep.create)
	h("DELETE "+p+"/{id}", ep.delete)
	if k.protection != nil {
		actions = append(actions, on("change_protection", k.changeProtection).evenLocked())
	}
	for _, a := range actions {
		find := k.findUnlocked
		if a.anyLock {
			find = k.find
		}
		h("POST "+p+"/{id}/actions/"+a.name, func(c *reqCtx) (int, any, *APIError) {
			x, err := find(c)
			if err != nil {
				return 0, nil, err
			}
			return a.serve(c, x)
		})
	}
	if !k.noActions {
		registerActionsOf(h, k.name, k.plural, k.exists)
	}
}

// all renders every resource of the kind in ID order (admin dump).
func (k *kind[T, R]) all(c *reqCtx) []any {
	m := k.store(c.p)
	out := make([]any, 0, len(m))
	for _, id := range sortedKeys(m) {
		out = append(out, k.render(c, m[id]))
	}
	return out
}

// kindWords turns "load_balancer" into "load balancer".
func kindWords(name string) string {
	b := []byte(name)
	for i, ch := range b {
		if ch == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

// create serves POST /v1/<plural>: the body decodes into Req and its name
// must be valid (Hetzner's first check; kinds with optional names check it
// themselves), then do checks the rest and stores the resource.
func create[T resource, R, Req any](k *kind[T, R], do func(c *reqCtx, req *Req) (int, any, *APIError)) apiHandler {
	return func(c *reqCtx) (int, any, *APIError) {
		var req Req
		if err := c.decode(&req); err != nil {
			return 0, nil, err
		}
		if !k.optionalName {
			var named struct {
				Name string `json:"name"`
			}
			if err := c.decode(&named); err != nil {
				return 0, nil, err
			}
			if err := validateName(named.Name, k.hostname); err != nil {
				return 0, nil, err
			}
		}
		return do(c, &req)
	}
}

// remove serves DELETE /v1/<plural>/{id} for kinds whose delete answers
// 204: release checks that the resource may go (not in use) and lets go of
// what it holds; delete protection is checked first.
func (k *kind[T, R]) remove(release func(c *reqCtx, x T) *APIError) apiHandler {
	return func(c *reqCtx) (int, any, *APIError) {
		x, err := k.findDeletable(c)
		if err != nil {
			return 0, nil, err
		}
		if release != nil {
			if err := release(c, x); err != nil {
				return 0, nil, err
			}
		}
		delete(k.store(c.p), x.meta().ID)
		return http.StatusNoContent, nil, nil
	}
}

// kindAction is one POST /v1/<plural>/{id}/actions/<name> endpoint.
type kindAction[T resource] struct {
	name string
	// anyLock: the action runs while another action locks the resource
	// (protection, reverse DNS); others answer locked.
	anyLock bool
	serve   func(c *reqCtx, x T) (int, any, *APIError)
}

// on is an action that starts one action: the body decodes into Req, and
// do changes the resource and returns the action it started.
func on[T resource, Req any](name string, do func(c *reqCtx, x T, req *Req) (*Action, *APIError)) kindAction[T] {
	return reply(name, func(c *reqCtx, x T, req *Req) (int, any, *APIError) {
		a, err := do(c, x, req)
		if err != nil {
			return 0, nil, err
		}
		return c.actionResponse(a)
	})
}

// reply is an action that writes its own answer (several actions, a root
// password beside the action).
func reply[T resource, Req any](name string, do func(c *reqCtx, x T, req *Req) (int, any, *APIError)) kindAction[T] {
	return kindAction[T]{name: name, serve: func(c *reqCtx, x T) (int, any, *APIError) {
		var req Req
		if err := c.decode(&req); err != nil {
			return 0, nil, err
		}
		return do(c, x, &req)
	}}
}

// evenLocked lets the action run while another action locks the resource.
func (a kindAction[T]) evenLocked() kindAction[T] {
	a.anyLock = true
	return a
}

func (c *reqCtx) actionResponse(a *Action) (int, any, *APIError) {
	return http.StatusCreated, map[string]any{"action": renderAction(a, c.now)}, nil
}
