package hcloudemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is an error in Hetzner's shape:
// {"error":{"code":…,"message":…,"details":…}}.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details any
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

type fieldError struct {
	Name     string   `json:"name"`
	Messages []string `json:"messages"`
}

// statusFor maps Hetzner error codes to the HTTP status the API uses.
var statusFor = map[string]int{
	"invalid_input":           http.StatusBadRequest,
	"json_error":              http.StatusBadRequest,
	"unsupported_error":       http.StatusBadRequest,
	"unauthorized":            http.StatusUnauthorized,
	"forbidden":               http.StatusForbidden,
	"resource_limit_exceeded": http.StatusForbidden,
	"not_found":               http.StatusNotFound,
	"method_not_allowed":      http.StatusMethodNotAllowed,
	"uniqueness_error":        http.StatusConflict,
	"conflict":                http.StatusConflict,
	"service_error":           http.StatusConflict,
	"placement_error":         http.StatusPreconditionFailed,
	"locked":                  http.StatusLocked,
	"protected":               http.StatusLocked,
	"rate_limit_exceeded":     http.StatusTooManyRequests,
	"server_error":            http.StatusInternalServerError,
	"resource_unavailable":    http.StatusServiceUnavailable,
	"timeout":                 http.StatusGatewayTimeout,
	"bad_gateway":             http.StatusBadGateway,
	"maintenance":             http.StatusServiceUnavailable,
}

func newErr(code, format string, args ...any) *APIError {
	st, ok := statusFor[code]
	if !ok {
		// Resource-specific codes (server_not_stopped, ip_not_available, ...)
		// are preconditions that failed.
		st = http.StatusUnprocessableEntity
	}
	return &APIError{Status: st, Code: code, Message: fmt.Sprintf(format, args...), Details: map[string]any{}}
}

func errInvalid(field, msg string) *APIError {
	e := newErr("invalid_input", "invalid input in field '%s'", field)
	e.Details = map[string]any{"fields": []fieldError{{Name: field, Messages: []string{msg}}}}
	return e
}

func errNotFound(kind string, id any) *APIError {
	e := newErr("not_found", "%s with ID '%v' not found", kind, id)
	e.Details = map[string]any{"resource": kind, "id": fmt.Sprint(id)}
	return e
}

func errUnique(field string) *APIError {
	e := newErr("uniqueness_error", "%s is already used", field)
	e.Details = map[string]any{"fields": []fieldError{{Name: field, Messages: []string{"is already used"}}}}
	return e
}

func errLocked(kind string, id int64) *APIError {
	return newErr("locked", "%s %d is locked: another action is running", kind, id)
}

// errProtected is the answer to deleting (or rebuilding) a protected
// resource: "server deletion is protected".
func errProtected(kind string, id int64, what ...string) *APIError {
	op := "deletion"
	if len(what) > 0 {
		op = what[0]
	}
	e := newErr("protected", "%s %s is protected", kindWords(kind), op)
	e.Details = map[string]any{"resource": kind, "id": fmt.Sprint(id)}
	return e
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"server_error","message":"response encoding failed","details":{}}}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *APIError) {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]any{
		"code": e.Code, "message": e.Message, "details": details,
	}})
}

// maxBody bounds request bodies (Hetzner rejects huge bodies too).
const maxBody = 1 << 20

// decode decodes the JSON request body into v. The body is read once, so
// several parts of a handler may decode it into their own shapes. An empty
// body leaves v untouched. Syntax errors are json_error, type errors
// invalid_input naming the field.
func (c *reqCtx) decode(v any) *APIError {
	if c.body == nil {
		data, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
		if err != nil {
			return newErr("json_error", "could not read request body")
		}
		if len(data) > maxBody {
			return newErr("invalid_input", "request body too large")
		}
		c.body = append([]byte{}, data...)
	}
	if strings.TrimSpace(string(c.body)) == "" {
		return nil
	}
	return decodeJSON(c.body, v)
}

func decodeJSON(data []byte, v any) *APIError {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return errInvalid(field, fmt.Sprintf("expected %s", typeName(te)))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newErr("json_error", "malformed JSON in request body")
	}
	// Errors from custom unmarshalers (IDOrName, ...) are input errors too.
	return errInvalid("body", err.Error())
}

func typeName(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "a different type"
	}
	switch te.Type.Kind().String() {
	case "int", "int64", "int32", "uint64", "uint32", "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return te.Type.String()
}

// setBool decodes the body's boolean key into *dst when the key is present.
func (c *reqCtx) setBool(key string, dst *bool) *APIError {
	var m map[string]json.RawMessage
	if err := c.decode(&m); err != nil {
		return err
	}
	if v, ok := m[key]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, dst); err != nil {
			return errInvalid(key, "expected a boolean")
		}
	}
	return nil
}
