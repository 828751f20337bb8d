package hcloudemu

import (
	"fmt"
	"strings"
)

// Selector is a parsed Hetzner label selector: a comma-separated list of
// requirements that must all hold. Grammar:
//
//	key            key exists
//	!key           key does not exist
//	key=value      key == value (also key==value)
//	key!=value     key missing or value differs
//	key in (a,b)   value in set
//	key notin (a,b) key missing or value not in set
type Selector []requirement

type requirement struct {
	key    string
	op     string // exists, notexists, eq, neq, in, notin
	values []string
}

// ParseSelector parses a label selector. The empty string selects
// everything.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	parts, err := splitSelector(s)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("empty requirement")
		}
		req, err := parseRequirement(p)
		if err != nil {
			return nil, err
		}
		sel = append(sel, req)
	}
	return sel, nil
}

// splitSelector splits on commas outside parentheses.
func splitSelector(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
			if depth > 1 {
				return nil, fmt.Errorf("nested parentheses")
			}
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced parentheses")
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	return append(parts, s[start:]), nil
}

func parseRequirement(p string) (requirement, error) {
	if strings.HasPrefix(p, "!") {
		k := strings.TrimSpace(p[1:])
		if err := checkKey(k); err != nil {
			return requirement{}, err
		}
		return requirement{key: k, op: "notexists"}, nil
	}
	if i := strings.Index(p, "!="); i >= 0 {
		return binaryReq(p[:i], "neq", p[i+2:])
	}
	if i := strings.Index(p, "=="); i >= 0 {
		return binaryReq(p[:i], "eq", p[i+2:])
	}
	if i := strings.Index(p, "="); i >= 0 {
		return binaryReq(p[:i], "eq", p[i+1:])
	}
	if open := strings.Index(p, "("); open >= 0 {
		if !strings.HasSuffix(p, ")") {
			return requirement{}, fmt.Errorf("missing ')' in %q", p)
		}
		head := strings.Fields(p[:open])
		if len(head) != 2 || (head[1] != "in" && head[1] != "notin") {
			return requirement{}, fmt.Errorf("invalid set requirement %q", p)
		}
		if err := checkKey(head[0]); err != nil {
			return requirement{}, err
		}
		var vals []string
		for v := range strings.SplitSeq(p[open+1:len(p)-1], ",") {
			v = strings.TrimSpace(v)
			if err := checkValue(v); err != nil {
				return requirement{}, err
			}
			vals = append(vals, v)
		}
		return requirement{key: head[0], op: head[1], values: vals}, nil
	}
	if err := checkKey(p); err != nil {
		return requirement{}, err
	}
	return requirement{key: p, op: "exists"}, nil
}

func binaryReq(k, op, v string) (requirement, error) {
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if err := checkKey(k); err != nil {
		return requirement{}, err
	}
	if err := checkValue(v); err != nil {
		return requirement{}, err
	}
	return requirement{key: k, op: op, values: []string{v}}, nil
}

func checkKey(k string) error {
	if k == "" {
		return fmt.Errorf("empty label key")
	}
	if strings.ContainsAny(k, " =!(),") {
		return fmt.Errorf("invalid label key %q", k)
	}
	return nil
}

func checkValue(v string) error {
	if strings.ContainsAny(v, " =!(),") {
		return fmt.Errorf("invalid label value %q", v)
	}
	return nil
}

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		switch r.op {
		case "exists":
			if !ok {
				return false
			}
		case "notexists":
			if ok {
				return false
			}
		case "eq":
			if !ok || v != r.values[0] {
				return false
			}
		case "neq":
			if ok && v == r.values[0] {
				return false
			}
		case "in":
			if !ok || !contains(r.values, v) {
				return false
			}
		case "notin":
			if ok && contains(r.values, v) {
				return false
			}
		}
	}
	return true
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
