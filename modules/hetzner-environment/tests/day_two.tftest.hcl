# Day-two inputs reach the cluster and Flux: in-place upgrades by default with
# the release in the Flux variables Secret, etcd snapshot retention and upload
# with their credentials, autoscaled pools with the Hetzner cloud controller.

mock_provider "hcloud" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/hcloud"
}

mock_provider "platform" {
  override_during = plan
  source          = "../hcloud-k3s-cluster/tests/mocks/platform"
}

variables {
  environment       = "production"
  cluster_name      = "production"
  hcloud_token      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  api_allowed_cidrs = ["198.18.0.7/32"]
  k3s_version       = "v1.34.4+k3s1"
}

run "in_place_upgrades_by_default" {
  command = plan

  assert {
    condition     = output.upgrade_strategy == "in-place"
    error_message = "Hetzner environments upgrade k3s in place unless told otherwise."
  }
  assert {
    condition     = output.cluster_variables == "flux-system/cluster-variables"
    error_message = "The release the upgrade Plans read is written into flux-system/cluster-variables."
  }
  assert {
    condition     = output.etcd_snapshots.s3 == null && output.etcd_snapshots.cron == "0 */6 * * *" && output.etcd_snapshots.retention == null
    error_message = "Without etcd_s3 nothing is uploaded; snapshots every six hours, k3s' retention."
  }
}

run "null_strategy_takes_the_default" {
  command = plan

  variables {
    upgrade_strategy        = null
    hcloud_cloud_controller = null
  }

  assert {
    condition     = output.upgrade_strategy == "in-place" && module.cluster.external_cloud_provider == false
    error_message = "A root's null takes the module defaults (in-place, k3s' own cloud controller)."
  }
}

run "replace_strategy" {
  command = plan

  variables {
    upgrade_strategy = "replace"
  }

  assert {
    condition     = output.upgrade_strategy == "replace"
    error_message = "upgrade_strategy reaches the nodes."
  }
}

run "snapshots_to_object_storage" {
  command = plan

  variables {
    etcd_snapshot_retention = 28
    etcd_s3 = {
      endpoint = "fsn1.your-objectstorage.com"
      bucket   = "platform-etcd"
      folder   = "production"
      region   = "fsn1"
    }
    etcd_s3_credentials = { access_key = "AKIAEXAMPLE", secret_key = "s3cr3t" }
  }

  assert {
    condition = output.etcd_snapshots.retention == 28 && output.etcd_snapshots.s3 == {
      endpoint = "fsn1.your-objectstorage.com", bucket = "platform-etcd", folder = "production", region = "fsn1"
    }
    error_message = "Retention and the bucket reach the servers."
  }
}

run "autoscaled_pool" {
  command = plan

  variables {
    hcloud_cloud_controller = true
    agent_pools = {
      general = { server_type = "cx32", count = 2 }
      burst   = { server_type = "cx42", autoscaling = { min = 0, max = 5 } }
    }
  }

  assert {
    condition     = output.autoscaler_node_groups == ["0:5:cx42:fsn1:production-burst"]
    error_message = "An autoscaled pool becomes a node group of the cluster autoscaler."
  }
  assert {
    condition     = length(output.node_names) == 3 && module.cluster.external_cloud_provider
    error_message = "Terraform creates the fixed pool's agents only, and the nodes leave initialisation to the Hetzner cloud controller."
  }
}
