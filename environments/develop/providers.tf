# Both providers talk to the same Hetzner project. A null token makes them read
# HCLOUD_TOKEN from the environment.
provider "hcloud" {
  token         = var.hcloud_token
  endpoint      = var.hcloud_endpoint
  poll_interval = var.poll_interval
}

provider "platform" {
  hcloud_token    = var.hcloud_token
  hcloud_endpoint = var.hcloud_endpoint
  poll_interval   = var.poll_interval
}
