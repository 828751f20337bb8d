package handlers

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
)

// SwaggerCSP is the Content-Security-Policy of the Swagger UI pages: only
// same-origin assets (all embedded), no CDN.
const SwaggerCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

// swaggerInitializer replaces the dist default (which loads the petstore):
// it loads this service's document, relative to /swagger/.
const swaggerInitializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "../openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
`

// swaggerAssets are the dist files the UI page needs (the source maps and
// ES bundles stay unserved).
var swaggerAssets = map[string]string{
	"index.html":                      "text/html; charset=utf-8",
	"index.css":                       "text/css; charset=utf-8",
	"swagger-ui.css":                  "text/css; charset=utf-8",
	"swagger-ui-bundle.js":            "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-16x16.png":               "image/png",
	"favicon-32x32.png":               "image/png",
}

// OpenAPI answers GET /openapi.yaml with the embedded document.
func (h *Handlers) OpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/yaml", h.Spec)
}

// SwaggerRedirect sends /swagger to /swagger/.
func (h *Handlers) SwaggerRedirect(c *gin.Context) {
	c.Header("Location", "/swagger/")
	c.Status(http.StatusMovedPermanently)
	c.Writer.WriteHeaderNow()
}

// Swagger serves the Swagger UI from the embedded swagger-ui dist files.
func (h *Handlers) Swagger(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean("/"+c.Param("file")), "/")
	if name == "" {
		name = "index.html"
	}
	c.Header("Content-Security-Policy", SwaggerCSP)
	if name == "swagger-initializer.js" {
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", []byte(swaggerInitializer))
		return
	}
	ctype, ok := swaggerAssets[name]
	if !ok {
		problem.NotFound(c)
		return
	}
	data, err := fs.ReadFile(swaggerfiles.FS, name)
	if err != nil {
		problem.NotFound(c)
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, ctype, data)
}
