terraform {
  # 1.9: variable validations that refer to other variables.
  required_version = ">= 1.9.0"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.59"
    }
    platform = {
      source  = "sre-platform/platform"
      version = ">= 0.1.0"
    }
  }
}
