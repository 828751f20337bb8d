package hcloudemu

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// listKeys tells paginate how to filter and sort one resource kind.
type listKeys[T any] struct {
	id      func(T) int64
	name    func(T) string
	labels  func(T) map[string]string
	created func(T) time.Time
	extra   map[string]func(a, b T) int
	// noNameFilter: the kind has no name/label_selector filters.
	noNameFilter bool
}

const (
	defaultPerPage = 25
	maxPerPage     = 50
)

// paginate applies name and label_selector filters, sort and pagination
// like the Hetzner API and returns the page and meta.
func paginate[T any](q url.Values, items []T, k listKeys[T]) ([]T, schema.Meta, *APIError) {
	page, perPage, err := pageParams(q)
	if err != nil {
		return nil, schema.Meta{}, err
	}
	if !k.noNameFilter {
		if items, err = filterNameAndLabels(q, items, k); err != nil {
			return nil, schema.Meta{}, err
		}
	}
	cmps, err := sortOrder(q, k)
	if err != nil {
		return nil, schema.Meta{}, err
	}
	slices.SortFunc(items, func(a, b T) int {
		for _, f := range cmps {
			if r := f(a, b); r != 0 {
				return r
			}
		}
		return cmp.Compare(k.id(a), k.id(b))
	})
	total := len(items)
	last := max(1, (total+perPage-1)/perPage)
	meta := schema.Meta{Pagination: &schema.MetaPagination{Page: page, PerPage: perPage,
		LastPage: last, TotalEntries: total}}
	if page > 1 {
		meta.Pagination.PreviousPage = page - 1
	}
	if page < last {
		meta.Pagination.NextPage = page + 1
	}
	from := min((page-1)*perPage, total)
	to := min(from+perPage, total)
	if items == nil {
		items = []T{} // an empty list is [] in JSON, as Hetzner answers, never null
	}
	return items[from:to], meta, nil
}

// pageParams reads page and per_page (at most maxPerPage).
func pageParams(q url.Values) (page, perPage int, err *APIError) {
	page, perPage = 1, defaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errInvalid("page", "must be a positive integer")
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errInvalid("per_page", "must be a positive integer")
		}
		perPage = min(n, maxPerPage)
	}
	return page, perPage, nil
}

// filterNameAndLabels keeps the items with the name and matching the
// label_selector the query gives.
func filterNameAndLabels[T any](q url.Values, items []T, k listKeys[T]) ([]T, *APIError) {
	if names, ok := q["name"]; ok && k.name != nil {
		name := names[0]
		items = slices.DeleteFunc(items, func(t T) bool { return k.name(t) != name })
	}
	if v, ok := q["label_selector"]; ok && k.labels != nil {
		sel, err := ParseSelector(v[0])
		if err != nil {
			return nil, errInvalid("label_selector", err.Error())
		}
		items = slices.DeleteFunc(items, func(t T) bool { return !sel.Matches(k.labels(t)) })
	}
	return items, nil
}

// sortOrder turns the sort parameters (field or field:asc|desc, repeated
// or comma separated) into comparisons; later ones break ties, id:asc last.
func sortOrder[T any](q url.Values, k listKeys[T]) ([]func(a, b T) int, *APIError) {
	var cmps []func(a, b T) int
	for _, s := range q["sort"] {
		for part := range strings.SplitSeq(s, ",") {
			field, dir, _ := strings.Cut(part, ":")
			if dir != "" && dir != "asc" && dir != "desc" {
				return nil, errInvalid("sort", "direction must be asc or desc")
			}
			var f func(a, b T) int
			switch field {
			case "id":
				f = func(a, b T) int { return cmp.Compare(k.id(a), k.id(b)) }
			case "name":
				if k.name != nil {
					f = func(a, b T) int { return cmpStr(k.name(a), k.name(b)) }
				}
			case "created":
				if k.created != nil {
					f = func(a, b T) int { return k.created(a).Compare(k.created(b)) }
				}
			default:
				f = k.extra[field]
			}
			if f == nil {
				return nil, errInvalid("sort", "unknown sort field "+field)
			}
			if dir == "desc" {
				g := f
				f = func(a, b T) int { return -g(a, b) }
			}
			cmps = append(cmps, f)
		}
	}
	return cmps, nil
}

// metaJSON renders pagination meta with nulls for absent pages, like Hetzner.
func metaJSON(m schema.Meta) map[string]any {
	p := m.Pagination
	nullable := func(v int) any {
		if v == 0 {
			return nil
		}
		return v
	}
	return map[string]any{"pagination": map[string]any{
		"page": p.Page, "per_page": p.PerPage, "previous_page": nullable(p.PreviousPage),
		"next_page": nullable(p.NextPage), "last_page": p.LastPage, "total_entries": p.TotalEntries,
	}}
}

func cmpStr(a, b string) int { return strings.Compare(a, b) }

func (c *reqCtx) param(name string) string { return c.params[name] }

func (c *reqCtx) pathID() (int64, *APIError) {
	v := c.param("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, errInvalid("id", "must be a positive integer")
	}
	return id, nil
}

// validateLabels applies Hetzner's label rules (hcloud-go implements them).
func validateLabels(l *map[string]string) *APIError {
	if l == nil {
		return nil
	}
	m := make(map[string]any, len(*l))
	for k, v := range *l {
		m[k] = v
	}
	if ok, err := hcloud.ValidateResourceLabels(m); !ok {
		msg := "invalid labels"
		if err != nil {
			msg = err.Error()
		}
		return errInvalid("labels", msg)
	}
	return nil
}

func copyLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

func labelsOrEmpty(l *map[string]string) map[string]string {
	if l == nil {
		return map[string]string{}
	}
	return copyLabels(*l)
}

var hostnameRe = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

func validateName(name string, hostname bool) *APIError {
	if name == "" {
		return errInvalid("name", "is required")
	}
	if len(name) > 63 && hostname {
		return errInvalid("name", "is too long (maximum is 63 characters)")
	}
	if len(name) > 128 {
		return errInvalid("name", "is too long (maximum is 128 characters)")
	}
	if hostname && !hostnameRe.MatchString(name) {
		return errInvalid("name", "must be a valid hostname (RFC 1123)")
	}
	if !hostname && strings.ContainsAny(name, "\x00\n\r") {
		return errInvalid("name", "contains invalid characters")
	}
	return nil
}

func listResponse(key string, items any, meta schema.Meta) map[string]any {
	return map[string]any{key: items, "meta": metaJSON(meta)}
}
