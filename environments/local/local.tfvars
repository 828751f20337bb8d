# local: a kind cluster with one worker; ingress on 127.0.0.1:80/443.
cluster_name = "platform-local"
workers      = 1
