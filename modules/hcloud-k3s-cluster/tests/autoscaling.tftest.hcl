# Autoscaled agent pools: Terraform creates none of their agents; each becomes
# a cluster-autoscaler node group whose cloud-init comes from
# platform_k3s_agent_cloudinit, delivered in the Secret
# <cloud_secret.namespace>/cluster-autoscaler with HCLOUD_CLUSTER_CONFIG.

# Mock values are produced at apply: the data source is read once the
# cluster (its agent token) exists, so the runs that look at what it
# rendered apply.
mock_provider "hcloud" {
  source = "./tests/mocks/hcloud"
}

mock_provider "platform" {
  source = "./tests/mocks/platform"
}

variables {
  name                    = "demo"
  k3s_version             = "v1.31.4+k3s1"
  api_allowed_cidrs       = ["198.51.100.7/32"]
  hcloud_token            = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  hcloud_cloud_controller = true
  agent_pools = {
    general = { server_type = "cx32", count = 2 }
    burst = {
      server_type = "cx42"
      labels      = { workload = "burst" }
      taints      = ["dedicated=burst:NoSchedule", "spot:PreferNoSchedule"]
      location    = "nbg1"
      autoscaling = { min = 0, max = 5 }
    }
    arm = { server_type = "cax21", autoscaling = { min = 1, max = 3 } }
  }
}

run "autoscaled_pools_have_no_terraform_agents" {
  command = apply

  assert {
    condition     = keys(platform_k3s_agent.this) == ["general-1", "general-2"]
    error_message = "Only fixed pools get platform_k3s_agent; autoscaled pools get none."
  }
  assert {
    condition     = output.node_names == ["demo-cp-1", "demo-general-1", "demo-general-2"]
    error_message = "node_names lists Terraform's nodes only."
  }
  assert {
    condition     = output.autoscaler_node_groups == ["1:3:cax21:fsn1:demo-arm", "0:5:cx42:nbg1:demo-burst"]
    error_message = "One --nodes value per autoscaled pool, <min>:<max>:<type>:<location>:<name>-<pool>, sorted by pool; location defaults to the cluster's."
  }
  assert {
    condition     = output.autoscaler_secret == "kube-system/cluster-autoscaler"
    error_message = "The autoscaler Secret lives beside the cloud Secret."
  }
}

run "cloudinit_is_the_agents" {
  command = apply

  assert {
    condition     = keys(data.platform_k3s_agent_cloudinit.autoscaled) == ["arm", "burst"]
    error_message = "One rendered cloud-init per autoscaled pool."
  }
  assert {
    condition = alltrue([for k, d in data.platform_k3s_agent_cloudinit.autoscaled :
      nonsensitive(d.token == platform_k3s_cluster.this.agent_token) && d.k3s_version == "v1.31.4+k3s1" &&
    d.server_url == "https://10.0.1.253:6443" && d.external_cloud_provider == true && d.node_name == null])
    error_message = "Autoscaled agents join with the agent token, the cluster's k3s version, the join URL and the cloud controller switch, naming no node."
  }
  assert {
    condition = (data.platform_k3s_agent_cloudinit.autoscaled["burst"].node_labels == tomap({ workload = "burst", "platform.sre/pool" = "burst" }) &&
    data.platform_k3s_agent_cloudinit.autoscaled["burst"].node_taints == tolist(["dedicated=burst:NoSchedule", "spot:PreferNoSchedule"]))
    error_message = "A pool's labels (plus platform.sre/pool) and taints reach its cloud-init as they reach Terraform's agents."
  }
}

run "cluster_config_secret" {
  command = apply

  assert {
    condition     = length(platform_cluster_secret.autoscaler) == 1 && platform_cluster_secret.autoscaler[0].namespace == "kube-system" && platform_cluster_secret.autoscaler[0].name == "cluster-autoscaler"
    error_message = "The Secret kube-system/cluster-autoscaler is created with autoscaled pools."
  }
  assert {
    condition     = platform_cluster_secret.autoscaler[0].kubeconfig == platform_k3s_server.first.kubeconfig
    error_message = "The Secret is applied through the module's kubeconfig."
  }
  assert {
    condition     = join(",", nonsensitive(keys(platform_cluster_secret.autoscaler[0].data))) == "HCLOUD_CLUSTER_CONFIG,HCLOUD_FIREWALL,HCLOUD_NETWORK,HCLOUD_PUBLIC_IPV4,HCLOUD_PUBLIC_IPV6"
    error_message = "Without ssh_public_key the Secret holds the cluster config, the network and firewall IDs and the public IP switches."
  }
  assert {
    condition     = nonsensitive(platform_cluster_secret.autoscaler[0].data.HCLOUD_NETWORK) == hcloud_network.this.id && nonsensitive(platform_cluster_secret.autoscaler[0].data.HCLOUD_FIREWALL) == hcloud_firewall.this.id
    error_message = "HCLOUD_NETWORK and HCLOUD_FIREWALL are the cluster's network and firewall by ID."
  }
  assert {
    condition     = nonsensitive(platform_cluster_secret.autoscaler[0].data.HCLOUD_PUBLIC_IPV4) == "true" && nonsensitive(platform_cluster_secret.autoscaler[0].data.HCLOUD_PUBLIC_IPV6) == "true"
    error_message = "Autoscaled servers get public IPv4 and IPv6 like Terraform's agents."
  }
  assert {
    condition     = nonsensitive(jsondecode(base64decode(platform_cluster_secret.autoscaler[0].data.HCLOUD_CLUSTER_CONFIG)).imagesForArch) == { amd64 = "ubuntu-24.04", arm64 = "ubuntu-24.04" }
    error_message = "HCLOUD_CLUSTER_CONFIG is base64 JSON naming the nodes' image for both architectures."
  }
  assert {
    condition     = join(",", nonsensitive(keys(jsondecode(base64decode(platform_cluster_secret.autoscaler[0].data.HCLOUD_CLUSTER_CONFIG)).nodeConfigs))) == "demo-arm,demo-burst"
    error_message = "nodeConfigs has one entry per node group, named as in --nodes."
  }
  assert {
    condition = nonsensitive(jsondecode(base64decode(platform_cluster_secret.autoscaler[0].data.HCLOUD_CLUSTER_CONFIG)).nodeConfigs["demo-burst"]) == {
      cloudInit = data.platform_k3s_agent_cloudinit.autoscaled["burst"].user_data
      labels    = { workload = "burst", "platform.sre/pool" = "burst" }
      taints = [
        { key = "dedicated", value = "burst", effect = "NoSchedule" },
        { key = "spot", value = "", effect = "PreferNoSchedule" },
      ]
    }
    error_message = "A node group carries the rendered cloud-init (plain, not base64 again) and the pool's labels and taints as objects."
  }
  assert {
    condition     = nonsensitive(jsondecode(base64decode(platform_cluster_secret.autoscaler[0].data.HCLOUD_CLUSTER_CONFIG)).nodeConfigs["demo-arm"].taints) == []
    error_message = "A pool without taints has an empty taint list."
  }
}

run "ssh_key_and_image" {
  command = apply

  variables {
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8x operator@example"
    image          = "debian-12"
  }

  assert {
    condition     = nonsensitive(platform_cluster_secret.autoscaler[0].data.HCLOUD_SSH_KEY) == "4004"
    error_message = "With ssh_public_key autoscaled servers get the cluster's SSH key by ID."
  }
  assert {
    condition     = nonsensitive(jsondecode(base64decode(platform_cluster_secret.autoscaler[0].data.HCLOUD_CLUSTER_CONFIG)).imagesForArch.amd64) == "debian-12"
    error_message = "Autoscaled servers boot the module's image."
  }
}

run "load_balancer_join_url" {
  command = apply

  variables {
    server_count  = 3
    load_balancer = { enabled = true }
  }

  assert {
    condition     = data.platform_k3s_agent_cloudinit.autoscaled["burst"].server_url == "https://10.0.1.254:6443"
    error_message = "With a load balancer autoscaled agents join through it, like Terraform's."
  }
}

run "no_autoscaled_pools_no_secret" {
  command = apply

  variables {
    agent_pools = { general = { server_type = "cx32", count = 1 } }
  }

  assert {
    condition     = length(platform_cluster_secret.autoscaler) == 0 && output.autoscaler_secret == null && output.autoscaler_node_groups == [] && length(data.platform_k3s_agent_cloudinit.autoscaled) == 0
    error_message = "Without autoscaled pools there is no autoscaler Secret and no node group."
  }
}

run "autoscaling_bounds" {
  command = plan

  variables {
    agent_pools = {
      a = { server_type = "cx32", autoscaling = { min = 3, max = 2 } }
    }
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_max_at_least_one" {
  command = plan

  variables {
    agent_pools = {
      a = { server_type = "cx32", autoscaling = { min = 0, max = 0 } }
    }
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_whole_non_negative" {
  command = plan

  variables {
    agent_pools = {
      a = { server_type = "cx32", autoscaling = { min = -1, max = 2.5 } }
    }
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_excludes_count" {
  command = plan

  variables {
    agent_pools = {
      a = { server_type = "cx32", count = 2, autoscaling = { min = 0, max = 2 } }
    }
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_needs_cloud_controller" {
  command = plan

  variables {
    hcloud_cloud_controller = false
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_needs_token" {
  command = plan

  variables {
    hcloud_token = null
  }

  expect_failures = [var.agent_pools]
}

run "autoscaling_group_name_fits_server_names" {
  command = plan

  variables {
    name = "a-cluster-name-of-thirty-chars"
    agent_pools = {
      a-pool-of-twenty-chr = { server_type = "cx32", autoscaling = { min = 0, max = 2 } }
    }
  }

  expect_failures = [var.agent_pools]
}
