terraform {
  required_version = ">= 1.9.0"

  required_providers {
    platform = {
      source  = "sre-platform/platform"
      version = ">= 0.1.0"
    }
  }
}
