// Command images builds the sandbox's container images in Go and puts them
// into the local registry directory (default <cache>/registry), which
// test/oci serves to the nodes' containerd as a mirror of ghcr.io,
// registry.k8s.io and docker.io:
//
//	registry.k8s.io/pause:3.10                 test/oci/pause
//	registry.k8s.io/coredns/coredns:v1.15.0    CoreDNS from its Go module (test/tools/coredns)
//	ghcr.io/sre-platform/backend:dev           apps/backend (+ dev-<digest> tag)
//	ghcr.io/sre-platform/frontend:dev          apps/frontend's SPA + Debian's nginx (+ dev-<digest> tag)
//
// and, named `flux` (or one by one), the Flux images for the sandbox's
// FluxInstance (distribution.registry ghcr.io/sre-platform/fluxcd):
//
//	ghcr.io/sre-platform/fluxcd/{source,kustomize,helm}-controller:<tag of Flux 2.9.x>
//	ghcr.io/controlplaneio-fluxcd/flux-operator:v0.59.0
//
//	go run ./test/cmd/images [-cache .cache] [-registry DIR] [-version dev] [name | flux | all ...]
//
// Idempotent: compiles are cached by a key over their inputs, and an image
// whose digest the registry already has under every tag is left alone.
// One progress line per step goes to stderr; stdout gets one line per
// image: name, digest, compressed size, references.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sre-platform/platform/test/oci"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("images: ")
	defCache := os.Getenv("PLATFORM_CACHE")
	if defCache == "" {
		defCache = ".cache"
	}
	cache := flag.String("cache", defCache, "build cache folder (default $PLATFORM_CACHE or .cache)")
	registry := flag.String("registry", "", "registry directory (default <cache>/registry)")
	version := flag.String("version", "dev", "version stamped into the app images (the Dockerfiles' VERSION)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: images [flags] [%s | flux | all ...]\n", strings.Join(append(oci.Names, oci.FluxNames...), " | "))
		fmt.Fprintf(os.Stderr, "without names: %s; flux: %s (5–7 min cold each)\n", strings.Join(oci.Names, " "), strings.Join(oci.FluxNames, " "))
		flag.PrintDefaults()
	}
	flag.Parse()
	var names []string
	for _, a := range flag.Args() {
		switch a {
		case "flux":
			names = append(names, oci.FluxNames...)
		case "all":
			names = append(names, oci.Names...)
			names = append(names, oci.FluxNames...)
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		names = oci.Names
	}
	root, err := checkoutRoot()
	if err != nil {
		log.Fatal(err)
	}
	cacheDir, err := filepath.Abs(*cache)
	if err != nil {
		log.Fatal(err)
	}
	if *registry == "" {
		*registry = filepath.Join(cacheDir, "registry")
	}
	reg, err := oci.OpenRegistry(*registry)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &oci.Builder{Root: root, Cache: cacheDir, Log: os.Stderr, Version: *version}
	start := time.Now()
	for _, name := range names {
		t0 := time.Now()
		switch name {
		case "backend", "frontend":
			b.Commit = oci.GitCommit(root, "apps/"+name)
		default:
			b.Commit = ""
		}
		built, err := b.Build(ctx, name)
		if err != nil {
			log.Fatal(err)
		}
		p, err := oci.Publish(reg, built)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		state := "current"
		if p.Pushed {
			state = "stored"
		}
		log.Printf("%s: %s in %s", name, state, time.Since(t0).Round(100*time.Millisecond))
		fmt.Printf("%-9s %s %6.1f MB  %s\n", name, p.Digest, float64(p.Size)/1e6, strings.Join(p.Refs, " "))
	}
	log.Printf("%d image(s) in %s, registry %s", len(names), time.Since(start).Round(100*time.Millisecond), reg.Dir())
}

// checkoutRoot is $PLATFORM_ROOT or the enclosing git checkout.
func checkoutRoot() (string, error) {
	if r := os.Getenv("PLATFORM_ROOT"); r != "" {
		return filepath.Abs(r)
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("not inside the checkout (set PLATFORM_ROOT): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
