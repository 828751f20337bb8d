# staging: production's shape at a smaller scale — three servers (etcd quorum)
# behind an API load balancer and two agents. Secrets come from TF_VAR_*
# (see ../README.md).
cluster_name = "staging"
location     = "fsn1"
server_type  = "cx22"
server_count = 3

agent_pools = {
  general = {
    server_type = "cx32"
    count       = 2
  }
}

load_balancer = {
  enabled = true
  type    = "lb11"
}

# k3s upgrades: in place (the module's default) — the system-upgrade-controller
# moves every node to k3s_version, servers first, one at a time
# (docs/runbooks/k3s-upgrade.md). Snapshots stay on the servers; to rehearse
# production's restore from object storage, set etcd_s3 as production does.
etcd_snapshot_retention = 12

# Who may reach the Kubernetes API (6443/tcp) on the servers: the machines that
# run Terraform (it waits for readiness and drains through it) and kubectl.
# REPLACE the placeholder (a documentation range, RFC 5737, that matches no
# real address) with your own CIDRs, e.g. ["<your public IPv4>/32"];
# against Hetzner's API the plan refuses it. 0.0.0.0/0 needs
# allow_public_api = true as well.
api_allowed_cidrs = ["203.0.113.0/24"]
