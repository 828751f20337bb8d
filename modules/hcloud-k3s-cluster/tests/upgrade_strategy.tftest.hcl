# upgrade_strategy reaches every server and agent (replace by default), and
# only its two values pass.

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
  k3s_version       = "v1.34.4+k3s1"
  api_allowed_cidrs = ["198.51.100.7/32"]
  server_count      = 3
  agent_pools       = { workers = { server_type = "cx22", count = 2 } }
}

run "replace_by_default" {
  command = plan

  assert {
    condition = alltrue([for n in concat([platform_k3s_server.first], platform_k3s_server.joining, values(platform_k3s_agent.this)) :
    n.upgrade_strategy == "replace" && n.k3s_version == "v1.34.4+k3s1"])
    error_message = "Without upgrade_strategy every node is replaced on a k3s_version change."
  }
}

run "in_place_on_every_node" {
  command = plan

  variables {
    upgrade_strategy = "in-place"
  }

  assert {
    condition = alltrue([for n in concat([platform_k3s_server.first], platform_k3s_server.joining, values(platform_k3s_agent.this)) :
    n.upgrade_strategy == "in-place"])
    error_message = "Every server and agent gets the in-place strategy."
  }
  assert {
    condition     = length(platform_k3s_server.joining) == 2 && length(platform_k3s_agent.this) == 2
    error_message = "Three servers and two agents."
  }
}

run "unknown_strategy" {
  command = plan

  variables {
    upgrade_strategy = "rolling"
  }

  expect_failures = [var.upgrade_strategy]
}
