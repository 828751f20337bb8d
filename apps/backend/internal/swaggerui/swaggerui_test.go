package swaggerui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAssetsServedCompressedOrPlain(t *testing.T) {
	names := Names()
	if len(names) != 6 {
		t.Fatalf("assets %v", names)
	}
	for _, name := range names {
		a, ok := Lookup(name)
		if !ok || len(a.Gzip) == 0 {
			t.Fatalf("%s missing", name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(a.Gzip))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || len(plain) == 0 {
			t.Fatalf("%s: %v", name, err)
		}

		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/swagger/"+name, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		if err := Write(rec, req, a); err != nil {
			t.Fatal(err)
		}
		if rec.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(rec.Body.Bytes(), a.Gzip) ||
			rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Content-Type") != a.ContentType {
			t.Errorf("%s with gzip: %v", name, rec.Header())
		}

		for _, ae := range []string{"", "identity", "gzip;q=0, br"} {
			rec = httptest.NewRecorder()
			req = httptest.NewRequest(http.MethodGet, "/swagger/"+name, nil)
			if ae != "" {
				req.Header.Set("Accept-Encoding", ae)
			}
			if err := Write(rec, req, a); err != nil {
				t.Fatal(err)
			}
			if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), plain) {
				t.Errorf("%s with Accept-Encoding %q: encoding %q, %d bytes", name, ae, rec.Header().Get("Content-Encoding"), rec.Body.Len())
			}
		}
	}
	if _, ok := Lookup("swagger-ui-bundle.js.map"); ok {
		t.Error("source maps are not served")
	}
	a, _ := Lookup("swagger-ui-bundle.js")
	zr, _ := gzip.NewReader(bytes.NewReader(a.Gzip))
	js, _ := io.ReadAll(zr)
	if !strings.Contains(string(js), "SwaggerUIBundle") {
		t.Error("swagger-ui-bundle.js does not define SwaggerUIBundle")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "*": true, "br": false, "": false,
		"gzip;q=0": false, "gzip; q=0": false, "identity": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}
