# sandbox: one server and one agent on the local emulator. The endpoint, token
# and operator manifest are passed by hack/sandbox.sh / hack/tf-env.sh.
server_count = 1
agent_count  = 1
