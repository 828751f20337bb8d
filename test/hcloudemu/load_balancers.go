package hcloudemu

import (
	"fmt"
	"net/netip"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

func lbTargetsServer(c *reqCtx, lb *LoadBalancer, s *Server) bool {
	for _, t := range lb.Targets {
		switch t.Type {
		case "server":
			if t.ServerID == s.ID {
				return true
			}
		case "label_selector":
			if sel, err := ParseSelector(t.Selector); err == nil && sel.Matches(s.Labels) {
				return true
			}
		}
	}
	return false
}

func (c *reqCtx) healthFor(lb *LoadBalancer, s *Server) []schema.LoadBalancerTargetHealthStatus {
	out := []schema.LoadBalancerTargetHealthStatus{}
	for _, svc := range lb.Services {
		st := "unknown"
		if s != nil {
			st = "unhealthy"
			if s.Status == "running" {
				st = "healthy"
			}
		}
		out = append(out, schema.LoadBalancerTargetHealthStatus{ListenPort: svc.ListenPort, Status: st})
	}
	return out
}

func (c *reqCtx) renderLoadBalancer(lb *LoadBalancer) schema.LoadBalancer {
	t, _ := lbTypeByID(lb.TypeID)
	loc, _ := locationByName(lb.Location)
	out := schema.LoadBalancer{ID: lb.ID, Name: lb.Name, Location: loc, LoadBalancerType: renderLBType(t),
		Protection: lb.Protection, Labels: copyLabels(lb.Labels), Created: lb.Created,
		Services: []schema.LoadBalancerService{}, Targets: []schema.LoadBalancerTarget{},
		Algorithm: schema.LoadBalancerAlgorithm{Type: lb.Algorithm}, IncludedTraffic: 21990232555520,
		PrivateNet: []schema.LoadBalancerPrivateNet{}}
	zero := uint64(0)
	out.OutgoingTraffic, out.IngoingTraffic = &zero, &zero
	out.PublicNet = schema.LoadBalancerPublicNet{Enabled: lb.PublicEnabled,
		IPv4: schema.LoadBalancerPublicNetIPv4{IP: lb.IPv4, DNSPtr: defaultPtr(lb.DNSPtr, lb.IPv4, staticPtr(lb.IPv4))},
		IPv6: schema.LoadBalancerPublicNetIPv6{IP: lb.IPv6, DNSPtr: defaultPtr(lb.DNSPtr, lb.IPv6, "static.clients.your-server.de")}}
	for _, pn := range lb.PrivateNets {
		out.PrivateNet = append(out.PrivateNet, schema.LoadBalancerPrivateNet{Network: pn.Network, IP: pn.IP})
	}
	out.Services = append(out.Services, lb.Services...)
	for _, tg := range lb.Targets {
		r := schema.LoadBalancerTarget{Type: tg.Type, UsePrivateIP: tg.UsePrivateIP}
		switch tg.Type {
		case "server":
			r.Server = &schema.LoadBalancerTargetServer{ID: tg.ServerID}
			r.HealthStatus = c.healthFor(lb, c.p.Servers[tg.ServerID])
		case "label_selector":
			r.LabelSelector = &schema.LoadBalancerTargetLabelSelector{Selector: tg.Selector}
			r.Targets = []schema.LoadBalancerTarget{}
			if sel, err := ParseSelector(tg.Selector); err == nil {
				for _, sid := range sortedKeys(c.p.Servers) {
					s := c.p.Servers[sid]
					if sel.Matches(s.Labels) {
						r.Targets = append(r.Targets, schema.LoadBalancerTarget{Type: "server",
							Server: &schema.LoadBalancerTargetServer{ID: sid}, HealthStatus: c.healthFor(lb, s), UsePrivateIP: tg.UsePrivateIP})
					}
				}
			}
		case "ip":
			r.IP = &schema.LoadBalancerTargetIP{IP: tg.IP}
			r.HealthStatus = c.healthFor(lb, nil)
		}
		out.Targets = append(out.Targets, r)
	}
	return out
}

type lbServiceReq struct {
	Protocol        *string `json:"protocol"`
	ListenPort      *int    `json:"listen_port"`
	DestinationPort *int    `json:"destination_port"`
	Proxyprotocol   *bool   `json:"proxyprotocol"`
	HTTP            *struct {
		CookieName     *string  `json:"cookie_name"`
		CookieLifetime *int     `json:"cookie_lifetime"`
		Certificates   *[]int64 `json:"certificates"`
		RedirectHTTP   *bool    `json:"redirect_http"`
		StickySessions *bool    `json:"sticky_sessions"`
		TimeoutIdle    *int     `json:"timeout_idle"`
	} `json:"http"`
	HealthCheck *struct {
		Protocol *string `json:"protocol"`
		Port     *int    `json:"port"`
		Interval *int    `json:"interval"`
		Timeout  *int    `json:"timeout"`
		Retries  *int    `json:"retries"`
		HTTP     *struct {
			Domain      *string   `json:"domain"`
			Path        *string   `json:"path"`
			Response    *string   `json:"response"`
			StatusCodes *[]string `json:"status_codes"`
			TLS         *bool     `json:"tls"`
		} `json:"http"`
	} `json:"health_check"`
}

func validPort(p int) bool { return p >= 1 && p <= 65535 }

// buildService applies a create/update request onto svc (defaults for a new
// service come from Hetzner's documented defaults).
func buildService(svc *schema.LoadBalancerService, r lbServiceReq, isNew bool, certs map[int64]*Certificate) *APIError {
	setIf(&svc.Protocol, r.Protocol)
	switch svc.Protocol {
	case "tcp", "http", "https":
	default:
		return errInvalid("protocol", "must be one of tcp, http, https")
	}
	setIf(&svc.ListenPort, r.ListenPort)
	if isNew && svc.ListenPort == 0 {
		switch svc.Protocol {
		case "http":
			svc.ListenPort = 80
		case "https":
			svc.ListenPort = 443
		default:
			return errInvalid("listen_port", "is required for protocol tcp")
		}
	}
	if !validPort(svc.ListenPort) {
		return errInvalid("listen_port", "must be between 1 and 65535")
	}
	setIf(&svc.DestinationPort, r.DestinationPort)
	if isNew && svc.DestinationPort == 0 {
		svc.DestinationPort = svc.ListenPort
		if svc.Protocol == "https" {
			svc.DestinationPort = 80
		}
	}
	if !validPort(svc.DestinationPort) {
		return errInvalid("destination_port", "must be between 1 and 65535")
	}
	setIf(&svc.Proxyprotocol, r.Proxyprotocol)
	if err := buildServiceHTTP(svc, r, certs); err != nil {
		return err
	}
	if svc.Protocol == "https" && len(svc.HTTP.Certificates) == 0 {
		return errInvalid("http.certificates", "an https service needs at least one certificate")
	}
	return buildHealthCheck(svc, r)
}

// buildServiceHTTP applies the http part (http and https services only).
func buildServiceHTTP(svc *schema.LoadBalancerService, r lbServiceReq, certs map[int64]*Certificate) *APIError {
	if svc.Protocol == "tcp" {
		svc.HTTP = nil
		if r.HTTP != nil {
			return errInvalid("http", "is not allowed for protocol tcp")
		}
	} else {
		if svc.HTTP == nil {
			svc.HTTP = &schema.LoadBalancerServiceHTTP{CookieName: "HCLBSTICKY", CookieLifetime: 300, Certificates: []int64{}, TimeoutIdle: 60}
		}
		if h := r.HTTP; h != nil {
			setIf(&svc.HTTP.CookieName, h.CookieName)
			setIf(&svc.HTTP.CookieLifetime, h.CookieLifetime)
			if h.Certificates != nil {
				for _, id := range *h.Certificates {
					if certs[id] == nil {
						return errInvalid("http.certificates", fmt.Sprintf("certificate %d not found", id))
					}
				}
				svc.HTTP.Certificates = unique(append([]int64{}, *h.Certificates...))
				if svc.HTTP.Certificates == nil {
					svc.HTTP.Certificates = []int64{}
				}
			}
			setIf(&svc.HTTP.RedirectHTTP, h.RedirectHTTP)
			setIf(&svc.HTTP.StickySessions, h.StickySessions)
			setIf(&svc.HTTP.TimeoutIdle, h.TimeoutIdle)
		}
	}
	return nil
}

// buildHealthCheck applies the health_check part; a new service's check
// follows its protocol and destination port.
func buildHealthCheck(svc *schema.LoadBalancerService, r lbServiceReq) *APIError {
	if svc.HealthCheck == nil {
		hcProto := "tcp"
		if svc.Protocol != "tcp" {
			hcProto = "http"
		}
		svc.HealthCheck = &schema.LoadBalancerServiceHealthCheck{Protocol: hcProto, Port: svc.DestinationPort,
			Interval: 15, Timeout: 10, Retries: 3}
	}
	hc := svc.HealthCheck
	if r.HealthCheck != nil {
		setIf(&hc.Protocol, r.HealthCheck.Protocol)
		setIf(&hc.Port, r.HealthCheck.Port)
		setIf(&hc.Interval, r.HealthCheck.Interval)
		setIf(&hc.Timeout, r.HealthCheck.Timeout)
		setIf(&hc.Retries, r.HealthCheck.Retries)
	}
	if hc.Protocol != "tcp" && hc.Protocol != "http" && hc.Protocol != "https" {
		return errInvalid("health_check.protocol", "must be one of tcp, http, https")
	}
	if !validPort(hc.Port) {
		return errInvalid("health_check.port", "must be between 1 and 65535")
	}
	if hc.Interval < 3 || hc.Interval > 60 || hc.Timeout < 1 || hc.Timeout > 60 || hc.Retries < 0 || hc.Retries > 5 {
		return errInvalid("health_check", "interval 3-60, timeout 1-60, retries 0-5")
	}
	if hc.Protocol == "tcp" {
		hc.HTTP = nil
	} else {
		if hc.HTTP == nil {
			hc.HTTP = &schema.LoadBalancerServiceHealthCheckHTTP{Path: "/", StatusCodes: []string{"2??", "3??"}}
		}
		if r.HealthCheck != nil && r.HealthCheck.HTTP != nil {
			h := r.HealthCheck.HTTP
			setIf(&hc.HTTP.Domain, h.Domain)
			setIf(&hc.HTTP.Path, h.Path)
			setIf(&hc.HTTP.Response, h.Response)
			if h.StatusCodes != nil {
				hc.HTTP.StatusCodes = append([]string{}, *h.StatusCodes...)
			}
			setIf(&hc.HTTP.TLS, h.TLS)
		}
	}
	return nil
}

type lbTargetReq struct {
	Type   string `json:"type"`
	Server *struct {
		ID int64 `json:"id"`
	} `json:"server"`
	LabelSelector *struct {
		Selector string `json:"selector"`
	} `json:"label_selector"`
	IP *struct {
		IP string `json:"ip"`
	} `json:"ip"`
	UsePrivateIP *bool `json:"use_private_ip"`
}

func (c *reqCtx) buildTarget(lb *LoadBalancer, r lbTargetReq) (LBTarget, *APIError) {
	t := LBTarget{Type: r.Type, UsePrivateIP: r.UsePrivateIP != nil && *r.UsePrivateIP}
	switch r.Type {
	case "server":
		if r.Server == nil || r.Server.ID == 0 {
			return t, errInvalid("server.id", "is required for type server")
		}
		s := c.p.Servers[r.Server.ID]
		if s == nil {
			return t, errInvalid("server.id", fmt.Sprintf("server %d not found", r.Server.ID))
		}
		t.ServerID = s.ID
		if t.UsePrivateIP {
			if len(lb.PrivateNets) == 0 {
				return t, newErr("load_balancer_not_attached_to_network", "load balancer %d is not attached to a network", lb.ID)
			}
			shared := false
			for _, ln := range lb.PrivateNets {
				for _, sn := range s.PrivateNets {
					if sn.Network == ln.Network {
						shared = true
					}
				}
			}
			if !shared {
				return t, newErr("server_not_attached_to_network", "server %d is not attached to the load balancer's network", s.ID)
			}
		} else if s.IPv4ID == 0 {
			return t, newErr("missing_ipv4", "server %d has no public IPv4 address", s.ID)
		}
	case "label_selector":
		if r.LabelSelector == nil || r.LabelSelector.Selector == "" {
			return t, errInvalid("label_selector.selector", "is required for type label_selector")
		}
		if _, err := ParseSelector(r.LabelSelector.Selector); err != nil {
			return t, errInvalid("label_selector.selector", err.Error())
		}
		t.Selector = r.LabelSelector.Selector
	case "ip":
		if r.IP == nil {
			return t, errInvalid("ip.ip", "is required for type ip")
		}
		a, err := netip.ParseAddr(r.IP.IP)
		if err != nil {
			return t, errInvalid("ip.ip", "must be an IP address")
		}
		if _, owned := c.e.st.IPsInUse[a.String()]; owned {
			return t, newErr("cloud_resource_ip_not_allowed", "ip %s belongs to a cloud resource", a)
		}
		if t.UsePrivateIP {
			return t, errInvalid("use_private_ip", "is not allowed for ip targets")
		}
		t.IP = a.String()
	default:
		return t, errInvalid("type", "must be one of server, label_selector, ip")
	}
	for _, o := range lb.Targets {
		if o.Type == t.Type && o.ServerID == t.ServerID && o.Selector == t.Selector && o.IP == t.IP {
			return t, newErr("target_already_defined", "target is already defined")
		}
	}
	return t, nil
}

type lbCreateReq struct {
	Name             string                 `json:"name"`
	LoadBalancerType schema.IDOrName        `json:"load_balancer_type"`
	Algorithm        *struct{ Type string } `json:"algorithm"`
	Location         *schema.IDOrName       `json:"location"`
	NetworkZone      *string                `json:"network_zone"`
	Labels           *map[string]string     `json:"labels"`
	Targets          []lbTargetReq          `json:"targets"`
	Services         []lbServiceReq         `json:"services"`
	PublicInterface  *bool                  `json:"public_interface"`
	Network          *int64                 `json:"network"`
}

func cloneService(s schema.LoadBalancerService) schema.LoadBalancerService {
	out := s
	if s.HTTP != nil {
		h := *s.HTTP
		h.Certificates = append([]int64{}, s.HTTP.Certificates...)
		out.HTTP = &h
	}
	if s.HealthCheck != nil {
		hc := *s.HealthCheck
		if s.HealthCheck.HTTP != nil {
			hh := *s.HealthCheck.HTTP
			hh.StatusCodes = append([]string{}, s.HealthCheck.HTTP.StatusCodes...)
			hc.HTTP = &hh
		}
		out.HealthCheck = &hc
	}
	return out
}

func (c *reqCtx) addService(lb *LoadBalancer, req lbServiceReq) *APIError {
	if req.Protocol == nil {
		return errInvalid("protocol", "is required")
	}
	var svc schema.LoadBalancerService
	if err := buildService(&svc, req, true, c.p.Certificates); err != nil {
		return err
	}
	for _, o := range lb.Services {
		if o.ListenPort == svc.ListenPort {
			return newErr("source_port_already_used", "listen port %d is already used", svc.ListenPort)
		}
	}
	t, _ := lbTypeByID(lb.TypeID)
	if len(lb.Services) >= t.services {
		return newErr("resource_limit_exceeded", "load balancer type %s allows %d services", t.name, t.services)
	}
	lb.Services = append(lb.Services, svc)
	return nil
}

func (c *reqCtx) addTarget(lb *LoadBalancer, req lbTargetReq) *APIError {
	t, err := c.buildTarget(lb, req)
	if err != nil {
		return err
	}
	lt, _ := lbTypeByID(lb.TypeID)
	if len(lb.Targets) >= lt.targets {
		return newErr("resource_limit_exceeded", "load balancer type %s allows %d targets", lt.name, lt.targets)
	}
	lb.Targets = append(lb.Targets, t)
	return nil
}

func (c *reqCtx) attachLB(lb *LoadBalancer, nid int64, want string) *APIError {
	n := c.p.Networks[nid]
	if n == nil {
		return errNotFound("network", nid)
	}
	if len(lb.PrivateNets) > 0 {
		return newErr("load_balancer_already_attached", "load balancer %d is already attached to network %d", lb.ID, lb.PrivateNets[0].Network)
	}
	loc, _ := locationByName(lb.Location)
	ip, err := c.allocPrivateIP(n, loc.NetworkZone, want)
	if err != nil {
		return err
	}
	lb.PrivateNets = append(lb.PrivateNets, PrivateNet{Network: nid, IP: ip})
	return nil
}

// defaultPtr is the stored reverse DNS entry of ip, else def.
func defaultPtr(ptrs map[string]string, ip, def string) string {
	if v, ok := ptrs[ip]; ok {
		return v
	}
	return def
}
