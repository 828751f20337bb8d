# kind needs no credentials; the provider's Hetzner settings stay unused.
provider "platform" {}
