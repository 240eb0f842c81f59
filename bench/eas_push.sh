#!/usr/bin/env bash
# Parked Pings and push latency (bench/README.md, "EAS: parked Pings, push
# latency"): one Rampart process holds DEVICES Direct Push Pings, each on its
# own TLS connection with its own DeviceId, provisioned and synced; the memory
# they cost is compared with nginx's idle and proxied TLS connections measured
# in the same run (bench/tls_park_nginx.sh); then DELIVERIES LMTP deliveries,
# one user at a time, each waking that user's devices.
#
#   bench/eas_push.sh [DEVICES] [USERS] [DELIVERIES] [NGINX_CONNECTIONS]
#
# NGINX_CONNECTIONS: at most ~7900, nginx's proxied mode holds two descriptors
# per connection under its worker_connections 16000.
# Env: BUILD (default build/release), WORK_DIR (default /dev/shm: setup makes
# ~6 store writes per device, fsync on tmpfs is free; nothing measured here
# waits for a disk), WARMUP (Pings parked before the baseline, default 1000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
devices=${1:-17000}; users=${2:-200}; deliveries=${3:-200}; nginx_n=${4:-7000}
warmup=${WARMUP:-1000}
build=${BUILD:-build/release}
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((devices + 200)) ] || { echo "ulimit -n is $(ulimit -n): too low for $devices connections" >&2; exit 2; }
work=$(mktemp -d "${WORK_DIR:-/dev/shm}/rampart-eas-push-XXXXXX")
. bench/eas_common.sh
trap 'stop_server; rm -rf "$work"' EXIT

echo "EAS parked Pings: $devices devices over $users users, $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC"
init_server "max_connections = $((devices + 1000))"
# Users bench0..bench<U-1>, one password; devices go round-robin over them.
pw=bench-$RANDOM$RANDOM
: >"$work/users.txt"
for ((u = 0; u < users; u++)); do
  echo "$pw" | "$rampart" admin --data-dir "$data" user add "bench$u" --address "bench$u@example.test" \
    --password-stdin >/dev/null
  echo "bench$u $pw" >>"$work/users.txt"
done

# 1. Every device: Provision (2 phases), FolderSync, Sync 0, Sync (state saved).
start_server
"$load" setup --port "$eas_port" --ca "$data/tls/dev-ca.crt" --users "$work/users.txt" \
  --devices "$devices" --state "$work/devices.txt" --concurrency 64
# 2. A fresh server process, so the baseline holds no garbage from the setup.
stop_server
start_server
sleep 1
"$load" park --port "$eas_port" --ca "$data/tls/dev-ca.crt" --users "$work/users.txt" \
  --state "$work/devices.txt" --server-pid "$rp_pid" --warmup "$warmup" --concurrency 64 \
  --lmtp-port "$lmtp_port" --domain example.test --deliveries "$deliveries" --gap-ms 100 | tee "$work/park.txt"
echo "server VmHWM: $(awk '/VmHWM/ {print $2}' "/proc/$rp_pid/status") kB, threads: $(awk '/Threads/ {print $2}' "/proc/$rp_pid/status")"
stop_server

# 3. nginx on the same machine, same run: bench/tls_park_nginx.sh as it is,
# on two free ports instead of its fixed 18443/18444 (another server may hold them).
ng=$(port); hole=$(port)
sed -e "s/^port=18443$/port=$ng/" -e "s/^hole_port=18444$/hole_port=$hole/" bench/tls_park_nginx.sh |
  sh -s "$nginx_n" | tee "$work/nginx.txt"
per_ping=$(sed -n 's/^RESULT per_ping_rss=\([0-9.-]*\).*/\1/p' "$work/park.txt")
idle=$(sed -n 's/^nginx idle: .*rss_per_conn=\([0-9.-]*\) B/\1/p' "$work/nginx.txt")
parked=$(sed -n 's/^nginx parked: .*rss_per_conn=\([0-9.-]*\) B/\1/p' "$work/nginx.txt")
python3 - "$per_ping" "$idle" "$parked" <<'PY'
import sys
r, i, p = (float(x) for x in sys.argv[1:])
print(f"rampart parked Ping {r/1000:.1f} kB vs nginx idle TLS {i/1000:.1f} kB ({r/i:.2f}x), "
      f"nginx proxied-parked {p/1000:.1f} kB ({r/p:.2f}x); goal <= 8 kB: {'met' if r <= 8000 else 'NOT met'}")
PY
