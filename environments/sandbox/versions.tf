terraform {
  required_version = ">= 1.11.0"

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

  # Local state under the git-ignored .cache/sandbox, which `go tool task down`
  # removes after the destroy. `go tool task up` (test/sandbox/cmd/sandbox-up) and hack/tf-env.sh pass
  # -backend-config=path=$PLATFORM_CACHE/sandbox/terraform.tfstate.
  backend "local" {
    path = "../../.cache/sandbox/terraform.tfstate"
  }
}
