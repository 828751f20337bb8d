# Both providers talk to the sandbox's Hetzner emulator (`go tool task up`
# starts it). A null token makes them read HCLOUD_TOKEN.
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
