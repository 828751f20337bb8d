// Command flux-operator-manifest writes the Flux Operator install manifest of
// a release to <cache>/flux-operator/<version>/install.yaml and prints its
// path. The manifest is assembled from the flux-operator Go module's config/
// (downloaded through the Go module proxy), so it works where GitHub release
// assets cannot be fetched; set it as operator_manifest_path of
// platform_flux_instance (or of modules/flux-bootstrap).
//
//	go run ./test/cmd/flux-operator-manifest [-version v0.59.0] [-cache .cache] [-force]
//
// A second run for the same version only prints the path.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sre-platform/platform/test/fluxoperator"
)

func main() {
	defCache := os.Getenv("PLATFORM_CACHE")
	if defCache == "" {
		defCache = ".cache"
	}
	version := flag.String("version", fluxoperator.DefaultVersion, "Flux Operator release (vX.Y.Z)")
	cache := flag.String("cache", defCache, "cache folder; the manifest lands in <cache>/flux-operator/<version>/install.yaml (default $PLATFORM_CACHE or .cache)")
	force := flag.Bool("force", false, "assemble again even when the cached manifest exists")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("flux-operator-manifest: ")
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments %q", flag.Args())
	}
	abs, err := filepath.Abs(*cache)
	if err != nil {
		log.Fatal(err)
	}
	if *force {
		if err := os.Remove(fluxoperator.ManifestPath(abs, *version)); err != nil && !os.IsNotExist(err) {
			log.Fatal(err)
		}
	}
	p, err := fluxoperator.Ensure(abs, *version)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
}
