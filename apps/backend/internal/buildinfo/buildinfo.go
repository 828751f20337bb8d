// Package buildinfo carries the version and commit stamped in at build time:
//
//	go build -ldflags "-X github.com/sre-platform/platform/apps/backend/internal/buildinfo.Version=1.2.3
//	  -X github.com/sre-platform/platform/apps/backend/internal/buildinfo.Commit=abc1234"
package buildinfo

import "runtime"

// Set at link time; the defaults mark a development build.
var (
	Version = "dev"
	Commit  = "unknown"
)

// GoVersion is the Go runtime the binary was built with.
func GoVersion() string { return runtime.Version() }
