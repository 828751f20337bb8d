package secret_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

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

func secretConfig(body string) string {
	return fmt.Sprintf(`
resource "platform_cluster_secret" "test" {
  kubeconfig = %s
  %s
}
`, fakeKubeconfig, body)
}

const okBody = `namespace = "kube-system"
  name      = "hcloud"
  data      = { token = "t" }`

func TestAccClusterSecretValidation(t *testing.T) {
	cases := []struct{ body, err string }{
		{`namespace = "Kube_System"
		  name = "hcloud"
		  data = { token = "t" }`, `(?s)Invalid namespace.*"Kube_System" is invalid.*RFC 1123 label`},
		{`namespace = "a-namespace-name-that-is-far-too-long-for-a-dns-label-of-63-chars"
		  name = "hcloud"
		  data = { token = "t" }`, `(?s)Invalid namespace.*must be no more than 63`},
		{`namespace = "kube-system"
		  name = "hcloud_token"
		  data = { token = "t" }`, `(?s)Invalid Secret name.*"hcloud_token" is invalid.*RFC 1123 subdomain`},
		{`namespace = "kube-system"
		  name = "hcloud"
		  data = { "api token" = "t" }`, `(?s)Invalid Secret data.*key "api token" is invalid.*valid config key`},
		{`namespace = "kube-system"
		  name = "hcloud"
		  data = { ".." = "t" }`, `(?s)Invalid Secret data.*key ".." is invalid`},
		{`namespace = "kube-system"
		  name = "hcloud"
		  data = { big = "` + strings.Repeat("x", 1<<10) + `" }
		  labels = { "example.com/Team!" = "sre" }`, `(?s)Invalid label.*label key "example.com/Team!" is invalid`},
		{okBody + `
		  labels = { team = "not a label value" }`, `(?s)Invalid label.*value of label team`},
		{okBody + `
		  type = ""`, `(?s)Invalid Secret type.*must not be empty`},
		{okBody + `
		  type = "kubernetes.io/service-account-token"`, `(?s)Invalid Secret type.*not supported`},
		{okBody + `
		  type = "kubernetes.io/tls"`, `(?s)Secret data does not suit its type.*kubernetes.io/tls needs the key\(s\) tls.crt, tls.key`},
		{`namespace = "kube-system"
		  name = "hcloud"
		  data = { a = format("%1100000s", "x") }`, `(?s)Invalid Secret data.*a Secret holds at most 1048576 bytes`},
		{`namespace = "kube-system"
		  data = { token = "t" }`, `The argument "name" is required`},
	}
	steps := make([]resource.TestStep, 0, len(cases)+2)
	for _, c := range cases {
		steps = append(steps, resource.TestStep{Config: secretConfig(c.body), PlanOnly: true, ExpectError: regexp.MustCompile(c.err)})
	}
	steps = append(steps,
		resource.TestStep{
			Config: `resource "platform_cluster_secret" "test" {
  kubeconfig = "not: [a kubeconfig"
  namespace  = "kube-system"
  name       = "hcloud"
  data       = { token = "t" }
}`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Invalid kubeconfig`),
		},
		// A valid configuration plans without touching the (unreachable) cluster.
		resource.TestStep{
			Config: secretConfig(`namespace = "kube-system"
  name      = "hcloud"
  type      = "kubernetes.io/basic-auth"
  labels    = { "app.kubernetes.io/part-of" = "platform" }
  data      = { username = "u", password = "p" }`),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
	)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps:                    steps,
	})
}
