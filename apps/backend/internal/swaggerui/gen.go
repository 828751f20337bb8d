//go:build ignore

// gen.go rewrites the gzip-compressed Swagger UI assets of this package from
// the swagger-ui dist shipped in a pinned Go module (swaggo/files/v2 embeds
// swagger-ui's dist folder). Only the files the page needs are kept: the
// module embeds 11 MB (source maps and ES bundles included), the page needs
// 1.8 MB, 0.5 MB once compressed. Run from this folder after changing
// module: go run gen.go
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const module = "github.com/swaggo/files/v2@v2.0.2" // swagger-ui 5.18.2

// The files served (index.html is replaced by the package's own page).
var files = []string{
	"index.css", "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
	"favicon-16x16.png", "favicon-32x32.png",
}

func main() {
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		fail("go mod download %s: %v", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Error != "" {
		fail("go mod download %s: %v %s", module, err, m.Error)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(m.Dir, "dist", f))
		if err != nil {
			fail("%v", err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Name = f // fixed header: no modification time, so output is reproducible
		if _, err := zw.Write(data); err != nil {
			fail("%v", err)
		}
		if err := zw.Close(); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(f+".gz", buf.Bytes(), 0o644); err != nil {
			fail("%v", err)
		}
		fmt.Printf("%-34s %8d -> %7d bytes\n", f, len(data), buf.Len())
	}
	lic, err := os.ReadFile(filepath.Join(m.Dir, "LICENSE"))
	if err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile("LICENSE.swaggo-files", lic, 0o644); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...)
	os.Exit(1)
}
