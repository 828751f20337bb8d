// Command flux-instances writes the reference FluxInstance of every cluster,
// flux/clusters/<name>/flux-system/flux-instance.yaml, exactly as Terraform
// applies it: it evaluates the cluster's Terraform root (variables, tfvars,
// locals) and its `module "flux"` call into modules/flux-bootstrap (variables
// with their defaults, locals such as the SOPS decryption patch, the
// platform_flux_instance arguments), then lets the provider validate, plan and
// render that configuration in process (provider/fluxinstance). With -check
// it writes nothing and fails when a committed file differs.
//
//	go run ./test/cmd/flux-instances [-root .] [-check]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// source says how a cluster's FluxInstance comes about: which Terraform root
// applies it, with which variables. Secrets are the sensitive variables an
// operator sets (environments/README.md); their values never reach the
// FluxInstance, only whether they are set (the Git pull Secret, the SOPS
// patch).
type source struct {
	Cluster string            // flux/clusters/<Cluster>
	Root    string            // Terraform root folder
	VarFile string            // tfvars file in Root ("" for none)
	Vars    map[string]string // further variables, as with -var
	Secrets []string          // sensitive variables that are set
}

var hetznerSecrets = []string{"git_token", "sops_age_key", "ghcr_token"}

// Sources lists every cluster entry and the root that bootstraps it. The
// shared topology is one Hetzner root with flux_cluster_path set
// (environments/README.md); production's root is the one documented.
var Sources = []source{
	{Cluster: "develop", Root: "environments/develop", VarFile: "develop.tfvars", Vars: map[string]string{"ghcr_username": "platform-bot"}, Secrets: hetznerSecrets},
	{Cluster: "staging", Root: "environments/staging", VarFile: "staging.tfvars", Vars: map[string]string{"ghcr_username": "platform-bot"}, Secrets: hetznerSecrets},
	{Cluster: "production", Root: "environments/production", VarFile: "production.tfvars", Vars: map[string]string{"ghcr_username": "platform-bot"}, Secrets: hetznerSecrets},
	{Cluster: "shared", Root: "environments/production", VarFile: "production.tfvars",
		Vars: map[string]string{"ghcr_username": "platform-bot", "flux_cluster_path": "flux/clusters/shared"}, Secrets: hetznerSecrets},
	{Cluster: "local", Root: "environments/local", VarFile: "local.tfvars", Secrets: []string{"git_token"}},
	{Cluster: "sandbox", Root: "environments/sandbox", VarFile: "sandbox.tfvars", Vars: map[string]string{"flux_cluster_path": "flux/clusters/sandbox"}},
}

// File is where a cluster's reference FluxInstance lives.
func File(cluster string) string {
	return filepath.Join("flux", "clusters", cluster, "flux-system", "flux-instance.yaml")
}

// Generate renders the reference file of every cluster entry under
// root/flux/clusters; it fails for an entry no source describes.
func Generate(ctx context.Context, root string) (map[string][]byte, error) {
	entries, err := os.ReadDir(filepath.Join(root, "flux", "clusters"))
	if err != nil {
		return nil, err
	}
	bySrc := map[string]source{}
	for _, s := range Sources {
		bySrc[s.Cluster] = s
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		src, ok := bySrc[e.Name()]
		if !ok {
			return nil, fmt.Errorf("flux/clusters/%s: no Terraform root known for this cluster: add it to Sources in test/cmd/flux-instances", e.Name())
		}
		b, err := Render(ctx, root, src)
		if err != nil {
			return nil, fmt.Errorf("flux/clusters/%s: %w", e.Name(), err)
		}
		out[File(e.Name())] = b
	}
	return out, nil
}

func main() {
	root := flag.String("root", ".", "repository root")
	check := flag.Bool("check", false, "write nothing; fail when a committed file differs from the render")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("flux-instances: ")
	files, err := Generate(context.Background(), *root)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var stale []string
	for _, n := range names {
		p := filepath.Join(*root, n)
		old, _ := os.ReadFile(p)
		if string(old) == string(files[n]) {
			continue
		}
		if *check {
			stale = append(stale, n)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Println("wrote", n)
	}
	if len(stale) > 0 {
		log.Fatalf("differ from what Terraform renders (regenerate: go tool task flux:instances):\n  %s", strings.Join(stale, "\n  "))
	}
}
