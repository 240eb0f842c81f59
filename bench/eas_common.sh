# Shared by bench/eas_push.sh and bench/eas_initial_sync.sh (sourced, not run).
# Needs: $build (the release build dir), $work (a fresh directory).
rampart=$build/src/cmd/rampart
load=$build/bench/eas_load
[ -x "$rampart" ] && [ -x "$load" ] || { echo "build rampart and eas_load in $build first (see bench/README.md)" >&2; exit 2; }
data=$work/data
rp_pid=""
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
lmtp_port=$(port); eas_port=$(port); admin_port=$(port)
start_server() {
  "$rampart" up --data-dir "$data" --lmtp-port "$lmtp_port" --eas-port "$eas_port" \
    --admin-port "$admin_port" >>"$work/server.log" 2>&1 &
  rp_pid=$!
  wait_port "$eas_port"
}
stop_server() {
  [ -n "$rp_pid" ] || return 0
  kill "$rp_pid" 2>/dev/null || true
  wait "$rp_pid" 2>/dev/null || true
  rp_pid=""
}
# First start writes data/server.toml (its [eas] section last) and the demo
# users; then the benchmark's settings are appended to [eas] and logging is
# turned down to warnings (info logs a line per request).
init_server() {  # init_server "key = value" ...
  start_server
  stop_server
  sed -i 's/^log_level = .*/log_level = "warn"/' "$data/server.toml"
  for kv in "$@"; do echo "$kv" >>"$data/server.toml"; done
}
password_of() { awk -v u="$1" '$1 == u {print $3}' "$data/demo-users.txt"; }
