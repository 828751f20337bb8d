# Values the hcloud mock returns in place of what Hetzner computes, so that
# plans can be asserted on (IDs are numbers in Hetzner's API).

mock_resource "hcloud_network" {
  defaults = {
    id = "1001"
  }
}

mock_resource "hcloud_network_subnet" {
  defaults = {
    id = "1001-10.0.1.0/24"
  }
}

mock_resource "hcloud_firewall" {
  defaults = {
    id = "2002"
  }
}

mock_resource "hcloud_placement_group" {
  defaults = {
    id = "3003"
  }
}

mock_resource "hcloud_ssh_key" {
  defaults = {
    id          = "4004"
    fingerprint = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
  }
}

mock_resource "hcloud_load_balancer" {
  defaults = {
    id         = "5005"
    ipv4       = "203.0.113.10"
    ipv6       = "2001:db8::1"
    network_id = 1001
    network_ip = "10.0.1.254"
  }
}
