#!/usr/bin/env bash
# The certificate authority (bench/README.md, "Certificate authority"), on
# loopback, started here in a fresh directory:
#
#   1. Certificates issued per second through EST (RFC 7030 simpleenroll,
#      ECDSA P-256 keys and CA), the whole path: TLS at the gateway, Basic
#      pre-authentication (cached after the first argon2id), the mTLS link,
#      the CA's checks, signing, and the committed store record (SQLite,
#      synchronous=FULL, on WORK_DIR's disk). Closed loop over CONNS
#      keep-alive connections. Floor: `openssl speed` ECDSA P-256 signatures
#      per second on one core, in the same run.
#   2. OCSP responses per second (RFC 6960), Rampart's responder (the CA's
#      PKI listener) beside `openssl ocsp -port` answering for the same
#      issuing CA with the same delegated responder key, the same request:
#        a. a nonce in the request, a new connection per request (openssl's
#           responder answers one request per connection): one signature per
#           answer on both;
#        b. Rampart only: keep-alive, with a nonce (signed each time) and
#           without (answers cached until a revocation or half their validity).
#      CPU per answer from /proc of each responder.
#
#   bench/ca_bench.sh
#
# Env: BUILD (default build/release; needs rampart and https_load), CSRS
# (distinct requests made beforehand per run, default 3000; a run that sends
# more is flagged: repeats are answered from the store without a signature), RUNS
# (median of, default 3), DURATION (s per run, default 5), CONNS (default 8),
# WORK_DIR (default /tmp: a real disk, so every issuance pays its fsync).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${BUILD:-build/release}
runs=${RUNS:-3}
duration=${DURATION:-5}
conns=${CONNS:-8}
rampart=$build/src/cmd/rampart
load=$build/bench/https_load
for b in "$rampart" "$load"; do
  [ -x "$b" ] || { echo "build $b first: cmake --build $build --target rampart https_load" >&2; exit 2; }
done
work=$(mktemp -d "${WORK_DIR:-/tmp}/rampart-ca-bench-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# Waits for a listening socket without connecting to it: openssl ocsp -port
# (3.0) spins on a connection closed before it sent a request.
wait_port() { for _ in $(seq 600); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*[ ]$1=\([0-9.-]*\).*/\1/p"; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }

echo "Certificate authority: $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
echo "rampart: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")), HEAD $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ' + uncommitted src/ edits')"

# ---- rampart up: gateway + CA (+ mail server) in one process ----------------
data=$work/data
eas_port=$(port)
pki_port=$(port)
start_up() {
  "$rampart" up --data-dir "$data" --eas-port "$eas_port" --pki-port "$pki_port" --lmtp-port 0 --admin-port 0 \
    --link-port 0 --gateway-admin-port 0 --est-link-port 0 --rights-link-port 0 >"$work/up.log" 2>&1 &
  up_pid=$!
  pids+=("$up_pid")
  for _ in $(seq 600); do grep -q "Press Ctrl-C" "$work/up.log" && break; sleep 0.1; done
  grep -q "Press Ctrl-C" "$work/up.log" || { cat "$work/up.log" >&2; exit 1; }
}
start_up
# One user enrolls as fast as the CA can: lift the gateway's per-user and
# per-device request limits (1200 and 600 a minute by default), then restart.
kill "$up_pid"; wait "$up_pid" 2>/dev/null || true
printf '\n[limits]\nper_user_requests_per_minute = 10000000\nper_device_requests_per_minute = 10000000\n' \
  >>"$data/gateway.toml"
start_up
# Distinct requests (the CA answers a repeated CSR with the certificate it
# already issued for it, without signing again): one base64 CSR per line.
csrs=${CSRS:-3000}
seq $((csrs * runs)) | xargs -P "$(nproc)" -I{} sh -c \
  'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=bench{} \
     -outform DER 2>/dev/null | base64 -w0 >"$0/csr-{}.b64"' "$work"
# One file per run, so that no run repeats another's requests.
i=0
for f in "$work"/csr-*.b64; do cat "$f" >>"$work/csrs-$((i % runs)).txt"; echo >>"$work/csrs-$((i % runs)).txt"; i=$((i + 1)); done
rm -f "$work"/csr-*.b64
password=$(awk '$1 == "alice" {print $3}' "$data/demo-users.txt")
basic="Basic $(printf 'alice:%s' "$password" | base64 -w0)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" -subj /CN=bench \
  -outform DER 2>/dev/null | base64 >"$work/csr.b64"
# One enrollment by curl: the leaf for the OCSP part, and a check that the path works.
curl -sS --fail-with-body --cacert "$data/tls/dev-ca.crt" -u "alice:$password" -H "Content-Type: application/pkcs10" \
  --data-binary @"$work/csr.b64" "https://localhost:$eas_port/.well-known/est/simpleenroll" |
  tr -d "\r" | base64 -d | openssl pkcs7 -inform DER -print_certs -out "$work/leaf.pem"

# ---- 1. EST issuance --------------------------------------------------------
speed=$(openssl speed -seconds 3 -elapsed ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
echo
echo "1. EST simpleenroll through the gateway, $conns connections, ${duration}s x $runs (median)"
rates=() cpus=()
for run in $(seq 0 $((runs - 1))); do
  r=$("$load" --port "$eas_port" --path /.well-known/est/simpleenroll --auth "$basic" --body-lines "$work/csrs-$run.txt" \
      --content-type application/pkcs10 --connections "$conns" --duration "$duration" --warmup 0.5 --pids "$up_pid")
  rates+=("$(field rate <<<"$r")"); cpus+=("$(field cpu_us_per_req <<<"$r")")
  errs=$(field errors <<<"$r"); [ "${errs:-0}" = 0 ] || echo "   (errors: $errs)"
  sent=$(field requests <<<"$r")
  [ "${sent%.*}" -le "$csrs" ] || echo "   (run $run sent $sent requests for $csrs distinct CSRs: raise CSRS, the rest were repeats)"
done
est_rate=$(printf '%s\n' "${rates[@]}" | median)
est_cpu=$(printf '%s\n' "${cpus[@]}" | median)
sign_us=$(python3 -c "print(f'{1e6/float(\"$speed\"):.1f}')")
printf '   Rampart          %8.0f certificates/s   %7.0f us CPU each (gateway + CA + store)\n' "$est_rate" "$est_cpu"
printf '   openssl speed    %8.0f ECDSA P-256 signatures/s on one core (%s us each)\n' "$speed" "$sign_us"
echo "   issuance rate / signature floor: $(ratio "$est_rate" "$speed"); CPU per issuance / per signature: $(ratio "$est_cpu" "$sign_us")"

# ---- 2. OCSP ----------------------------------------------------------------
ca=$data/ca
openssl ocsp -issuer "$ca/issuing.crt" -cert "$work/leaf.pem" -reqout "$work/nonce.der" >/dev/null 2>&1
openssl ocsp -issuer "$ca/issuing.crt" -cert "$work/leaf.pem" -no_nonce -reqout "$work/plain.der" >/dev/null 2>&1
# The peer: openssl's responder, same CA and responder key, an index naming the leaf as valid.
serial=$(openssl x509 -in "$work/leaf.pem" -noout -serial | cut -d= -f2)
expiry=$(date -u -d "$(openssl x509 -in "$work/leaf.pem" -noout -enddate | cut -d= -f2)" '+%y%m%d%H%M%SZ')
printf 'V\t%s\t\t%s\tunknown\t%s\n' "$expiry" "$serial" "/CN=alice" >"$work/index.txt"
peer_port=$(port)
openssl ocsp -index "$work/index.txt" -port "$peer_port" -rsigner "$ca/ocsp.crt" -rkey "$ca/ocsp.key" \
  -CA "$ca/issuing.crt" -nmin 60 >"$work/peer.log" 2>&1 &
peer_pid=$!
pids+=("$peer_pid")
wait_port "$peer_port"
for url in "http://127.0.0.1:$pki_port/ocsp" "http://127.0.0.1:$peer_port/"; do
  openssl ocsp -issuer "$ca/issuing.crt" -cert "$work/leaf.pem" -url "$url" -CAfile "$ca/chain.pem" \
    >"$work/check.txt" 2>&1 || true
  grep -q ": good" "$work/check.txt" || { echo "OCSP at $url did not answer good:" >&2; cat "$work/check.txt" >&2; exit 1; }
done

run_ocsp() {  # port path body pid new_conn -> "rate cpu"
  local rates=() cpus=() r
  for _ in $(seq "$runs"); do
    r=$("$load" --plain 1 --port "$1" --path "$2" --body-file "$3" --content-type application/ocsp-request \
        --connections "$conns" --duration "$duration" --new-conn "$5" --pids "$4")
    rates+=("$(field rate <<<"$r")"); cpus+=("$(field cpu_us_per_req <<<"$r")")
  done
  echo "$(printf '%s\n' "${rates[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
echo
echo "2. OCSP, $conns connections, ${duration}s x $runs (median)"
read -r r_rate r_cpu < <(run_ocsp "$pki_port" /ocsp "$work/nonce.der" "$up_pid" 1)
read -r p_rate p_cpu < <(run_ocsp "$peer_port" / "$work/nonce.der" "$peer_pid" 1)
printf '   a. nonce, new connection each:  Rampart %7.0f/s %6.0f us CPU   openssl ocsp %7.0f/s %6.0f us CPU\n' \
  "$r_rate" "$r_cpu" "$p_rate" "$p_cpu"
echo "      rate Rampart / openssl: $(ratio "$r_rate" "$p_rate"); CPU per answer openssl / Rampart: $(ratio "$p_cpu" "$r_cpu")"
read -r k_rate k_cpu < <(run_ocsp "$pki_port" /ocsp "$work/nonce.der" "$up_pid" 0)
read -r c_rate c_cpu < <(run_ocsp "$pki_port" /ocsp "$work/plain.der" "$up_pid" 0)
printf '   b. keep-alive: nonce %7.0f/s %6.0f us CPU; no nonce (cached) %7.0f/s %6.0f us CPU\n' \
  "$k_rate" "$k_cpu" "$c_rate" "$c_cpu"
echo "      signed answers vs the signature floor: $(ratio "$k_rate" "$speed")"
