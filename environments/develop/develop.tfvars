# develop: the smallest Hetzner cluster — one server (embedded etcd) and one
# agent, no API load balancer. Secrets come from TF_VAR_* (see ../README.md).
cluster_name = "develop"
location     = "fsn1"
server_type  = "cx22"
server_count = 1

agent_pools = {
  general = {
    server_type = "cx32"
    count       = 1
  }
}

load_balancer = {
  enabled = false
}

flux_cluster_size = "small"

# k3s upgrades: in place (the module's default) — the system-upgrade-controller
# moves every node to k3s_version, one at a time (docs/runbooks/k3s-upgrade.md).
# develop is rebuilt rather than restored: its etcd snapshots stay on the
# server (no etcd_s3), two days of them every six hours.
etcd_snapshot_retention = 8

# Who may reach the Kubernetes API (6443/tcp) on the servers: the machines that
# run Terraform (it waits for readiness and drains through it) and kubectl.
# REPLACE the placeholder (a documentation range, RFC 5737, that matches no
# real address) with your own CIDRs, e.g. ["<your public IPv4>/32"];
# against Hetzner's API the plan refuses it. 0.0.0.0/0 needs
# allow_public_api = true as well.
api_allowed_cidrs = ["203.0.113.0/24"]
