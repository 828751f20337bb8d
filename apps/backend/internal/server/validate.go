package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// LoadSpec parses and validates the OpenAPI document.
func LoadSpec(ctx context.Context, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	return doc, nil
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// SpecPath turns a gin route template into an OpenAPI path
// ("/chaos/delay/:seconds" -> "/chaos/delay/{seconds}").
func SpecPath(ginPath string) string {
	return ginParam.ReplaceAllString(ginPath, "{$1}")
}

// validator checks requests against the operation of their route. gin has
// already matched the route, so no second router is needed: the operation is
// looked up by method and route template.
type validator struct {
	routes  map[string]*routers.Route // "GET /chaos/delay/{seconds}"
	options *openapi3filter.Options
	byGin   map[ginRoute]operation // filled by bind, read-only afterwards
}

type ginRoute struct{ method, path string }

type operation struct {
	route *routers.Route
	// trivial: no parameters, no body, no security: nothing to check, so
	// the request skips kin-openapi altogether.
	trivial bool
}

// bind maps every gin route to its operation, once, so a request costs one
// map lookup (no template rewriting).
func (v *validator) bind(routes gin.RoutesInfo) {
	v.byGin = map[ginRoute]operation{}
	for _, r := range routes {
		route, ok := v.routes[r.Method+" "+SpecPath(r.Path)]
		if !ok {
			continue
		}
		op := route.Operation
		trivial := len(op.Parameters) == 0 && len(route.PathItem.Parameters) == 0 && op.RequestBody == nil &&
			(op.Security == nil || len(*op.Security) == 0) && len(route.Spec.Security) == 0
		v.byGin[ginRoute{r.Method, r.Path}] = operation{route: route, trivial: trivial}
	}
}

func newValidator(doc *openapi3.T) *validator {
	v := &validator{
		routes: map[string]*routers.Route{},
		options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// Leave the body as sent: the handlers apply defaults and decode strictly.
			SkipSettingDefaults: true,
		},
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			v.routes[method+" "+path] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return v
}

func (v *validator) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		op, ok := v.byGin[ginRoute{c.Request.Method, c.FullPath()}]
		if !ok || op.trivial {
			return // every route is in the document (tested); nothing to check against
		}
		route := op.route
		params := make(map[string]string, len(c.Params))
		for _, p := range c.Params {
			params[p.Key] = strings.TrimPrefix(p.Value, "/")
		}
		err := openapi3filter.ValidateRequest(c.Request.Context(), &openapi3filter.RequestValidationInput{
			Request:    c.Request,
			PathParams: params,
			Route:      route,
			Options:    v.options,
		})
		if err == nil {
			return
		}
		if problem.BodyTooLarge(err) {
			problem.Write(c, http.StatusRequestEntityTooLarge, "request body larger than the limit")
			return
		}
		problem.Write(c, http.StatusBadRequest, describe(err))
	}
}

// describe turns a kin-openapi error into one short sentence naming the
// parameter or body field and the reason, without dumping the schema.
func describe(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "request does not match the API description"
	}
	reason := re.Reason
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		reason = se.Reason
		if ptr := se.JSONPointer(); len(ptr) > 0 {
			reason = fmt.Sprintf("%s: %s", strings.Join(ptr, "."), se.Reason)
		}
	} else if reason == "" && re.Err != nil {
		reason = re.Err.Error()
	}
	switch {
	case re.Parameter != nil:
		return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	case re.RequestBody != nil:
		return "request body: " + reason
	}
	return reason
}
