// Package swaggerui holds the Swagger UI assets the backend serves at
// /swagger/, gzip-compressed (written by gen.go from a pinned copy of
// swagger-ui's dist; swagger-ui is Apache-2.0, see NOTICE), and serves them:
// as stored to clients that accept gzip, decompressed to the others.
package swaggerui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"net/http"
	"strings"
)

//go:generate go run gen.go

//go:embed *.gz
var files embed.FS

// types are the assets and their media types; anything else is not served.
var types = map[string]string{
	"index.css":                       "text/css; charset=utf-8",
	"swagger-ui.css":                  "text/css; charset=utf-8",
	"swagger-ui-bundle.js":            "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-16x16.png":               "image/png",
	"favicon-32x32.png":               "image/png",
}

// Asset is one compressed file.
type Asset struct {
	Gzip        []byte
	ContentType string
}

// Lookup returns the asset called name ("swagger-ui.css").
func Lookup(name string) (Asset, bool) {
	ctype, ok := types[name]
	if !ok {
		return Asset{}, false
	}
	data, err := files.ReadFile(name + ".gz")
	if err != nil {
		return Asset{}, false
	}
	return Asset{Gzip: data, ContentType: ctype}, true
}

// Names lists the assets.
func Names() []string {
	out := make([]string, 0, len(types))
	for n := range types {
		out = append(out, n)
	}
	return out
}

// acceptsGzip reports whether the Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") || strings.TrimSpace(coding) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// Write sends a with status 200: compressed (Content-Encoding: gzip) when
// the request accepts gzip, decompressed otherwise. Headers already set on
// w (security, caching) are kept.
func Write(w http.ResponseWriter, r *http.Request, a Asset) error {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return nil
		}
		_, err := w.Write(a.Gzip)
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Gzip))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(w, zr) //nolint:gosec // zr reads assets compiled into the binary, not client input
	return err
}
