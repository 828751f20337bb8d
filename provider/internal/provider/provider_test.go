package provider_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/sre-platform/platform/provider/internal/acctest"
)

const cluster = `
resource "platform_k3s_cluster" "c" {
  name        = "demo"
  k3s_version = "v1.31.4+k3s1"
}
`

func TestAccProviderConfigValidation(t *testing.T) {
	valid := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.Factories,
		Steps: []resource.TestStep{
			{
				Config:      `provider "platform" { hcloud_token = "short" }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid Hetzner Cloud token`),
			},
			{
				Config:      `provider "platform" { hcloud_endpoint = "ftp://example.com" }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`not an http\(s\) URL`),
			},
			{
				Config:      `provider "platform" { poll_interval = "5" }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid duration`),
			},
			{
				Config:      `provider "platform" { poll_interval = "2h" }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`between 100ms and 1m0s`),
			},
			{
				Config:      `provider "platform" { max_retries = 50 }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`max_retries`),
			},
			{
				Config:      `provider "platform" { rate_limit_max_wait = "-1s" }` + cluster,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid duration`),
			},
			{
				// A full valid configuration plans cleanly.
				Config: `provider "platform" {
  hcloud_token        = "` + valid + `"
  hcloud_endpoint     = "http://127.0.0.1:1/v1"
  poll_interval       = "500ms"
  max_retries         = 3
  rate_limit_max_wait = "30s"
}` + cluster,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}
