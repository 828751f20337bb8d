# The API's CIDRs are required, and a documentation placeholder left in an
# environment's tfvars fails the plan against Hetzner's API, while the
# sandbox's emulator (where the e2e suite applies the staging and production
# roots with their tfvars) accepts it.

mock_provider "hcloud" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/hcloud"
}

mock_provider "platform" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/platform"
}

variables {
  environment  = "develop"
  cluster_name = "develop"
  hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "ipv4_placeholder_refused_against_hetzner" {
  command = plan

  variables {
    api_allowed_cidrs = ["203.0.113.0/24"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "ipv4_placeholder_host_refused_against_hetzner" {
  command = plan

  variables {
    api_allowed_cidrs = ["198.18.0.7/32", "192.0.2.10/32"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "ipv6_placeholder_refused_against_hetzner" {
  command = plan

  variables {
    api_allowed_cidrs = ["2001:db8:1::/48"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "placeholder_accepted_by_the_emulator" {
  command = plan

  variables {
    hcloud_endpoint   = "http://127.0.0.1:8480/v1"
    api_allowed_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = output.api_endpoint == "https://198.51.100.2:6443"
    error_message = "Against the emulator the placeholder plans (nothing filters traffic there)."
  }
}

run "real_cidrs_plan_against_hetzner" {
  command = plan

  variables {
    api_allowed_cidrs = ["198.18.0.7/32", "2a01:4f8:c0c::/48"]
  }

  assert {
    condition     = output.api_endpoint == "https://198.51.100.2:6443"
    error_message = "CIDRs outside the documentation ranges plan against Hetzner."
  }
}

run "open_api_with_opt_in_plans_against_hetzner" {
  command = plan

  variables {
    api_allowed_cidrs = ["0.0.0.0/0", "::/0"]
    allow_public_api  = true
  }

  assert {
    condition     = output.api_endpoint == "https://198.51.100.2:6443"
    error_message = "allow_public_api passes through to the module."
  }
}
