package hcloudemu

import (
	"net/http"
	"strings"
)

// router is a small path router. The Hetzner API has routes that
// net/http.ServeMux (Go 1.22 patterns) rejects as conflicting, such as
// GET /v1/servers/actions/{action_id} next to GET /v1/servers/{id}/actions,
// so routes are matched here: the route with the most literal segments
// (earliest literal first) wins, and a path known under another method
// answers 405 in Hetzner's error shape.
type router struct {
	routes []route
}

type route struct {
	method  string
	pattern string
	segs    []string
	fn      apiHandler
}

func (rt *router) add(pattern string, fn apiHandler) {
	method, path, _ := strings.Cut(pattern, " ")
	rt.routes = append(rt.routes, route{method: method, pattern: pattern, segs: splitPath(path), fn: fn})
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// match returns the best route for method+path, its path parameters, and
// whether the path exists under any method.
func (rt *router) match(method, path string) (*route, map[string]string, bool) {
	segs := splitPath(path)
	var best *route
	var bestScore []bool
	pathKnown := false
	for i := range rt.routes {
		r := &rt.routes[i]
		if len(r.segs) != len(segs) {
			continue
		}
		score := make([]bool, len(segs))
		ok := true
		for j, s := range r.segs {
			if strings.HasPrefix(s, "{") {
				if segs[j] == "" {
					ok = false
					break
				}
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
			score[j] = true
		}
		if !ok {
			continue
		}
		// A path is known under another method when it names the same
		// thing: /v1/servers/1 is, /v1/servers/1/actions/nonsense is not
		// (its last segment only fits an action ID).
		last := len(segs) - 1
		if score[last] || isNumeric(segs[last]) {
			pathKnown = true
		}
		if r.method != method && !(method == http.MethodHead && r.method == http.MethodGet) {
			continue
		}
		if best == nil || better(score, bestScore) {
			best, bestScore = r, score
		}
	}
	if best == nil {
		return nil, nil, pathKnown
	}
	params := map[string]string{}
	for j, s := range best.segs {
		if strings.HasPrefix(s, "{") {
			params[strings.Trim(s, "{}")] = segs[j]
		}
	}
	return best, params, true
}

func better(a, b []bool) bool {
	ca, cb := 0, 0
	for i := range a {
		if a[i] {
			ca++
		}
		if b[i] {
			cb++
		}
	}
	if ca != cb {
		return ca > cb
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i]
		}
	}
	return false
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
