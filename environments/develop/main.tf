# The develop environment on Hetzner Cloud: its sizes are in develop.tfvars, its
# state in the S3 backend (versions.tf, backend.hcl), everything it builds in
# modules/hetzner-environment.
module "environment" {
  source = "../../modules/hetzner-environment"

  environment     = "develop"
  hcloud_token    = var.hcloud_token
  hcloud_endpoint = var.hcloud_endpoint

  cluster_name       = var.cluster_name
  k3s_version        = var.k3s_version
  location           = var.location
  network_zone       = var.network_zone
  network_cidr       = var.network_cidr
  subnet_cidr        = var.subnet_cidr
  image              = var.image
  server_type        = var.server_type
  server_count       = var.server_count
  agent_pools        = var.agent_pools
  load_balancer      = var.load_balancer
  api_allowed_cidrs  = var.api_allowed_cidrs
  allow_public_api   = var.allow_public_api
  ssh_allowed_cidrs  = var.ssh_allowed_cidrs
  ssh_public_key     = var.ssh_public_key
  etcd_snapshot_cron = var.etcd_snapshot_cron
  labels             = var.labels

  upgrade_strategy        = var.upgrade_strategy
  etcd_snapshot_retention = var.etcd_snapshot_retention
  etcd_s3                 = var.etcd_s3
  etcd_s3_credentials     = var.etcd_s3_credentials
  hcloud_cloud_controller = var.hcloud_cloud_controller

  flux_cluster_path           = var.flux_cluster_path
  git_url                     = var.git_url
  git_ref                     = var.git_ref
  git_token                   = var.git_token
  sops_age_key                = var.sops_age_key
  ghcr_username               = var.ghcr_username
  ghcr_token                  = var.ghcr_token
  flux_operator_version       = var.flux_operator_version
  flux_operator_manifest_path = var.flux_operator_manifest_path
  flux_cluster_size           = var.flux_cluster_size
  flux_wait                   = var.flux_wait
}

# State written before modules/hetzner-environment existed (the root called
# the cluster and Flux modules itself) maps to the new addresses, so the first
# plan after the move shows no change.
moved {
  from = module.cluster
  to   = module.environment.module.cluster
}

moved {
  from = module.flux
  to   = module.environment.module.flux
}
