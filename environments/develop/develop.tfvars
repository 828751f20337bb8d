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
