// Command validate checks the GitOps tree offline; see package validator.
//
//	go run . -root ../.. [-cache ../../.cache/validate] [-extra flux/x]... [-render DIR]
//
// With -render it also writes every environment's rendered objects and the
// CRDs they need to DIR (layout: validator.WriteRender), for the server-side
// dry-run against a real kube-apiserver (test/gitops).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/validate/validator"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	root := flag.String("root", ".", "repository root (holds flux/clusters)")
	cache := flag.String("cache", "", "CRD schema cache (default <root>/.cache/validate)")
	var extra list
	flag.Var(&extra, "extra", "further kustomize folder to build and check (repeatable), e.g. a component that is switched off")
	render := flag.String("render", "", "also write each environment's rendered objects (clusters/<name>.yaml, extra/*.yaml) and the CRDs they need (crds.yaml) to this folder")
	flag.Parse()
	if *cache == "" {
		*cache = filepath.Join(*root, ".cache", "validate")
	}
	start := time.Now()
	rep, err := validator.Run(validator.Options{Root: *root, CacheDir: *cache, Extra: extra})
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(2)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	total := 0
	for _, c := range rep.Clusters {
		total += c.Objects
		fmt.Printf("cluster %-11s %2d Flux Kustomizations, %3d objects\n", c.Name, c.Kustomizations, c.Objects)
	}
	for _, f := range rep.Findings {
		fmt.Println("ERROR", f)
	}
	if *render != "" {
		sum, err := validator.WriteRender(*render, rep, validator.DefaultCRDSources)
		if err != nil {
			fmt.Fprintln(os.Stderr, "validate: render:", err)
			os.Exit(2)
		}
		n := 0
		for _, c := range sum.Environments {
			n += c
		}
		fmt.Printf("rendered %d objects of %d environments and %d CRDs to %s\n", n, len(sum.Environments), sum.CRDs, *render)
	}
	fmt.Printf("%d objects in %d clusters, %d problems, %s\n", total, len(rep.Clusters), len(rep.Findings), time.Since(start).Round(10*time.Millisecond))
	if len(rep.Findings) > 0 || len(rep.Warnings) > 0 {
		os.Exit(1)
	}
}
