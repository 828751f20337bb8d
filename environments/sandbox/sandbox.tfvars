# sandbox: one server and one agent on the local emulator. The endpoint, token
# and operator manifest are passed by `go tool task up` (test/sandbox/cmd/sandbox-up) / hack/tf-env.sh.
server_count = 1
agent_count  = 1
