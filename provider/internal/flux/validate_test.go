package flux_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/sre-platform/platform/provider/internal/acctest"
)

// A kubeconfig that loads; plans never connect to it.
const fakeKubeconfig = `<<-EOT
    apiVersion: v1
    kind: Config
    clusters: [{name: c, cluster: {server: "https://203.0.113.10:6443"}}]
    users: [{name: u, user: {token: t}}]
    contexts: [{name: c, context: {cluster: c, user: u}}]
    current-context: c
  EOT`

func instance(body string) string {
	return fmt.Sprintf(`
resource "platform_flux_instance" "test" {
  kubeconfig = %s
  %s
}
`, fakeKubeconfig, body)
}

const gitSync = `sync = { kind = "GitRepository", url = "https://git.example.com/p.git", ref = "refs/heads/main", path = "flux" }`

func TestAccFluxInstanceValidation(t *testing.T) {
	cases := []struct{ body, err string }{
		{`operator_manifest_path = "/etc/hostname"
		  operator_manifest_url = "https://mirror.example.com/install.yaml"`, `Conflicting operator manifest sources`},
		{`operator_manifest_path = "/nonexistent/install.yaml"`, `Operator manifest file not found`},
		{`operator_manifest_url = "ftp://mirror.example.com/install.yaml"`, `not an http\(s\) URL`},
		{`operator_version = "0.59"`, `Invalid Flux Operator version`},
		{`distribution = { version = "latest" }`, `Invalid Flux distribution version`},
		{`distribution = { registry = "https://ghcr.io/fluxcd" }`, `Invalid registry`},
		{`components = ["source-controller", "flagger"]`, `(?s)value must be one of.*flagger`},
		{`components = ["source-controller", "source-controller"]`, `duplicate`},
		{`components = ["source-controller", "helm-controller"]
		  ` + gitSync, `Sync needs kustomize-controller`},
		{`cluster = { type = "k3s" }`, `value must be one of`},
		{`cluster = { size = "huge" }`, `value must be one of`},
		{`sync = { kind = "OCIRepository", url = "https://ghcr.io/org/repo", ref = "latest", path = "." }`, `must start with oci://`},
		{`sync = { kind = "Git", url = "https://x", ref = "main", path = "." }`, `value must be one of`},
		{`git_credentials = { token = "t" }`, `Git credentials without a sync source`},
		{gitSync + `
		  git_credentials = { token = "t", password = "p" }`, `Conflicting Git credentials`},
		{gitSync + `
		  git_credentials = { username = "u" }`, `Incomplete Git credentials`},
		{`sync = { kind = "OCIRepository", url = "oci://ghcr.io/o/r", ref = "latest", path = "." }
		  git_credentials = { token = "t" }`, `Git credentials need a GitRepository sync`},
		{`sync = { kind = "GitRepository", url = "https://g/p.git", ref = "main", path = ".", pull_secret = "other" }
		  git_credentials = { token = "t" }`, `Conflicting pull secret`},
		{gitSync + `
		  git_credentials = { token = "t" }
		  ghcr_credentials = { username = "u", password = "p", secret_name = "flux-system" }`, `Secret name used twice`},
		{`ghcr_credentials = { username = "u", password = "p", secret_name = "sops-age" }`, `Reserved Secret name`},
		{`sops_age_key = "age1qyqszqgpqyqszqgp"`, `Invalid SOPS age key`},
		{`storage = { class = "standard", size = "lots" }`, `Invalid storage size`},
		{`kustomize_patches = [{ patch = "just text" }]`, `Invalid kustomize patch`},
		{`timeouts = { create = "10" }`, `Invalid timeout`},
		{`cluster = { domain = "Cluster.Local" }`, `Invalid cluster domain`},
	}
	steps := make([]resource.TestStep, 0, len(cases)+2)
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: instance(c.body), PlanOnly: true, ExpectError: regexp.MustCompile(c.err)})
	}
	steps = append(steps,
		resource.TestStep{
			Config:      `resource "platform_flux_instance" "test" { kubeconfig = "not: [a kubeconfig" }`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Invalid kubeconfig`),
		},
		// The kubeconfig of a cluster that does not exist yet is unknown at
		// plan time: the plan still works and touches no cluster.
		resource.TestStep{
			Config: `
resource "platform_k3s_cluster" "c" {
  name         = "demo"
  k3s_version  = "v1.31.4+k3s1"
  api_endpoint = "203.0.113.10"
}
resource "platform_flux_instance" "test" {
  kubeconfig   = platform_k3s_cluster.c.kubeconfig
  sops_age_key = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQY"
  ` + gitSync + `
  git_credentials = { token = "t" }
  kustomize_patches = [{
    target = { kind = "Kustomization", name = "flux-system" }
    patch  = "spec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
  }]
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
	)
	// The documented example plans.
	example, err := os.ReadFile("../../examples/resources/platform_flux_instance/resource.tf")
	if err != nil {
		t.Fatal(err)
	}
	kc := strings.TrimSuffix(strings.TrimPrefix(fakeKubeconfig, "<<-EOT\n"), "  EOT")
	steps = append(steps, resource.TestStep{
		Config: string(example),
		ConfigVariables: config.Variables{
			"kubeconfig":   config.StringVariable(kc),
			"sops_age_key": config.StringVariable(ageKey),
			"git_token":    config.StringVariable("token"),
		},
		PlanOnly:           true,
		ExpectNonEmptyPlan: true,
	})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps:                    steps,
	})
}
