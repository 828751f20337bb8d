# etcd snapshots: schedule, retention and the S3 upload reach every server
# (never the agents), with the credentials; every input is checked at plan.

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

run "no_upload_by_default" {
  command = plan

  assert {
    condition     = platform_k3s_server.first.etcd_s3 == null && platform_k3s_server.first.etcd_snapshot_retention == null
    error_message = "Without etcd_s3 the servers upload nothing and keep k3s' retention."
  }
}

run "upload_on_every_server" {
  command = plan

  variables {
    server_count            = 3
    etcd_snapshot_cron      = "0 */6 * * *"
    etcd_snapshot_retention = 28
    etcd_s3 = {
      endpoint = "fsn1.your-objectstorage.com"
      bucket   = "demo-etcd"
      folder   = "etcd/demo"
      region   = "fsn1"
    }
    etcd_s3_credentials = { access_key = "AKIAEXAMPLE", secret_key = "s3cr3t" }
    agent_pools         = { workers = { server_type = "cx22", count = 1 } }
  }

  assert {
    condition = alltrue([for s in concat([platform_k3s_server.first], platform_k3s_server.joining) :
      s.etcd_snapshot_cron == "0 */6 * * *" && s.etcd_snapshot_retention == 28 &&
      s.etcd_s3.endpoint == "fsn1.your-objectstorage.com" && s.etcd_s3.bucket == "demo-etcd" &&
      s.etcd_s3.folder == "etcd/demo" && s.etcd_s3.region == "fsn1" &&
    nonsensitive(s.etcd_s3.access_key) == "AKIAEXAMPLE" && nonsensitive(s.etcd_s3.secret_key) == "s3cr3t"])
    error_message = "Every server gets the schedule, the retention and the bucket with its credentials."
  }
  assert {
    condition     = length(platform_k3s_server.joining) == 2
    error_message = "Three servers."
  }
}

run "optional_folder_and_region" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "s3.example.com:9000", bucket = "etcd.backups" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  assert {
    condition     = platform_k3s_server.first.etcd_s3.folder == null && platform_k3s_server.first.etcd_s3.region == null
    error_message = "Folder and region stay unset (k3s' defaults) when not given."
  }
}

run "endpoint_with_scheme" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "https://fsn1.your-objectstorage.com", bucket = "demo-etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "endpoint_with_path" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com/demo-etcd", bucket = "demo-etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "bucket_uppercase" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com", bucket = "Demo_Etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "bucket_double_dot" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com", bucket = "demo..etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "folder_leading_slash" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com", bucket = "demo-etcd", folder = "/etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "region_invalid" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com", bucket = "demo-etcd", region = "EU Central" }
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3]
}

run "bucket_without_credentials" {
  command = plan

  variables {
    etcd_s3 = { endpoint = "fsn1.your-objectstorage.com", bucket = "demo-etcd" }
  }

  expect_failures = [var.etcd_s3_credentials]
}

run "credentials_without_bucket" {
  command = plan

  variables {
    etcd_s3_credentials = { access_key = "a", secret_key = "b" }
  }

  expect_failures = [var.etcd_s3_credentials]
}

run "empty_secret_key" {
  command = plan

  variables {
    etcd_s3             = { endpoint = "fsn1.your-objectstorage.com", bucket = "demo-etcd" }
    etcd_s3_credentials = { access_key = "a", secret_key = " " }
  }

  expect_failures = [var.etcd_s3_credentials]
}

run "retention_zero" {
  command = plan

  variables {
    etcd_snapshot_retention = 0
  }

  expect_failures = [var.etcd_snapshot_retention]
}

run "retention_fraction" {
  command = plan

  variables {
    etcd_snapshot_retention = 2.5
  }

  expect_failures = [var.etcd_snapshot_retention]
}
