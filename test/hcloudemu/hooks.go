package hcloudemu

import (
	"context"
	"sync"
	"time"
)

// PowerHook is called when an emulated server changes power state. A k3s
// boot simulator implements it to start a control plane on the server's
// address when it powers on. Calls for one server are serialized, in order;
// calls for different servers run concurrently. Hook errors are recorded as
// the server's hook status (visible under GET /admin/hooks).
type PowerHook interface {
	// ServerPowerOn is called when a server reaches "running" (after create,
	// poweron, reboot, reset, rebuild, and at emulator start for servers
	// that were running).
	ServerPowerOn(ctx context.Context, s ServerInfo) error
	// ServerPowerOff is called when a server stops (poweroff, shutdown,
	// and before the power-on of a reboot, reset or rebuild).
	ServerPowerOff(ctx context.Context, s ServerInfo) error
	// ServerDelete is called after a server was deleted.
	ServerDelete(ctx context.Context, s ServerInfo) error
}

// ServerInfo describes a server to a PowerHook.
type ServerInfo struct {
	ID       int64
	Name     string
	Project  string
	UserData string
	Labels   map[string]string
	// PublicIPv4 is empty without IPv4; PublicIPv6 is the /64.
	PublicIPv4 string
	PublicIPv6 string
	// PrivateIPs maps network ID to the server's IP in that network.
	PrivateIPs map[int64]string
	// Reason: create, poweron, poweroff, shutdown, reboot, reset, rebuild,
	// restore (emulator restart) or delete.
	Reason string
	// Report sets the server's hook status text shown by the admin API
	// (for example why no node joined).
	Report func(status string) `json:"-"`
}

type hookEvent struct {
	kind string // on, off, delete
	info ServerInfo
}

// HookStatus is the last status a hook reported for a server.
type HookStatus struct {
	ServerID int64     `json:"server_id"`
	Project  string    `json:"project"`
	Name     string    `json:"name"`
	Status   string    `json:"status"`
	Updated  time.Time `json:"updated"`
}

type hookRunner struct {
	e      *Emulator
	mu     sync.Mutex
	h      PowerHook
	queues map[int64][]hookEvent
	status map[int64]HookStatus
	wg     sync.WaitGroup
}

func newHookRunner(e *Emulator, h PowerHook) *hookRunner {
	return &hookRunner{e: e, h: h, queues: map[int64][]hookEvent{}, status: map[int64]HookStatus{}}
}

func (hr *hookRunner) set(h PowerHook) {
	hr.mu.Lock()
	hr.h = h
	hr.mu.Unlock()
	if h == nil {
		return
	}
	// Servers already running are "powered on" for the new hook.
	hr.e.mu.Lock()
	var events []hookEvent
	for _, p := range hr.e.st.Projects {
		for _, s := range p.Servers {
			if s.Status == "running" {
				events = append(events, hookEvent{"on", hr.e.serverInfoLocked(p, s, "restore")})
			}
		}
	}
	hr.e.mu.Unlock()
	hr.dispatch(events)
}

func (hr *hookRunner) report(info ServerInfo, status string) {
	hr.mu.Lock()
	hr.status[info.ID] = HookStatus{ServerID: info.ID, Project: info.Project, Name: info.Name, Status: status, Updated: time.Now()}
	hr.mu.Unlock()
}

func (hr *hookRunner) dispatch(events []hookEvent) {
	if len(events) == 0 {
		return
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	if hr.h == nil {
		return
	}
	for _, ev := range events {
		id := ev.info.ID
		q := hr.queues[id]
		hr.queues[id] = append(q, ev)
		if len(q) == 0 {
			hr.wg.Add(1)
			go hr.drain(id)
		}
	}
}

func (hr *hookRunner) drain(id int64) {
	defer hr.wg.Done()
	for {
		hr.mu.Lock()
		q := hr.queues[id]
		if len(q) == 0 {
			delete(hr.queues, id)
			hr.mu.Unlock()
			return
		}
		ev := q[0]
		h := hr.h
		hr.mu.Unlock()
		info := ev.info
		info.Report = func(s string) { hr.report(info, s) }
		var err error
		if h != nil {
			switch ev.kind {
			case "on":
				err = h.ServerPowerOn(hr.e.ctx, info)
			case "off":
				err = h.ServerPowerOff(hr.e.ctx, info)
			case "delete":
				err = h.ServerDelete(hr.e.ctx, info)
			}
		}
		if err != nil {
			hr.report(info, ev.kind+" hook failed: "+err.Error())
		}
		hr.mu.Lock()
		hr.queues[id] = hr.queues[id][1:]
		hr.mu.Unlock()
	}
}

func (hr *hookRunner) wait() { hr.wg.Wait() }

func (hr *hookRunner) statuses() []HookStatus {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	out := make([]HookStatus, 0, len(hr.status))
	for _, s := range hr.status {
		out = append(out, s)
	}
	return out
}

// serverInfoLocked snapshots a server for a hook call.
func (e *Emulator) serverInfoLocked(p *Project, s *Server, reason string) ServerInfo {
	info := ServerInfo{ID: s.ID, Name: s.Name, Project: p.Name, UserData: s.UserData,
		Labels: copyLabels(s.Labels), PrivateIPs: map[int64]string{}, Reason: reason}
	if ip := p.PrimaryIPs[s.IPv4ID]; ip != nil {
		info.PublicIPv4 = ip.IP
	}
	if ip := p.PrimaryIPs[s.IPv6ID]; ip != nil {
		info.PublicIPv6 = ip.IP
	}
	for _, pn := range s.PrivateNets {
		info.PrivateIPs[pn.Network] = pn.IP
	}
	return info
}

func (e *Emulator) queueHookLocked(kind string, p *Project, s *Server, reason string) {
	e.pending = append(e.pending, hookEvent{kind, e.serverInfoLocked(p, s, reason)})
}
