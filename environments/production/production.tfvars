# production: three servers (etcd quorum) behind an API load balancer in fsn1,
# three agents spread over two locations of the eu-central zone (fsn1, nbg1).
# Secrets come from TF_VAR_* (see ../README.md).
cluster_name = "production"
location     = "fsn1"
network_zone = "eu-central"
server_type  = "cx32"
server_count = 3

agent_pools = {
  fsn1 = {
    server_type = "cx42"
    count       = 2
    labels      = { "platform.sre/location" = "fsn1" }
  }
  nbg1 = {
    server_type = "cx42"
    count       = 1
    location    = "nbg1"
    labels      = { "platform.sre/location" = "nbg1" }
  }
}

load_balancer = {
  enabled = true
  type    = "lb11"
}

flux_cluster_size = "large"

# k3s upgrades: in place (the module's default) — the system-upgrade-controller
# moves every node to k3s_version, servers first, one at a time
# (docs/runbooks/k3s-upgrade.md).
upgrade_strategy = "in-place"

# etcd snapshots every six hours (the default schedule), a week of them on each
# server and in Hetzner Object Storage, where they survive the loss of every
# server (docs/runbooks/etcd-restore.md). The bucket must exist; its keys come
# from TF_VAR_etcd_s3_credentials='{access_key="…",secret_key="…"}' (a plan
# without them fails).
etcd_snapshot_retention = 28
etcd_s3 = {
  endpoint = "fsn1.your-objectstorage.com"
  bucket   = "sre-platform-etcd"
  folder   = "production"
  region   = "fsn1"
}

# Who may reach the Kubernetes API (6443/tcp) on the servers: the machines that
# run Terraform (it waits for readiness and drains through it) and kubectl.
# REPLACE the placeholder (a documentation range, RFC 5737, that matches no
# real address) with your own CIDRs, e.g. ["<your public IPv4>/32"];
# against Hetzner's API the plan refuses it. 0.0.0.0/0 needs
# allow_public_api = true as well.
api_allowed_cidrs = ["203.0.113.0/24"]
