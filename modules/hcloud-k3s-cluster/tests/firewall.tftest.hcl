# Firewall rules and the SSH key: SSH stays closed unless CIDRs are listed.

mock_provider "hcloud" {
  override_during = plan
  source          = "./tests/mocks/hcloud"
}

mock_provider "platform" {
  override_during = plan
  source          = "./tests/mocks/platform"
}

variables {
  name              = "demo"
  k3s_version       = "v1.31.4+k3s1"
  api_allowed_cidrs = ["198.51.100.7/32"]
  agent_pools = {
    general = { server_type = "cx32", count = 1 }
  }
}

run "ssh_closed_by_default" {
  command = plan

  assert {
    condition     = length(hcloud_firewall.this.rule) == 2
    error_message = "Two rules by default: ICMP and the Kubernetes API."
  }
  assert {
    condition     = length([for r in hcloud_firewall.this.rule : r if r.port == "22"]) == 0
    error_message = "No SSH rule without ssh_allowed_cidrs."
  }
  assert {
    condition = anytrue([for r in hcloud_firewall.this.rule : (
      r.direction == "in" && r.protocol == "icmp" && r.source_ips == toset(["0.0.0.0/0", "::/0"])
    )])
    error_message = "ICMP is allowed in from everywhere."
  }
  assert {
    condition = anytrue([for r in hcloud_firewall.this.rule : (
      r.direction == "in" && r.protocol == "tcp" && r.port == "6443" && r.source_ips == toset(["198.51.100.7/32"])
    )])
    error_message = "The API (6443/tcp) is open to exactly api_allowed_cidrs."
  }
  assert {
    condition     = alltrue([for r in hcloud_firewall.this.rule : r.direction == "in"])
    error_message = "Only inbound rules: outbound traffic stays unrestricted."
  }
  assert {
    condition     = platform_k3s_server.first.firewall_ids == toset([2002]) && alltrue([for a in platform_k3s_agent.this : a.firewall_ids == toset([2002])])
    error_message = "The firewall applies to servers and agents."
  }
}

run "ssh_open_for_listed_cidrs" {
  command = plan

  variables {
    ssh_allowed_cidrs = ["203.0.113.7/32", "2001:db8::/48"]
  }

  assert {
    condition     = length(hcloud_firewall.this.rule) == 3
    error_message = "A third rule for SSH."
  }
  assert {
    condition = anytrue([for r in hcloud_firewall.this.rule : (
      r.direction == "in" && r.protocol == "tcp" && r.port == "22" && r.source_ips == toset(["203.0.113.7/32", "2001:db8::/48"])
    )])
    error_message = "SSH (22/tcp) is open to exactly ssh_allowed_cidrs."
  }
}

run "api_restricted" {
  command = plan

  variables {
    api_allowed_cidrs = ["198.51.100.0/24", "2001:db8:ffff::/48"]
  }

  assert {
    condition = anytrue([for r in hcloud_firewall.this.rule : (
      r.port == "6443" && r.source_ips == toset(["198.51.100.0/24", "2001:db8:ffff::/48"])
    )])
    error_message = "The API rule admits exactly api_allowed_cidrs."
  }
  assert {
    condition     = length([for r in hcloud_firewall.this.rule : r if contains(r.source_ips, "0.0.0.0/0") && r.protocol == "tcp"]) == 0
    error_message = "No TCP rule is open to the world once the API is restricted."
  }
}

run "api_public_with_opt_in" {
  command = plan

  variables {
    api_allowed_cidrs = ["0.0.0.0/0", "::/0"]
    allow_public_api  = true
  }

  assert {
    condition = anytrue([for r in hcloud_firewall.this.rule : (
      r.port == "6443" && r.source_ips == toset(["0.0.0.0/0", "::/0"])
    )])
    error_message = "With allow_public_api the API rule admits the whole internet, as asked."
  }
}

run "ssh_key" {
  command = plan

  variables {
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGWtTs0yAQVbIzdwqWRqGZlSEfGHcRKx6pcwlk7ztFMz ops@example"
  }

  assert {
    condition = (length(hcloud_ssh_key.this) == 1 && hcloud_ssh_key.this[0].name == "demo" &&
      hcloud_ssh_key.this[0].public_key == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGWtTs0yAQVbIzdwqWRqGZlSEfGHcRKx6pcwlk7ztFMz ops@example" &&
    hcloud_ssh_key.this[0].labels == tomap({ cluster = "demo", "managed-by" = "terraform" }))
    error_message = "The key is registered as <name> with the base labels."
  }
  assert {
    condition     = platform_k3s_server.first.ssh_keys == tolist(["4004"]) && alltrue([for a in platform_k3s_agent.this : a.ssh_keys == tolist(["4004"])])
    error_message = "Every node gets the key, by ID."
  }
  assert {
    condition     = length([for r in hcloud_firewall.this.rule : r if r.port == "22"]) == 0
    error_message = "A key alone does not open SSH."
  }
}
