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
