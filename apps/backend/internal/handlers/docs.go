package handlers

import (
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sre-platform/platform/apps/backend/internal/problem"
	"github.com/sre-platform/platform/apps/backend/internal/swaggerui"
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

// swaggerPage is the UI page (swagger-ui's dist index.html, which loads the
// initializer below).
const swaggerPage = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Swagger UI</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="index.css" />
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16" />
  </head>

  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"> </script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"> </script>
    <script src="./swagger-initializer.js" charset="UTF-8"> </script>
  </body>
</html>
`

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
	switch name {
	case "index.html":
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(swaggerPage))
		return
	case "swagger-initializer.js":
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", []byte(swaggerInitializer))
		return
	}
	asset, ok := swaggerui.Lookup(name)
	if !ok {
		problem.NotFound(c)
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	_ = swaggerui.Write(c.Writer, c.Request, asset)
}
