terraform {
  required_version = ">= 1.11.0"

  required_providers {
    platform = {
      source  = "sre-platform/platform"
      version = ">= 0.1.0"
    }
  }

  # Local state under the git-ignored .cache/state (a kind cluster lives on
  # this machine only).
  backend "local" {
    path = "../../.cache/state/local/terraform.tfstate"
  }
}
