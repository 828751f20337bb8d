package api

// Info is the body of GET /api/info (schema Info in openapi.yaml). It lives
// here, beside the document, so that code outside the server (the bench's
// bare baseline) answers the same shape without importing the server.
type Info struct {
	Name          string  `json:"name"`
	Version       string  `json:"version"`
	Commit        string  `json:"commit"`
	Hostname      string  `json:"hostname"`
	GoVersion     string  `json:"goVersion"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	Ready         bool    `json:"ready"`
	StartedAt     string  `json:"startedAt"`
	Message       string  `json:"message"`
	Color         string  `json:"color"`
	Environment   string  `json:"environment"`
	ChaosEnabled  bool    `json:"chaosEnabled"`
}
