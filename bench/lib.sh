# Shared by the bench scripts (sourced, not run).

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_registry DIR: Debian's docker-registry on a free 127.0.0.1 port, storing under DIR/registry;
# sets $port and $reg_pid, and fails (with its log) when it does not answer within 5 s.
start_registry() {
  local dir=$1
  port=$(free_port)
  cat > "$dir/registry.yml" <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $dir/registry } }
http: { addr: 127.0.0.1:$port }
log: { level: error }
YML
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  reg_pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && return 0; sleep 0.1; done
  echo "docker-registry did not start on 127.0.0.1:$port: $(cat "$dir/registry.log")" >&2
  return 1
}
