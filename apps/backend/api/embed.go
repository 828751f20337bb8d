// Package api holds the backend's OpenAPI document, the source of truth for
// its HTTP interface. The server serves it, validates requests against it and
// tests check that its routes and the document agree.
package api

import _ "embed"

// Spec is the OpenAPI 3 document (YAML).
//
//go:embed openapi.yaml
var Spec []byte
