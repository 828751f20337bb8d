# Every input validation fails the plan with its own message.

mock_provider "hcloud" {
  source = "./tests/mocks/hcloud"
}

mock_provider "platform" {
  source = "./tests/mocks/platform"
}

variables {
  name              = "demo"
  k3s_version       = "v1.31.4+k3s1"
  api_allowed_cidrs = ["198.51.100.7/32"]
}

run "valid_inputs_plan" {
  command = plan

  variables {
    server_count       = 5
    location           = "nbg1"
    subnet_cidr        = "10.0.8.0/28"
    api_allowed_cidrs  = ["203.0.113.0/24", "2001:db8::/32"]
    ssh_allowed_cidrs  = ["203.0.113.7/32"]
    ssh_public_key     = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= ops"
    server_taints      = ["CriticalAddonsOnly=true:NoExecute", "tainted:PreferNoSchedule"]
    etcd_snapshot_cron = "15 3 * * *"
    timeouts           = { create = "1h30m", delete = "10m" }
    agent_pools = {
      a-b-9 = {
        server_type = "cax21", count = 0, location = "hel1",
        labels      = { "node.kubernetes.io/exclude-from-external-load-balancers" = "true", "example.com/tier" = "" }
      }
    }
  }

  assert {
    condition     = length(platform_k3s_server.joining) == 4 && platform_k3s_server.joining[3].private_ip == "10.0.8.9"
    error_message = "Boundary-valid inputs plan: five servers in a /28."
  }
}

run "name_too_long" {
  command = plan

  variables {
    name = "a23456789012345678901234567890x"
  }

  expect_failures = [var.name]
}

run "name_uppercase" {
  command = plan

  variables {
    name = "Demo"
  }

  expect_failures = [var.name]
}

run "name_underscore" {
  command = plan

  variables {
    name = "demo_cluster"
  }

  expect_failures = [var.name]
}

run "name_trailing_dash" {
  command = plan

  variables {
    name = "demo-"
  }

  expect_failures = [var.name]
}

run "k3s_version_without_suffix" {
  command = plan

  variables {
    k3s_version = "v1.31.4"
  }

  expect_failures = [var.k3s_version]
}

run "location_invalid" {
  command = plan

  variables {
    location = "Falkenstein"
  }

  expect_failures = [var.location]
}

run "location_outside_zone" {
  command = plan

  variables {
    location = "ash"
  }

  expect_failures = [var.location]
}

run "network_zone_unknown" {
  command = plan

  variables {
    network_zone = "eu-west"
  }

  expect_failures = [var.network_zone]
}

run "network_cidr_ipv6" {
  command = plan

  variables {
    network_cidr = "fd00::/8"
  }

  expect_failures = [var.network_cidr]
}

run "network_cidr_invalid" {
  command = plan

  variables {
    network_cidr = "10.0.0.0"
  }

  expect_failures = [var.network_cidr]
}

run "subnet_outside_network" {
  command = plan

  variables {
    subnet_cidr = "10.1.1.0/24"
  }

  expect_failures = [var.subnet_cidr]
}

run "subnet_larger_than_network" {
  command = plan

  variables {
    subnet_cidr = "10.0.0.0/8"
  }

  expect_failures = [var.subnet_cidr]
}

run "subnet_too_small" {
  command = plan

  variables {
    subnet_cidr = "10.0.1.0/30"
  }

  expect_failures = [var.subnet_cidr]
}

run "server_type_empty" {
  command = plan

  variables {
    server_type = ""
  }

  expect_failures = [var.server_type]
}

run "server_count_zero" {
  command = plan

  variables {
    server_count = 0
  }

  expect_failures = [var.server_count]
}

run "server_count_two" {
  command = plan

  variables {
    server_count = 2
  }

  expect_failures = [var.server_count]
}

run "server_count_four" {
  command = plan

  variables {
    server_count = 4
  }

  expect_failures = [var.server_count]
}

run "server_count_eleven" {
  command = plan

  variables {
    server_count = 11
  }

  expect_failures = [var.server_count]
}

run "server_count_fraction" {
  command = plan

  variables {
    server_count = 3.5
  }

  expect_failures = [var.server_count]
}

run "server_taint_without_effect" {
  command = plan

  variables {
    server_taints = ["CriticalAddonsOnly=true"]
  }

  expect_failures = [var.server_taints]
}

run "pool_count_negative" {
  command = plan

  variables {
    agent_pools = { general = { server_type = "cx32", count = -1 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_count_fraction" {
  command = plan

  variables {
    agent_pools = { general = { server_type = "cx32", count = 1.5 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_name_not_dns" {
  command = plan

  variables {
    agent_pools = { General_Pool = { server_type = "cx32", count = 1 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_name_too_long" {
  command = plan

  variables {
    agent_pools = { a23456789012345678901 = { server_type = "cx32", count = 1 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_named_cp" {
  command = plan

  variables {
    agent_pools = { cp = { server_type = "cx32", count = 1 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_taint_without_effect" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "cx32", count = 1, taints = ["dedicated=batch"] } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_taint_unknown_effect" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "cx32", count = 1, taints = ["dedicated=batch:Never"] } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_label_invalid_value" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "cx32", count = 1, labels = { workload = "has spaces" } } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_label_node_role" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "cx32", count = 1, labels = { "node-role.kubernetes.io/worker" = "true" } } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_server_type_empty" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "", count = 1 } }
  }

  expect_failures = [var.agent_pools]
}

run "pool_location_outside_zone" {
  command = plan

  variables {
    agent_pools = { batch = { server_type = "cx32", count = 1, location = "hil" } }
  }

  expect_failures = [var.agent_pools]
}

run "api_cidrs_empty" {
  command = plan

  variables {
    api_allowed_cidrs = []
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_invalid" {
  command = plan

  variables {
    api_allowed_cidrs = ["203.0.113.7"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_missing_prefix_length" {
  command = plan

  variables {
    api_allowed_cidrs = ["2001:db8::1"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_host_bits_set" {
  command = plan

  variables {
    api_allowed_cidrs = ["198.51.100.7/24"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_whole_ipv4_internet_without_opt_in" {
  command = plan

  variables {
    api_allowed_cidrs = ["198.51.100.7/32", "0.0.0.0/0"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_whole_ipv6_internet_without_opt_in" {
  command = plan

  variables {
    api_allowed_cidrs = ["::/0"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_split_internet_without_opt_in" {
  command = plan

  variables {
    api_allowed_cidrs = ["0.0.0.0/1", "128.0.0.0/1"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_wide_ipv6_without_opt_in" {
  command = plan

  variables {
    api_allowed_cidrs = ["2000::/3"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "api_cidrs_boundaries_plan" {
  command = plan

  variables {
    api_allowed_cidrs = ["10.0.0.0/8", "2a01::/16", "203.0.113.7/32"]
  }

  assert {
    condition     = anytrue([for r in hcloud_firewall.this.rule : r.port == "6443" && length(r.source_ips) == 3])
    error_message = "A /8 and an IPv6 /16 are accepted without allow_public_api."
  }
}

run "api_cidrs_open_with_opt_in_plans" {
  command = plan

  variables {
    api_allowed_cidrs = ["0.0.0.0/0", "::/0"]
    allow_public_api  = true
  }

  assert {
    condition     = anytrue([for r in hcloud_firewall.this.rule : r.port == "6443" && contains(r.source_ips, "0.0.0.0/0")])
    error_message = "allow_public_api accepts the whole internet."
  }
}

run "ssh_cidrs_invalid" {
  command = plan

  variables {
    ssh_allowed_cidrs = ["office"]
  }

  expect_failures = [var.ssh_allowed_cidrs]
}

run "ssh_public_key_invalid" {
  command = plan

  variables {
    ssh_public_key = "-----BEGIN OPENSSH PRIVATE KEY-----"
  }

  expect_failures = [var.ssh_public_key]
}

run "load_balancer_type_unknown" {
  command = plan

  variables {
    load_balancer = { enabled = true, type = "lb99" }
  }

  expect_failures = [var.load_balancer]
}

run "disable_unknown_component" {
  command = plan

  variables {
    disable = ["traefik", "flannel"]
  }

  expect_failures = [var.disable]
}

run "etcd_snapshot_cron_invalid" {
  command = plan

  variables {
    etcd_snapshot_cron = "hourly"
  }

  expect_failures = [var.etcd_snapshot_cron]
}

run "labels_reserved_key" {
  command = plan

  variables {
    labels = { role = "web" }
  }

  expect_failures = [var.labels]
}

run "labels_invalid_value" {
  command = plan

  variables {
    labels = { env = "not valid!" }
  }

  expect_failures = [var.labels]
}

run "timeouts_not_a_duration" {
  command = plan

  variables {
    timeouts = { create = "20 minutes" }
  }

  expect_failures = [var.timeouts]
}
