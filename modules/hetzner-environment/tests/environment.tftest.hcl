# The environment's name reaches Flux's entry point, knobs left null take
# this module's defaults (a root passes null for every input it does not set),
# and only the three environments the GitOps tree defines are accepted.

mock_provider "hcloud" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/hcloud"
}

mock_provider "platform" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/platform"
}

variables {
  environment       = "staging"
  cluster_name      = "staging"
  hcloud_token      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  api_allowed_cidrs = ["198.18.0.7/32"]
}

run "entry_point_follows_the_environment" {
  command = plan

  assert {
    condition     = output.flux_cluster_path == "flux/clusters/staging"
    error_message = "Flux syncs flux/clusters/<environment> unless flux_cluster_path says otherwise."
  }

  assert {
    condition     = module.flux.operator_version == "v0.59.0"
    error_message = "Without a local manifest the flux_operator_version release is installed."
  }
}

run "shared_topology" {
  command = plan

  variables {
    flux_cluster_path           = "flux/clusters/shared"
    flux_operator_manifest_path = "../flux-bootstrap/tests/testdata/install.yaml"
  }

  assert {
    condition     = output.flux_cluster_path == "flux/clusters/shared"
    error_message = "flux_cluster_path overrides the environment's entry point."
  }
}

run "null_knobs_take_the_defaults" {
  command = plan

  variables {
    server_count      = null
    load_balancer     = null
    agent_pools       = null
    flux_cluster_size = null
    git_url           = null
    labels            = null
  }

  assert {
    condition     = length(output.server_ipv4) == 1 && output.load_balancer_ipv4 == null
    error_message = "Null server_count and load_balancer mean one server and no load balancer."
  }

  assert {
    condition     = length(output.agent_ipv4) == 0
    error_message = "Null agent_pools means no agents."
  }
}

run "unknown_environment_refused" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}

run "unknown_flux_size_refused" {
  command = plan

  variables {
    flux_cluster_size = "huge"
  }

  expect_failures = [var.flux_cluster_size]
}
