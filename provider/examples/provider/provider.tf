terraform {
  required_providers {
    platform = {
      source = "sre-platform/platform"
    }
  }
}

# The token comes from HCLOUD_TOKEN unless set here (mark any variable that
# carries it as sensitive).
provider "platform" {
  poll_interval       = "1s"
  max_retries         = 5
  rate_limit_max_wait = "2m"
}
