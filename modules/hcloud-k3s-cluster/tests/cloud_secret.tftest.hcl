# The cloud Secret (kube-system/hcloud: token + network ID) that the Hetzner
# cloud-controller-manager and CSI driver read: created when hcloud_token is
# set (or cloud_secret.enabled says so), through the kubeconfig the module
# outputs.

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
}

run "no_token_no_secret" {
  command = plan

  assert {
    condition     = length(platform_cluster_secret.cloud) == 0 && output.cloud_secret == null
    error_message = "Without hcloud_token (and cloud_secret.enabled unset) there is no cloud Secret."
  }
}

run "token_creates_secret" {
  command = plan

  variables {
    hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = length(platform_cluster_secret.cloud) == 1 && output.cloud_secret == "kube-system/hcloud"
    error_message = "With hcloud_token the Secret kube-system/hcloud is created."
  }
  assert {
    condition     = platform_cluster_secret.cloud[0].namespace == "kube-system" && platform_cluster_secret.cloud[0].name == "hcloud" && platform_cluster_secret.cloud[0].type == "Opaque"
    error_message = "The Secret is the Opaque kube-system/hcloud that flux/infrastructure/controllers/hcloud reads."
  }
  assert {
    condition     = nonsensitive(platform_cluster_secret.cloud[0].data.token == var.hcloud_token)
    error_message = "The Secret's token is hcloud_token."
  }
  assert {
    condition     = nonsensitive(platform_cluster_secret.cloud[0].data.network == hcloud_network.this.id) && hcloud_network.this.id == "1001"
    error_message = "The Secret's network is the private network's ID (HCLOUD_NETWORK takes an ID or a name)."
  }
  assert {
    condition     = nonsensitive(length(platform_cluster_secret.cloud[0].data)) == 2
    error_message = "The Secret holds exactly token and network."
  }
  assert {
    condition     = platform_cluster_secret.cloud[0].kubeconfig == platform_k3s_server.first.kubeconfig
    error_message = "Without a load balancer the Secret is applied through the first server's kubeconfig (the module's output)."
  }
}

run "load_balancer_kubeconfig" {
  command = plan

  variables {
    hcloud_token  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    server_count  = 3
    load_balancer = { enabled = true }
  }

  assert {
    condition     = platform_cluster_secret.cloud[0].kubeconfig == platform_k3s_cluster.this.kubeconfig && output.kubeconfig == platform_k3s_cluster.this.kubeconfig
    error_message = "With a load balancer the Secret is applied through the cluster's kubeconfig, like the output."
  }
}

run "custom_namespace_and_name" {
  command = plan

  variables {
    hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    cloud_secret = { namespace = "cloud-system", name = "hcloud.credentials" }
  }

  assert {
    condition     = platform_cluster_secret.cloud[0].namespace == "cloud-system" && platform_cluster_secret.cloud[0].name == "hcloud.credentials"
    error_message = "cloud_secret.namespace and .name place the Secret."
  }
  assert {
    condition     = output.cloud_secret == "cloud-system/hcloud.credentials"
    error_message = "The cloud_secret output names the Secret."
  }
}

run "disabled_with_token" {
  command = plan

  variables {
    hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    cloud_secret = { enabled = false }
  }

  assert {
    condition     = length(platform_cluster_secret.cloud) == 0 && output.cloud_secret == null
    error_message = "cloud_secret.enabled = false creates no Secret even with a token."
  }
}

run "enabled_without_token" {
  command = plan

  variables {
    cloud_secret = { enabled = true }
  }

  expect_failures = [var.cloud_secret]
}

run "token_malformed" {
  command = plan

  variables {
    hcloud_token = "not-a-token"
  }

  expect_failures = [var.hcloud_token]
}

run "namespace_invalid" {
  command = plan

  variables {
    hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    cloud_secret = { namespace = "Kube_System" }
  }

  expect_failures = [var.cloud_secret]
}

run "name_invalid" {
  command = plan

  variables {
    hcloud_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    cloud_secret = { name = "hcloud_token" }
  }

  expect_failures = [var.cloud_secret]
}
