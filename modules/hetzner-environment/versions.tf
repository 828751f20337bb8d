# The calling root configures both providers; the modules called here use
# them. Declaring them names their sources for this module too (a caller's or
# a test's provider "hcloud" is hetznercloud/hcloud, not hashicorp/hcloud).
terraform {
  required_version = ">= 1.11.0"

  required_providers {
    # tflint-ignore: terraform_unused_required_providers
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.59"
    }
    # tflint-ignore: terraform_unused_required_providers
    platform = {
      source  = "sre-platform/platform"
      version = ">= 0.1.0"
    }
  }
}
