package hcloudemu

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

const maxFirewallRules = 50

// firewallAppliesTo reports whether fw applies to s directly or through a
// label selector.
func firewallAppliesTo(fw *Firewall, s *Server) bool {
	if containsID(fw.ServerIDs, s.ID) {
		return true
	}
	for _, sel := range fw.Selectors {
		if ps, err := ParseSelector(sel); err == nil && ps.Matches(s.Labels) {
			return true
		}
	}
	return false
}

func (c *reqCtx) renderFirewall(fw *Firewall) schema.Firewall {
	out := schema.Firewall{ID: fw.ID, Name: fw.Name, Labels: copyLabels(fw.Labels), Created: fw.Created,
		Rules: append([]schema.FirewallRule{}, fw.Rules...), AppliedTo: []schema.FirewallResource{}}
	for _, id := range fw.ServerIDs {
		out.AppliedTo = append(out.AppliedTo, schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: id}})
	}
	for _, sel := range fw.Selectors {
		r := schema.FirewallResource{Type: "label_selector", LabelSelector: &schema.FirewallResourceLabelSelector{Selector: sel},
			AppliedToResources: []schema.FirewallResource{}}
		if ps, err := ParseSelector(sel); err == nil {
			for _, sid := range sortedKeys(c.p.Servers) {
				if ps.Matches(c.p.Servers[sid].Labels) {
					r.AppliedToResources = append(r.AppliedToResources, schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: sid}})
				}
			}
		}
		out.AppliedTo = append(out.AppliedTo, r)
	}
	return out
}

func validatePort(p string) bool {
	if p == "any" {
		return true
	}
	lo, hi, isRange := strings.Cut(p, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 || strings.TrimSpace(lo) != lo {
		return false
	}
	if !isRange {
		return true
	}
	b, err := strconv.Atoi(hi)
	return err == nil && b >= a && b <= 65535
}

func validateRules(reqs []schema.FirewallRuleRequest) ([]schema.FirewallRule, *APIError) {
	if len(reqs) > maxFirewallRules {
		return nil, errInvalid("rules", fmt.Sprintf("at most %d rules are allowed", maxFirewallRules))
	}
	out := []schema.FirewallRule{}
	for i, r := range reqs {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Direction != "in" && r.Direction != "out" {
			return nil, errInvalid(f+".direction", "must be in or out")
		}
		switch r.Protocol {
		case "tcp", "udp":
			if r.Port == nil || !validatePort(*r.Port) {
				return nil, errInvalid(f+".port", "must be a port, a range like 80-85, or any")
			}
		case "icmp", "esp", "gre":
			if r.Port != nil {
				return nil, errInvalid(f+".port", "is not allowed for protocol "+r.Protocol)
			}
		default:
			return nil, errInvalid(f+".protocol", "must be one of tcp, udp, icmp, esp, gre")
		}
		ips := r.SourceIPs
		field := f + ".source_ips"
		if r.Direction == "out" {
			ips, field = r.DestinationIPs, f+".destination_ips"
			if len(r.SourceIPs) > 0 {
				return nil, errInvalid(f+".source_ips", "is not allowed for direction out")
			}
		} else if len(r.DestinationIPs) > 0 {
			return nil, errInvalid(f+".destination_ips", "is not allowed for direction in")
		}
		if len(ips) == 0 {
			return nil, errInvalid(field, "must contain at least one CIDR")
		}
		for _, ip := range ips {
			pfx, err := netip.ParsePrefix(ip)
			if err != nil || pfx.Masked() != pfx {
				return nil, errInvalid(field, fmt.Sprintf("%q is not a valid network CIDR", ip))
			}
		}
		if r.Description != nil && len(*r.Description) > 255 {
			return nil, errInvalid(f+".description", "is too long (maximum is 255 characters)")
		}
		rule := schema.FirewallRule{Direction: r.Direction, Protocol: r.Protocol, Port: r.Port, Description: r.Description,
			SourceIPs: append([]string{}, r.SourceIPs...), DestinationIPs: append([]string{}, r.DestinationIPs...)}
		out = append(out, rule)
	}
	return out, nil
}

// applyTo validates resources; it returns server IDs and selectors.
func (c *reqCtx) firewallTargets(field string, rs []schema.FirewallResource) ([]int64, []string, *APIError) {
	var ids []int64
	var sels []string
	for _, r := range rs {
		switch r.Type {
		case "server":
			if r.Server == nil || r.Server.ID == 0 {
				return nil, nil, errInvalid(field, "server.id is required for type server")
			}
			if c.p.Servers[r.Server.ID] == nil {
				return nil, nil, newErr("firewall_resource_not_found", "server %d not found", r.Server.ID)
			}
			ids = append(ids, r.Server.ID)
		case "label_selector":
			if r.LabelSelector == nil {
				return nil, nil, errInvalid(field, "label_selector.selector is required for type label_selector")
			}
			if _, err := ParseSelector(r.LabelSelector.Selector); err != nil || strings.TrimSpace(r.LabelSelector.Selector) == "" {
				return nil, nil, errInvalid(field, "invalid label selector")
			}
			sels = append(sels, r.LabelSelector.Selector)
		default:
			return nil, nil, errInvalid(field, "type must be server or label_selector")
		}
	}
	return ids, sels, nil
}

type firewallCreateReq struct {
	Name    string                       `json:"name"`
	Labels  *map[string]string           `json:"labels"`
	Rules   []schema.FirewallRuleRequest `json:"rules"`
	ApplyTo []schema.FirewallResource    `json:"apply_to"`
}

var firewallKind = newKind("firewall", "firewalls", func(p *Project) map[int64]*Firewall { return p.Firewalls },
	(*reqCtx).renderFirewall, func(l Limits) int { return l.Firewalls })

func registerFirewalls(h func(string, apiHandler)) {
	firewallKind.routes(h, endpoints[*Firewall]{create: create(firewallKind, createFirewall), delete: firewallKind.remove(firewallUnused)},
		reply("set_rules", setFirewallRules).evenLocked(), reply("apply_to_resources", applyFirewall).evenLocked(),
		reply("remove_from_resources", removeFirewall).evenLocked())
}

func createFirewall(c *reqCtx, req *firewallCreateReq) (int, any, *APIError) {
	if err := validateLabels(req.Labels); err != nil {
		return 0, nil, err
	}
	rules, err := validateRules(req.Rules)
	if err != nil {
		return 0, nil, err
	}
	ids, sels, err := c.firewallTargets("apply_to", req.ApplyTo)
	if err != nil {
		return 0, nil, err
	}
	if err := firewallKind.checkNew(c, req.Name); err != nil {
		return 0, nil, err
	}
	fw := &Firewall{base: base{Name: req.Name, Created: c.now, Labels: labelsOrEmpty(req.Labels)},
		Rules: rules, ServerIDs: []int64{}, Selectors: []string{}}
	firewallKind.add(c, fw)
	actions := c.applyFirewallTo(fw, unique(ids), unique(sels), false)
	return http.StatusCreated, map[string]any{"firewall": c.renderFirewall(fw), "actions": actions}, nil
}

// applyFirewallTo applies fw to servers and label selectors (or removes
// it from them), one apply_firewall (remove_firewall) action each.
func (c *reqCtx) applyFirewallTo(fw *Firewall, ids []int64, sels []string, remove bool) []schema.Action {
	command := "apply_firewall"
	if remove {
		command = "remove_firewall"
	}
	actions := []schema.Action{}
	for _, id := range ids {
		if remove {
			fw.ServerIDs = removeID(fw.ServerIDs, id)
		} else {
			fw.ServerIDs = append(fw.ServerIDs, id)
		}
		a := c.newAction(command, []schema.ActionResourceReference{res("firewall", fw.ID), res("server", id)})
		actions = append(actions, renderAction(a, c.now))
	}
	for _, sel := range sels {
		if remove {
			fw.Selectors = slices.DeleteFunc(fw.Selectors, func(s string) bool { return s == sel })
		} else {
			fw.Selectors = append(fw.Selectors, sel)
		}
		actions = append(actions, renderAction(c.newAction(command, firewallKind.ref(fw)), c.now))
	}
	return actions
}

// unique drops repeated values, keeping the first of each.
func unique[T comparable](vs []T) []T {
	var out []T
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// firewallUnused lets only a firewall applied to nothing be deleted.
func firewallUnused(_ *reqCtx, fw *Firewall) *APIError {
	if len(fw.ServerIDs) > 0 || len(fw.Selectors) > 0 {
		return newErr("resource_in_use", "firewall %d is still applied to resources", fw.ID)
	}
	return nil
}

func setFirewallRules(c *reqCtx, fw *Firewall, req *schema.FirewallActionSetRulesRequest) (int, any, *APIError) {
	rules, err := validateRules(req.Rules)
	if err != nil {
		return 0, nil, err
	}
	fw.Rules = rules
	actions := []schema.Action{renderAction(c.newAction("set_firewall_rules", firewallKind.ref(fw)), c.now)}
	for _, sid := range sortedKeys(c.p.Servers) {
		if firewallAppliesTo(fw, c.p.Servers[sid]) {
			a := c.newAction("apply_firewall", []schema.ActionResourceReference{res("firewall", fw.ID), res("server", sid)})
			actions = append(actions, renderAction(a, c.now))
		}
	}
	return http.StatusCreated, map[string]any{"actions": actions}, nil
}

func applyFirewall(c *reqCtx, fw *Firewall, req *schema.FirewallActionApplyToResourcesRequest) (int, any, *APIError) {
	ids, sels, err := c.firewallTargets("apply_to", req.ApplyTo)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range ids {
		if containsID(fw.ServerIDs, id) {
			return 0, nil, newErr("firewall_already_applied", "firewall %d is already applied to server %d", fw.ID, id)
		}
	}
	for _, sel := range sels {
		if contains(fw.Selectors, sel) {
			return 0, nil, newErr("firewall_already_applied", "firewall %d is already applied to label selector %q", fw.ID, sel)
		}
	}
	return http.StatusCreated, map[string]any{"actions": c.applyFirewallTo(fw, ids, sels, false)}, nil
}

func removeFirewall(c *reqCtx, fw *Firewall, req *schema.FirewallActionRemoveFromResourcesRequest) (int, any, *APIError) {
	var ids []int64
	var sels []string
	for _, r := range req.RemoveFrom {
		switch {
		case r.Type == "server" && r.Server != nil:
			if !containsID(fw.ServerIDs, r.Server.ID) {
				if c.p.Servers[r.Server.ID] == nil {
					return 0, nil, newErr("firewall_resource_not_found", "server %d not found", r.Server.ID)
				}
				return 0, nil, newErr("firewall_already_removed", "firewall %d is not applied to server %d", fw.ID, r.Server.ID)
			}
			ids = append(ids, r.Server.ID)
		case r.Type == "label_selector" && r.LabelSelector != nil:
			if !contains(fw.Selectors, r.LabelSelector.Selector) {
				return 0, nil, newErr("firewall_already_removed", "firewall %d is not applied to label selector %q", fw.ID, r.LabelSelector.Selector)
			}
			sels = append(sels, r.LabelSelector.Selector)
		default:
			return 0, nil, errInvalid("remove_from", "type must be server (with server.id) or label_selector (with label_selector.selector)")
		}
	}
	return http.StatusCreated, map[string]any{"actions": c.applyFirewallTo(fw, ids, sels, true)}, nil
}
