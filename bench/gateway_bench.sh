#!/usr/bin/env bash
# The edge gateway against HAProxy and nginx (bench/README.md, "Edge gateway"),
# all on loopback, started here in a fresh directory, the same client
# (bench/https_load.cc) and the same ECDSA P-256 certificate for all three:
#
#   1. CPU per proxied HTTPS keep-alive request to one plain-HTTP nginx backend
#      (a fixed 256-byte body); Rampart with auth = "basic" (built-in
#      directory, the client sends the credentials on every request).
#   2. CPU per full TLS handshake (no resumption), one request per connection.
#   3. Memory per parked EAS Ping held through the gateway (separate gateway
#      and mail server processes), and per idle TLS connection in nginx/HAProxy.
#   4. Added p99 latency, open loop at half of Rampart's closed-loop rate.
#
#   bench/gateway_bench.sh [PARKED]
#
# Env: BUILD (default build/release; needs rampart, eas_load, https_load),
# RUNS (repetitions, median reported; default 3), DURATION (s per run,
# default 5), CONNS (keep-alive connections, default 32), HS_CONNS
# (concurrent handshakes, default 8), SKIP_PARK=1 (no part 3).
# Every proxy runs one I/O thread/worker: Rampart threads = 1, HAProxy
# nbthread 1, nginx worker_processes 1. CPU is utime+stime of the proxy's
# processes (/proc/PID/stat, all threads) over the measured window.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
parked=${1:-2000}
build=${BUILD:-build/release}
runs=${RUNS:-3}
duration=${DURATION:-5}
conns=${CONNS:-32}
hs_conns=${HS_CONNS:-8}
rampart=$build/src/cmd/rampart
load=$build/bench/https_load
eas=$build/bench/eas_load
for b in "$rampart" "$load" "$eas"; do
  [ -x "$b" ] || { echo "build $b first: cmake --build $build --target rampart https_load eas_load" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "nginx not installed (apt-get install nginx-light)" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "haproxy not installed (apt-get install haproxy)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d "${WORK_DIR:-/dev/shm}/rampart-gw-bench-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*[ ]$1=\([0-9.-]*\).*/\1/p"; }  # field NAME < RESULT line
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }

echo "Edge gateway vs HAProxy $(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p') and nginx $(nginx -v 2>&1 | sed 's|.*/||'): $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rampart: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")) linked $(date -u -r "$rampart" '+%F %H:%M') UTC;" \
  "HEAD now $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ' + uncommitted src/ edits')"

# ---- one certificate for every TLS server -----------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/haproxy.pem"

# ---- the backend: nginx, plain HTTP, a fixed 256-byte body --------------------
be=$(port)
body=$(head -c 256 /dev/zero | tr '\0' 'x')
mkdir -p "$work/backend"
cat >"$work/backend/nginx.conf" <<EOF
worker_processes 1;
pid $work/backend/nginx.pid;
error_log $work/backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 1h;
  server {
    listen 127.0.0.1:$be;
    location / { default_type text/plain; return 200 "$body"; }
  }
}
EOF
nginx -c "$work/backend/nginx.conf" -p "$work/backend" -g 'daemon off;' &
pids+=($!)
wait_port "$be"

# ---- Rampart's gateway: one rule, basic auth against the built-in directory --
gw=$(port); gw_admin=$(port)
rdata=$work/rampart
mkdir -p "$rdata/gateway"
pw=bench-$RANDOM$RANDOM
echo "$pw" | "$rampart" admin --data-dir "$rdata" user add bench --address bench@example.test --password-stdin >/dev/null
auth="Basic $(printf 'bench:%s' "$pw" | base64 -w0)"
cat >"$work/gateway.toml" <<EOF
data_dir = "$rdata/gateway"
log_level = "warn"
access_log = ""
[listener]
listen = "127.0.0.1:$gw"
threads = 1
[[certificate]]
names = ["localhost", "127.0.0.1"]
cert_file = "$work/cert.pem"
key_file = "$work/key.pem"
[limits]
max_connections = 100000
unauthenticated_connections = 100000
exceptions = ["127.0.0.0/8"]
per_user_requests_per_minute = 10000000
per_device_requests_per_minute = 10000000
[auth]
directory = "builtin"
directory_data_dir = "$rdata"
[admin]
listen = "127.0.0.1:$gw_admin"
[[rule]]
name = "web"
service = "web"
path = "/"
methods = ["GET"]
auth = "basic"
realm = "bench"
backend = "127.0.0.1:$be"
backend_tls = false
backend_connections = 64
EOF
"$rampart" gateway run --config "$work/gateway.toml" >"$work/gateway.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
wait_port "$gw"

# ---- HAProxy: TLS termination, http mode, keep-alive both sides -------------
hp=$(port)
cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 9000
  ssl-default-bind-options no-tls-tickets
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout http-keep-alive 1h
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$hp ssl crt $work/haproxy.pem
  default_backend be
backend be
  server s1 127.0.0.1:$be
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
hp_pid=$!
pids+=($hp_pid)
wait_port "$hp"

# ---- nginx: TLS, proxy_pass with upstream keepalive -------------------------
ng=$(port)
mkdir -p "$work/front"
cat >"$work/front/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/front/nginx.pid;
error_log $work/front/error.log warn;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 1h;
  client_header_timeout 1h;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets off;
  upstream be { server 127.0.0.1:$be; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$ng ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
nginx -c "$work/front/nginx.conf" -p "$work/front" -g 'daemon off;' &
ng_pid=$!
pids+=($ng_pid)
wait_port "$ng"
ng_pids="$ng_pid,$(pgrep -P "$ng_pid" | paste -sd,)"

names=(rampart haproxy nginx)
declare -A port_of=([rampart]=$gw [haproxy]=$hp [nginx]=$ng)
declare -A pids_of=([rampart]=$gw_pid [haproxy]=$hp_pid [nginx]=$ng_pids)

# Every proxy answers 200 with the body before anything is measured (the first
# request through Rampart also pays the user's Argon2id hash, then cached).
for n in "${names[@]}"; do
  out=$("$load" --port "${port_of[$n]}" --auth "$auth" --connections 1 --warmup 0.5 --duration 0.5)
  [ "$(echo "$out" | grep RESULT | field errors)" = 0 ] || { echo "$n does not answer 200: $out" >&2; tail "$work"/*.log; exit 1; }
done
for n in "${names[@]}"; do
  echo "$n: $("$load" --port "${port_of[$n]}" --auth "$auth" --connections 1 --warmup 0 --duration 0.2 | sed -n 's/^negotiated: //p')"
done

# ---- 1 and 2: CPU per keep-alive request, per full handshake ---------------
for ((r = 1; r <= runs; r++)); do
  for n in "${names[@]}"; do
    "$load" --port "${port_of[$n]}" --auth "$auth" --connections "$conns" --warmup 1 --duration "$duration" \
      --pids "${pids_of[$n]}" | grep RESULT >"$work/ka.$n.$r"
    "$load" --port "${port_of[$n]}" --auth "$auth" --connections "$hs_conns" --new-conn 1 --warmup 1 \
      --duration "$duration" --pids "${pids_of[$n]}" | grep RESULT >"$work/hs.$n.$r"
    printf 'run %d %-8s keep-alive: %6.0f req/s %6.2f us CPU/req | handshake: %5.0f conn/s %7.1f us CPU/conn (errors %s/%s)\n' \
      "$r" "$n" "$(field rate <"$work/ka.$n.$r")" "$(field cpu_us_per_req <"$work/ka.$n.$r")" \
      "$(field rate <"$work/hs.$n.$r")" "$(field cpu_us_per_req <"$work/hs.$n.$r")" \
      "$(field errors <"$work/ka.$n.$r")" "$(field errors <"$work/hs.$n.$r")"
  done
done
declare -A ka_cpu hs_cpu ka_rate hs_rate
for n in "${names[@]}"; do
  ka_cpu[$n]=$(cat "$work"/ka."$n".* | field cpu_us_per_req | median)
  ka_rate[$n]=$(cat "$work"/ka."$n".* | field rate | median)
  hs_cpu[$n]=$(cat "$work"/hs."$n".* | field cpu_us_per_req | median)
  hs_rate[$n]=$(cat "$work"/hs."$n".* | field rate | median)
done
echo "load average after parts 1-2: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 4: added latency, open loop at half (and a quarter) of Rampart's -------
# closed-loop rate; "direct" is the same client in plain HTTP to the backend,
# so the added latency includes TLS termination.
declare -A p99 p50 olcpu
rates=("$(python3 -c "print(round(${ka_rate[rampart]} / 2))")" "$(python3 -c "print(round(${ka_rate[rampart]} / 4))")")
for rate in "${rates[@]}"; do
  for ((r = 1; r <= runs; r++)); do
    "$load" --port "$be" --plain 1 --auth "$auth" --connections 64 --rate "$rate" --warmup 1 --duration "$duration" \
      --pids "$(cat "$work/backend/nginx.pid"),$(pgrep -P "$(cat "$work/backend/nginx.pid")" | paste -sd,)" |
      grep RESULT >"$work/ol.$rate.direct.$r"
    for n in "${names[@]}"; do
      "$load" --port "${port_of[$n]}" --auth "$auth" --connections 64 --rate "$rate" --warmup 1 --duration "$duration" \
        --pids "${pids_of[$n]}" | grep RESULT >"$work/ol.$rate.$n.$r"
    done
    for n in direct "${names[@]}"; do
      printf 'run %d open loop %d/s %-8s p50 %6.0f us p99 %6.0f us p99.9 %6.0f us (answered %s/s, left %s, errors %s) %6.1f us CPU/req\n' \
        "$r" "$rate" "$n" "$(field p50_us <"$work/ol.$rate.$n.$r")" "$(field p99_us <"$work/ol.$rate.$n.$r")" \
        "$(field p999_us <"$work/ol.$rate.$n.$r")" "$(field rate <"$work/ol.$rate.$n.$r")" \
        "$(field backlog <"$work/ol.$rate.$n.$r")" "$(field errors <"$work/ol.$rate.$n.$r")" \
        "$(field cpu_us_per_req <"$work/ol.$rate.$n.$r")"
    done
  done
  for n in direct "${names[@]}"; do
    p99[$rate.$n]=$(cat "$work"/ol."$rate"."$n".* | field p99_us | median)
    p50[$rate.$n]=$(cat "$work"/ol."$rate"."$n".* | field p50_us | median)
    olcpu[$rate.$n]=$(cat "$work"/ol."$rate"."$n".* | field cpu_us_per_req | median)
  done
done
echo "load average after part 4: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 3: memory per parked Ping at the gateway, per idle TLS connection -------
# nginx and HAProxy: fresh processes (memory freed earlier would be reused),
# 100 warm-up connections, then N idle TLS connections (handshake done, no
# request); Private_Dirty (smaps_rollup) and VmRSS of the worker.
idle_conns() {  # idle_conns PORT PID N
  python3 - "$@" <<'PY'
import socket, ssl, sys, time
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def mem():
    f = {}
    for path in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
        for line in open(path):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Private_Dirty"): f[k] = int(v.split()[0]) * 1024
    return f
def opens(k):
    out = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost") for _ in range(k)]
    time.sleep(1)
    return out
warm = opens(100)
a = mem()
conns = opens(n)
b = mem()
print(f"RESULT n={n} rss_per_conn={(b['VmRSS'] - a['VmRSS']) / n:.0f} private_dirty_per_conn={(b['Private_Dirty'] - a['Private_Dirty']) / n:.0f}")
PY
}
declare -A idle_pd idle_rss
if [ "${SKIP_PARK:-0}" != 1 ]; then
  stop "$hp_pid"
  stop "$ng_pid"
  for ((r = 1; r <= runs; r++)); do
    haproxy -f "$work/haproxy.cfg" -db >>"$work/haproxy.log" 2>&1 &
    hp_pid=$!; pids+=($hp_pid); wait_port "$hp"
    idle_conns "$hp" "$hp_pid" "$parked" >"$work/idle.haproxy.$r"
    stop "$hp_pid"
    nginx -c "$work/front/nginx.conf" -p "$work/front" -g 'daemon off;' &
    ng_pid=$!; pids+=($ng_pid); wait_port "$ng"
    idle_conns "$ng" "$(pgrep -P "$ng_pid" | head -1)" "$parked" >"$work/idle.nginx.$r"
    stop "$ng_pid"
    echo "run $r idle TLS connections x $parked: haproxy $(field private_dirty_per_conn <"$work/idle.haproxy.$r") B," \
      "nginx $(field private_dirty_per_conn <"$work/idle.nginx.$r") B Private_Dirty per connection"
  done
  for n in haproxy nginx; do
    idle_pd[$n]=$(cat "$work"/idle."$n".* | field private_dirty_per_conn | median)
    idle_rss[$n]=$(cat "$work"/idle."$n".* | field rss_per_conn | median)
  done

  # Rampart: `rampart up` writes the data directory (PKI, server.toml,
  # gateway.toml), then the mail server and the gateway run as two processes
  # so the gateway is measured alone. Devices: Provision, FolderSync, Sync
  # (eas_load setup), then a fresh gateway and eas_load park against it.
  data=$work/up
  lmtp=$(port); eas_port=$(port); link=$(port); adm=$(port); gadm=$(port)
  "$rampart" up --data-dir "$data" --lmtp-port "$lmtp" --eas-port "$eas_port" --link-port "$link" \
    --admin-port "$adm" --gateway-admin-port "$gadm" >"$work/up.log" 2>&1 &
  up_pid=$!; pids+=($up_pid); wait_port "$eas_port"; stop "$up_pid"
  sed -i 's/^log_level = .*/log_level = "warn"/' "$data/server.toml" "$data/gateway.toml"
  echo "max_connections = $((parked + 1000))" >>"$data/server.toml"   # [eas] is its last section
  # The gateway's own limits: every device is on 127.0.0.1, Pings are long polls.
  python3 - "$data/gateway.toml" "$parked" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
text = open(path).read().replace('log_level = "warn"\n', 'log_level = "warn"\naccess_log = ""\n', 1)
limits = ("\n[limits]\nmax_connections = %d\nunauthenticated_connections = %d\nexceptions = [\"127.0.0.0/8\"]\n"
          "per_user_requests_per_minute = 10000000\nper_device_requests_per_minute = 10000000\n") % (n + 1000, n + 1000)
i = text.index("\n[auth]")
open(path, "w").write(text[:i] + limits + text[i:])
PY
  users=$((parked / 100 > 0 ? parked / 100 : 1))
  : >"$work/users.txt"
  for ((u = 0; u < users; u++)); do
    echo "$pw" | "$rampart" admin --data-dir "$data" user add "bench$u" --address "bench$u@example.test" \
      --password-stdin >/dev/null
    echo "bench$u $pw" >>"$work/users.txt"
  done
  "$rampart" server --config "$data/server.toml" >"$work/server.log" 2>&1 &
  srv_pid=$!; pids+=($srv_pid); wait_port "$link"
  start_gw() { "$rampart" gateway run --config "$data/gateway.toml" >>"$work/gw-up.log" 2>&1 & gw2_pid=$!; pids+=($gw2_pid); wait_port "$eas_port"; }
  start_gw
  "$eas" setup --port "$eas_port" --ca "$data/tls/dev-ca.crt" --users "$work/users.txt" \
    --devices "$parked" --state "$work/devices.txt" --concurrency 32 >"$work/setup.txt"
  # backend_h2 = true (what `rampart up` writes: parked Pings are HTTP/2
  # streams on a few mTLS connections to the mail server) and false (one
  # HTTP/1.1 mTLS connection to the mail server per parked Ping).
  declare -A gw_pd gw_rss
  for h2 in true false; do
    sed -i "s/^backend_h2 = .*/backend_h2 = $h2/" "$data/gateway.toml"
    grep -q "^backend_h2 = $h2" "$data/gateway.toml" || { echo "no backend_h2 line in gateway.toml" >&2; exit 1; }
    for ((r = 1; r <= runs; r++)); do
      stop "$gw2_pid"
      start_gw
      sleep 1
      "$eas" park --port "$eas_port" --ca "$data/tls/dev-ca.crt" --users "$work/users.txt" --state "$work/devices.txt" \
        --server-pid "$gw2_pid" --warmup "$((parked / 10))" --concurrency 32 >"$work/park.$h2.$r" 2>&1 ||
        { echo "eas_load park failed:" >&2; cat "$work/park.$h2.$r" >&2; exit 1; }
      echo "run $r gateway backend_h2=$h2, $(sed -n 's/^per parked Ping: //p' "$work/park.$h2.$r") per parked Ping;" \
        "threads $(awk '/Threads/ {print $2}' "/proc/$gw2_pid/status"), fds $(ls "/proc/$gw2_pid/fd" | wc -l)"
    done
    gw_pd[$h2]=$(cat "$work"/park."$h2".* | field per_ping_private_dirty | median)
    gw_rss[$h2]=$(cat "$work"/park."$h2".* | field per_ping_rss | median)
  done
fi

# ---- the table ----------------------------------------------------------------
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs runs"
printf '| %-52s | %12s | %12s | %12s | %-22s | %s |\n' "" Rampart HAProxy nginx "Rampart/HAProxy, /nginx" "goal"
printf '| %-52s | %12.2f | %12.2f | %12.2f | %-22s | %s |\n' "CPU per keep-alive HTTPS request (us)" \
  "${ka_cpu[rampart]}" "${ka_cpu[haproxy]}" "${ka_cpu[nginx]}" \
  "$(ratio "${ka_cpu[rampart]}" "${ka_cpu[haproxy]}"), $(ratio "${ka_cpu[rampart]}" "${ka_cpu[nginx]}")" \
  "<= 0.8x HAProxy: $(python3 -c "print('met' if ${ka_cpu[rampart]} <= 0.8 * ${ka_cpu[haproxy]} else 'NOT met')")"
printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' "  closed-loop rate, $conns connections (req/s)" \
  "${ka_rate[rampart]}" "${ka_rate[haproxy]}" "${ka_rate[nginx]}" "" ""
printf '| %-52s | %12.1f | %12.1f | %12.1f | %-22s | %s |\n' "CPU per full TLS handshake + 1 request (us)" \
  "${hs_cpu[rampart]}" "${hs_cpu[haproxy]}" "${hs_cpu[nginx]}" \
  "$(ratio "${hs_cpu[rampart]}" "${hs_cpu[haproxy]}"), $(ratio "${hs_cpu[rampart]}" "${hs_cpu[nginx]}")" \
  "<= 0.8x HAProxy: $(python3 -c "print('met' if ${hs_cpu[rampart]} <= 0.8 * ${hs_cpu[haproxy]} else 'NOT met')")"
printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' "  handshakes/s, $hs_conns concurrent" \
  "${hs_rate[rampart]}" "${hs_rate[haproxy]}" "${hs_rate[nginx]}" "" ""
if [ "${SKIP_PARK:-0}" != 1 ]; then
  for h2 in true false; do
    printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' \
      "parked Ping (backend_h2=$h2) / idle TLS, Private_Dirty B" "${gw_pd[$h2]}" "${idle_pd[haproxy]}" "${idle_pd[nginx]}" \
      "$(ratio "${gw_pd[$h2]}" "${idle_pd[haproxy]}"), $(ratio "${gw_pd[$h2]}" "${idle_pd[nginx]}")" \
      "<= 8 kB: $(python3 -c "print('met' if ${gw_pd[$h2]} <= 8000 else 'NOT met')")"
    printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' "  same, VmRSS (B), $parked held" \
      "${gw_rss[$h2]}" "${idle_rss[haproxy]}" "${idle_rss[nginx]}" "" ""
  done
fi
added() { python3 -c "print(f'{$1 - $2:.0f}')"; }
for rate in "${rates[@]}"; do
  printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' "p99 at $rate req/s open loop (us); direct ${p99[$rate.direct]}" \
    "${p99[$rate.rampart]}" "${p99[$rate.haproxy]}" "${p99[$rate.nginx]}" "" ""
  printf '| %-52s | %12s | %12s | %12s | %-22s | %s |\n' "  added p99 vs plain HTTP to the backend (us)" \
    "$(added "${p99[$rate.rampart]}" "${p99[$rate.direct]}")" "$(added "${p99[$rate.haproxy]}" "${p99[$rate.direct]}")" \
    "$(added "${p99[$rate.nginx]}" "${p99[$rate.direct]}")" \
    "$(ratio "$(added "${p99[$rate.rampart]}" "${p99[$rate.direct]}")" "$(added "${p99[$rate.haproxy]}" "${p99[$rate.direct]}")")" \
    "< 1 ms: $(python3 -c "print('met' if ${p99[$rate.rampart]} - ${p99[$rate.direct]} < 1000 else 'NOT met')")"
  printf '| %-52s | %12.0f | %12.0f | %12.0f | %-22s | %s |\n' "  p50 (us); direct ${p50[$rate.direct]}" \
    "${p50[$rate.rampart]}" "${p50[$rate.haproxy]}" "${p50[$rate.nginx]}" "" ""
  printf '| %-52s | %12.1f | %12.1f | %12.1f | %-22s | %s |\n' "  CPU per request at this rate (us)" \
    "${olcpu[$rate.rampart]}" "${olcpu[$rate.haproxy]}" "${olcpu[$rate.nginx]}" \
    "$(ratio "${olcpu[$rate.rampart]}" "${olcpu[$rate.haproxy]}"), $(ratio "${olcpu[$rate.rampart]}" "${olcpu[$rate.nginx]}")" ""
done
