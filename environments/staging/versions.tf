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

  # S3-compatible state (e.g. Hetzner Object Storage) with S3-native locking
  # (a .tflock object next to the state). Bucket, region and endpoint come
  # from backend.hcl (see backend.hcl.example); credentials from
  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never from a file in git.
  backend "s3" {
    key                         = "staging/terraform.tfstate"
    use_lockfile                = true
    use_path_style              = true
    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}
