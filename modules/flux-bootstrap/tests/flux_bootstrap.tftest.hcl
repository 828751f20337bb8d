# Plan-level tests with a mocked provider: which objects the module asks for
# under which inputs. No cluster is needed.
mock_provider "platform" {}

variables {
  cluster_name = "develop"
  kubeconfig   = <<-EOT
    apiVersion: v1
    kind: Config
    clusters:
    - name: test
      cluster:
        server: https://127.0.0.1:6443
    users:
    - name: test
      user:
        token: test
    contexts:
    - name: test
      context:
        cluster: test
        user: test
    current-context: test
  EOT
}

run "defaults" {
  command = plan

  assert {
    condition     = platform_flux_instance.this.sync.path == "flux/clusters/develop"
    error_message = "The cluster path must default to flux/clusters/<cluster_name>."
  }
  assert {
    condition     = platform_flux_instance.this.sync.kind == "GitRepository" && platform_flux_instance.this.sync.ref == "refs/heads/main"
    error_message = "The sync must be the main branch of a GitRepository."
  }
  assert {
    condition     = platform_flux_instance.this.kustomize_patches == null
    error_message = "Without a SOPS key there must be no decryption patch."
  }
  assert {
    condition     = platform_flux_instance.this.sops_age_key == null && output.sops_secret_name == null
    error_message = "Without a SOPS key there must be no sops-age Secret."
  }
  assert {
    condition     = platform_flux_instance.this.ghcr_credentials == null && output.ghcr_secret_name == null
    error_message = "GHCR credentials must not be created unless enabled."
  }
  assert {
    condition     = platform_flux_instance.this.git_credentials == null && output.git_secret_name == null
    error_message = "Without a token there must be no Git credentials."
  }
  assert {
    condition     = contains(platform_flux_instance.this.components, "image-reflector-controller") && contains(platform_flux_instance.this.components, "image-automation-controller")
    error_message = "The default components must include image automation."
  }
  assert {
    condition     = platform_flux_instance.this.wait == true && platform_flux_instance.this.operator_manifest_path == null
    error_message = "By default the module waits and downloads the operator release."
  }
  assert {
    condition     = platform_flux_instance.this.distribution.version == "2.9.x" && platform_flux_instance.this.cluster.network_policy == true
    error_message = "Default distribution 2.9.x with network policies."
  }
}

run "sops_key_adds_secret_and_patch" {
  command = plan

  variables {
    sops_age_key = "# created: 2026-01-01T00:00:00Z\nAGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"
  }

  assert {
    condition     = length(platform_flux_instance.this.kustomize_patches) == 1
    error_message = "A SOPS key must add exactly one patch."
  }
  assert {
    condition     = platform_flux_instance.this.kustomize_patches[0].target.kind == "Kustomization" && platform_flux_instance.this.kustomize_patches[0].target.name == "flux-system"
    error_message = "The patch must target the flux-system Kustomization."
  }
  assert {
    condition     = strcontains(platform_flux_instance.this.kustomize_patches[0].patch, "provider: sops") && strcontains(platform_flux_instance.this.kustomize_patches[0].patch, "name: sops-age")
    error_message = "The patch must enable SOPS decryption with the sops-age Secret."
  }
  assert {
    condition     = output.sops_secret_name == "sops-age"
    error_message = "The sops-age Secret name must be an output."
  }
}

run "extra_patches_follow_the_sops_patch" {
  command = plan

  variables {
    sops_age_key      = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
    kustomize_patches = [{ target = { kind = "Deployment" }, patch = "- op: add\n  path: /metadata/labels/x\n  value: y\n" }]
  }

  assert {
    condition     = length(platform_flux_instance.this.kustomize_patches) == 2 && platform_flux_instance.this.kustomize_patches[1].target.kind == "Deployment"
    error_message = "Extra patches must come after the SOPS patch."
  }
}

run "ghcr_only_when_enabled" {
  command = plan

  variables {
    ghcr = { enabled = true, username = "bot", token = "ghp_example" }
  }

  assert {
    condition     = nonsensitive(platform_flux_instance.this.ghcr_credentials.username) == "bot"
    error_message = "Enabled GHCR credentials must be passed on."
  }
  assert {
    condition     = output.ghcr_secret_name == "ghcr-auth"
    error_message = "The GHCR Secret name must be an output."
  }
}

run "ghcr_disabled_ignores_credentials" {
  command = plan

  variables {
    ghcr = { enabled = false, username = "bot", token = "ghp_example" }
  }

  assert {
    condition     = platform_flux_instance.this.ghcr_credentials == null
    error_message = "Disabled GHCR must not create credentials even when given."
  }
}

run "git_token_and_shared_path" {
  command = plan

  variables {
    git_token    = "example-token"
    cluster_path = "flux/clusters/shared"
    git_ref      = "refs/tags/v1.2.3"
  }

  assert {
    condition     = platform_flux_instance.this.sync.path == "flux/clusters/shared" && output.cluster_path == "flux/clusters/shared"
    error_message = "An explicit cluster_path must win over the derived one."
  }
  assert {
    condition     = platform_flux_instance.this.git_credentials != null && output.git_secret_name == "flux-system"
    error_message = "A token must create Git credentials."
  }
  assert {
    condition     = platform_flux_instance.this.sync.ref == "refs/tags/v1.2.3"
    error_message = "The ref must be passed on."
  }
}

run "sandbox_style" {
  command = plan

  variables {
    operator_manifest_path = "tests/testdata/install.yaml"
    wait                   = false
    components             = ["source-controller", "kustomize-controller"]
    cluster_size           = "small"
    timeouts               = { create = "3m" }
  }

  assert {
    condition     = platform_flux_instance.this.operator_manifest_path == "tests/testdata/install.yaml"
    error_message = "A local manifest must replace the release download."
  }
  assert {
    condition     = platform_flux_instance.this.wait == false && platform_flux_instance.this.cluster.size == "small"
    error_message = "wait and size must be passed on."
  }
  assert {
    condition     = platform_flux_instance.this.timeouts.create == "3m" && platform_flux_instance.this.timeouts.delete == "5m"
    error_message = "Timeouts must merge with the defaults."
  }
}

run "pinned_operator_release" {
  command = plan

  variables {
    operator_version = "v0.58.1"
  }

  assert {
    condition     = platform_flux_instance.this.operator_version == "v0.58.1"
    error_message = "The operator release must be passed on."
  }
}

run "apply_with_mocks" {
  assert {
    condition     = output.id != null && output.namespace == "flux-system"
    error_message = "Outputs must be known after apply."
  }
}

# ---------------------------------------------------------------- validation

run "rejects_bad_cluster_name" {
  command = plan
  variables {
    cluster_name = "Develop_1"
  }
  expect_failures = [var.cluster_name]
}

run "rejects_absolute_cluster_path" {
  command = plan
  variables {
    cluster_path = "/flux/clusters/develop"
  }
  expect_failures = [var.cluster_path]
}

run "rejects_parent_cluster_path" {
  command = plan
  variables {
    cluster_path = "flux/../secrets"
  }
  expect_failures = [var.cluster_path]
}

run "rejects_short_ref" {
  command = plan
  variables {
    git_ref = "main"
  }
  expect_failures = [var.git_ref]
}

run "rejects_git_url_scheme" {
  command = plan
  variables {
    git_url = "git@github.com:sre-platform/platform.git"
  }
  expect_failures = [var.git_url]
}

run "rejects_sync_without_kustomize_controller" {
  command = plan
  variables {
    components = ["source-controller", "helm-controller"]
  }
  expect_failures = [var.components]
}

run "rejects_unknown_component" {
  command = plan
  variables {
    components = ["source-controller", "kustomize-controller", "flagger"]
  }
  expect_failures = [var.components]
}

run "rejects_automation_without_reflector" {
  command = plan
  variables {
    components = ["source-controller", "kustomize-controller", "image-automation-controller"]
  }
  expect_failures = [var.components]
}

run "rejects_ghcr_without_token" {
  command = plan
  variables {
    ghcr = { enabled = true, username = "bot" }
  }
  expect_failures = [var.ghcr]
}

run "rejects_bad_sops_key" {
  command = plan
  variables {
    sops_age_key = "not-a-key"
  }
  expect_failures = [var.sops_age_key]
}

run "rejects_empty_git_token" {
  command = plan
  variables {
    git_token = " "
  }
  expect_failures = [var.git_token]
}

run "rejects_bad_operator_version" {
  command = plan
  variables {
    operator_version = "0.59"
  }
  expect_failures = [var.operator_version]
}

run "rejects_bad_size" {
  command = plan
  variables {
    cluster_size = "huge"
  }
  expect_failures = [var.cluster_size]
}

run "rejects_bad_timeout" {
  command = plan
  variables {
    timeouts = { delete = "5 minutes" }
  }
  expect_failures = [var.timeouts]
}

run "no_cluster_variables_by_default" {
  command = plan

  assert {
    condition     = length(platform_cluster_secret.variables) == 0 && output.cluster_variables_secret == null
    error_message = "Without cluster_variables there is no variables Secret."
  }
}

run "cluster_variables_secret" {
  command = plan

  variables {
    cluster_variables = { K3S_VERSION = "v1.34.4+k3s1" }
  }

  assert {
    condition = (
      platform_cluster_secret.variables[0].namespace == "flux-system" &&
      platform_cluster_secret.variables[0].name == "cluster-variables" &&
      nonsensitive(platform_cluster_secret.variables[0].data["K3S_VERSION"]) == "v1.34.4+k3s1"
    )
    error_message = "cluster_variables must become the Secret flux-system/cluster-variables."
  }
  assert {
    condition     = platform_cluster_secret.variables[0].labels["reconcile.fluxcd.io/watch"] == "Enabled"
    error_message = "The variables Secret must carry Flux's watch label, so a changed value reconciles at once."
  }
  assert {
    condition     = output.cluster_variables_secret == "flux-system/cluster-variables"
    error_message = "The output must name the Secret."
  }
}

run "cluster_variables_names" {
  command = plan

  variables {
    cluster_variables = { "k3s-version" = "v1.34.4+k3s1" }
  }

  expect_failures = [var.cluster_variables]
}
