package hcloudemu

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Action is a stored action. Running actions complete at Deadline.
type Action struct {
	ID        int64                            `json:"id"`
	Command   string                           `json:"command"`
	Status    string                           `json:"status"`
	Started   time.Time                        `json:"started"`
	Finished  *time.Time                       `json:"finished"`
	Deadline  time.Time                        `json:"deadline"`
	Error     *schema.ActionError              `json:"error"`
	Resources []schema.ActionResourceReference `json:"resources"`
	// Lock marks actions that lock their first resource while running.
	Lock bool `json:"lock"`
	// Effect parameters applied on completion.
	PrevStatus  string  `json:"prev_status,omitempty"`
	NewTypeID   int64   `json:"new_type_id,omitempty"`
	NewImageID  int64   `json:"new_image_id,omitempty"`
	NewUserData *string `json:"new_user_data,omitempty"`
	// Injected failure, decided when the action starts.
	FailCode    string `json:"fail_code,omitempty"`
	FailMessage string `json:"fail_message,omitempty"`
}

// Realistic action durations (speed factor 1).
var baseDurations = map[string]time.Duration{
	"create_server":               10 * time.Second,
	"start_server":                3 * time.Second,
	"stop_server":                 2 * time.Second,
	"shutdown_server":             5 * time.Second,
	"reboot_server":               4 * time.Second,
	"reset_server":                2 * time.Second,
	"rebuild_server":              10 * time.Second,
	"change_server_type":          8 * time.Second,
	"delete_server":               2 * time.Second,
	"attach_to_network":           2 * time.Second,
	"detach_from_network":         2 * time.Second,
	"change_alias_ips":            1 * time.Second,
	"add_to_placement_group":      1 * time.Second,
	"remove_from_placement_group": 1 * time.Second,
	"create_load_balancer":        5 * time.Second,
	"change_load_balancer_type":   3 * time.Second,
	"create_primary_ip":           1 * time.Second,
	"assign_primary_ip":           1 * time.Second,
	"unassign_primary_ip":         1 * time.Second,
	"apply_firewall":              1 * time.Second,
	"remove_firewall":             1 * time.Second,
	"set_firewall_rules":          1 * time.Second,
	"change_protection":           0,
}

const defaultActionDuration = time.Second

type actionOpt func(*Action)

func locking() actionOpt { return func(a *Action) { a.Lock = true } }

// after starts the action's clock at the end of a previous one (next_actions).
func after(prev *Action) actionOpt {
	return func(a *Action) { a.Deadline = prev.Deadline.Add(a.Deadline.Sub(a.Started)) }
}

// newAction creates a running action on resources (type, id pairs).
func (c *reqCtx) newAction(command string, resources []schema.ActionResourceReference, opts ...actionOpt) *Action {
	return c.e.newActionLocked(c.p, c.now, command, resources, opts...)
}

func (e *Emulator) newActionLocked(p *Project, now time.Time, command string, resources []schema.ActionResourceReference, opts ...actionOpt) *Action {
	d, ok := baseDurations[command]
	if !ok {
		d = defaultActionDuration
	}
	d = e.rt.scale(d)
	a := &Action{ID: e.st.nextID("action"), Command: command, Status: "running", Started: now,
		Deadline: now.Add(d), Resources: resources}
	for _, o := range opts {
		o(a)
	}
	if code, msg, fail := e.rt.actionFault(command); fail {
		a.FailCode, a.FailMessage = code, msg
	}
	p.Actions[a.ID] = a
	if !a.Deadline.After(now) && a.FailCode == "" && a.Command != "create_server" {
		e.completeActionLocked(p, a)
	} else {
		e.running[a.ID] = runningAction{p, a}
	}
	return a
}

func res(kind string, id int64) schema.ActionResourceReference {
	return schema.ActionResourceReference{ID: id, Type: kind}
}

// lockedBy returns the running locking action on (kind, id), if any.
func (e *Emulator) lockedBy(p *Project, kind string, id int64) *Action {
	for _, ra := range e.running {
		if ra.p != p || !ra.a.Lock || len(ra.a.Resources) == 0 {
			continue
		}
		if r := ra.a.Resources[0]; r.Type == kind && r.ID == id {
			return ra.a
		}
	}
	return nil
}

func (e *Emulator) completeActionLocked(p *Project, a *Action) {
	fin := a.Deadline
	a.Finished = &fin
	if a.FailCode != "" {
		a.Status = "error"
		a.Error = &schema.ActionError{Code: a.FailCode, Message: a.FailMessage}
	} else {
		a.Status = "success"
	}
	e.applyActionEffect(p, a)
}

func renderAction(a *Action, now time.Time) schema.Action {
	out := schema.Action{ID: a.ID, Status: a.Status, Command: a.Command, Started: a.Started,
		Finished: a.Finished, Error: a.Error, Resources: a.Resources}
	if out.Resources == nil {
		out.Resources = []schema.ActionResourceReference{}
	}
	switch a.Status {
	case "running":
		total := a.Deadline.Sub(a.Started)
		if total > 0 {
			out.Progress = min(99, int(100*now.Sub(a.Started)/total))
		}
		if out.Progress < 0 {
			out.Progress = 0
		}
	default:
		out.Progress = 100
	}
	return out
}

func (c *reqCtx) renderActions(as []*Action) []schema.Action {
	out := make([]schema.Action, 0, len(as))
	for _, a := range as {
		out = append(out, renderAction(a, c.now))
	}
	return out
}

func registerActions(h func(string, apiHandler)) {
	h("GET /v1/actions", func(c *reqCtx) (int, any, *APIError) {
		return c.listActions(nil)
	})
	h("GET /v1/actions/{id}", func(c *reqCtx) (int, any, *APIError) {
		if _, err := c.pathID(); err != nil {
			return 0, nil, err
		}
		c.params["action_id"] = c.params["id"]
		return c.actionOf(func(*Action) bool { return true })
	})
}

// registerActionsOf registers the action endpoints of one resource kind:
// /v1/<plural>/actions[/{action_id}] and /v1/<plural>/{id}/actions[/{action_id}].
func registerActionsOf(h func(string, apiHandler), single, plural string, exists func(*Project, int64) bool) {
	p := "/v1/" + plural
	h("GET "+p+"/actions", func(c *reqCtx) (int, any, *APIError) {
		return c.listActions(func(a *Action) bool { return hasResourceType(a, single) })
	})
	h("GET "+p+"/actions/{action_id}", func(c *reqCtx) (int, any, *APIError) {
		return c.actionOf(func(a *Action) bool { return hasResourceType(a, single) })
	})
	h("GET "+p+"/{id}/actions", func(c *reqCtx) (int, any, *APIError) {
		id, err := c.pathID()
		if err != nil {
			return 0, nil, err
		}
		if !exists(c.p, id) {
			return 0, nil, errNotFound(single, id)
		}
		return c.listActions(func(a *Action) bool { return hasResource(a, single, id) })
	})
	h("GET "+p+"/{id}/actions/{action_id}", func(c *reqCtx) (int, any, *APIError) {
		id, err := c.pathID()
		if err != nil {
			return 0, nil, err
		}
		return c.actionOf(func(a *Action) bool { return hasResource(a, single, id) })
	})
}

// actionOf serves the action {action_id} when it passes match.
func (c *reqCtx) actionOf(match func(*Action) bool) (int, any, *APIError) {
	id, err := strconv.ParseInt(c.param("action_id"), 10, 64)
	a := c.p.Actions[id]
	if err != nil || a == nil || !match(a) {
		return 0, nil, errNotFound("action", c.param("action_id"))
	}
	return http.StatusOK, schema.ActionGetResponse{Action: renderAction(a, c.now)}, nil
}

func hasResourceType(a *Action, kind string) bool {
	for _, r := range a.Resources {
		if r.Type == kind {
			return true
		}
	}
	return false
}

func hasResource(a *Action, kind string, id int64) bool {
	for _, r := range a.Resources {
		if r.Type == kind && r.ID == id {
			return true
		}
	}
	return false
}

func (c *reqCtx) listActions(filter func(*Action) bool) (int, any, *APIError) {
	q := c.r.URL.Query()
	var ids map[int64]bool
	if vs := q["id"]; len(vs) > 0 {
		ids = map[int64]bool{}
		for _, v := range vs {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, nil, errInvalid("id", "must be an integer")
			}
			ids[id] = true
		}
	}
	statuses := q["status"]
	for _, s := range statuses {
		if s != "running" && s != "success" && s != "error" {
			return 0, nil, errInvalid("status", "must be one of running, success, error")
		}
	}
	items := make([]*Action, 0)
	for _, a := range c.p.Actions {
		if ids != nil && !ids[a.ID] {
			continue
		}
		if len(statuses) > 0 && !contains(statuses, a.Status) {
			continue
		}
		if filter != nil && !filter(a) {
			continue
		}
		items = append(items, a)
	}
	page, meta, err := paginate(q, items, listKeys[*Action]{
		id:      func(a *Action) int64 { return a.ID },
		created: func(a *Action) time.Time { return a.Started },
		extra: map[string]func(a, b *Action) int{
			"command":  func(a, b *Action) int { return cmpStr(a.Command, b.Command) },
			"status":   func(a, b *Action) int { return cmpStr(a.Status, b.Status) },
			"started":  func(a, b *Action) int { return a.Started.Compare(b.Started) },
			"finished": func(a, b *Action) int { return cmpTimePtr(a.Finished, b.Finished) },
			"progress": func(a, b *Action) int { return cmpStr(a.Status, b.Status) },
		},
		noNameFilter: true,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listResponse("actions", c.renderActions(page), meta), nil
}

func cmpTimePtr(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

func randomPassword() string {
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}
