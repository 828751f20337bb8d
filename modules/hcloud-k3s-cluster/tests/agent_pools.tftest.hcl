# Agent pools expand to one platform_k3s_agent per node, keyed "<pool>-<n>".

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
  labels            = { env = "develop" }
  agent_pools = {
    general = { server_type = "cx32", count = 2 }
    batch = {
      server_type = "cx42"
      count       = 1
      labels      = { workload = "batch", "platform.sre/pool" = "ignored" }
      taints      = ["dedicated=batch:NoSchedule"]
      location    = "nbg1"
    }
    empty = { server_type = "cx22", count = 0 }
  }
}

run "pools_expand" {
  command = plan

  assert {
    condition     = keys(platform_k3s_agent.this) == ["batch-1", "general-1", "general-2"]
    error_message = "One agent per pool member, keyed <pool>-<n>; an empty pool adds none."
  }
  assert {
    condition     = [for k, a in platform_k3s_agent.this : a.name] == ["demo-batch-1", "demo-general-1", "demo-general-2"]
    error_message = "Agents are named <name>-<pool>-<n>."
  }
  assert {
    condition     = output.node_names == ["demo-cp-1", "demo-batch-1", "demo-general-1", "demo-general-2"]
    error_message = "node_names lists the servers, then the agents by pool."
  }
  assert {
    condition     = keys(output.agent_ipv4) == ["demo-batch-1", "demo-general-1", "demo-general-2"]
    error_message = "agent_ipv4 is keyed by agent name."
  }
  assert {
    condition = (platform_k3s_agent.this["general-1"].server_type == "cx32" && platform_k3s_agent.this["batch-1"].server_type == "cx42" &&
    platform_k3s_agent.this["general-1"].location == "fsn1" && platform_k3s_agent.this["batch-1"].location == "nbg1")
    error_message = "Each pool has its server type; location defaults to the cluster's."
  }
  assert {
    condition     = platform_k3s_agent.this["general-2"].labels == tomap({ cluster = "demo", "managed-by" = "terraform", role = "agent", pool = "general", env = "develop" })
    error_message = "Agents carry the agent role and pool labels beside the cluster's and var.labels."
  }
  assert {
    condition     = platform_k3s_agent.this["general-1"].node_labels == tomap({ "platform.sre/pool" = "general" })
    error_message = "Kubernetes node labels name the pool."
  }
  assert {
    condition     = platform_k3s_agent.this["batch-1"].node_labels == tomap({ workload = "batch", "platform.sre/pool" = "batch" })
    error_message = "Pool labels are added, and platform.sre/pool always names the real pool."
  }
  assert {
    condition     = platform_k3s_agent.this["batch-1"].node_taints == tolist(["dedicated=batch:NoSchedule"]) && length(platform_k3s_agent.this["general-1"].node_taints) == 0
    error_message = "Pool taints are passed through."
  }
  assert {
    condition = alltrue([for a in platform_k3s_agent.this : (
      a.network_id == 1001 && a.firewall_ids == toset([2002]) && a.placement_group_id == null &&
      a.k3s_version == "v1.31.4+k3s1" && a.image == "ubuntu-24.04" &&
      a.token == platform_k3s_cluster.this.agent_token && a.token != platform_k3s_cluster.this.token && a.server_url == "https://10.0.1.253:6443" &&
      a.kubeconfig == platform_k3s_server.first.kubeconfig
    )])
    error_message = "Agents share network, firewall, version and image, join through the first server, and hold the agent token, never the server token."
  }
}

run "scale_one_pool" {
  command = plan

  variables {
    agent_pools = {
      general = { server_type = "cx32", count = 1 }
      batch   = { server_type = "cx42", count = 3 }
    }
  }

  assert {
    condition     = keys(platform_k3s_agent.this) == ["batch-1", "batch-2", "batch-3", "general-1"]
    error_message = "Changing a count only adds or removes the highest-numbered agents of that pool."
  }
}

run "no_pools" {
  command = plan

  variables {
    agent_pools = {}
  }

  assert {
    condition     = length(platform_k3s_agent.this) == 0 && output.agent_ipv4 == {} && output.node_names == ["demo-cp-1"]
    error_message = "No pools, no agents."
  }
}
