#!/usr/bin/env bash
# S/MIME (bench/README.md, "S/MIME"): operations per second through Rampart's
# crypto/cms (the device's code path, in process, bench/smime_bench) beside
# `openssl cms` doing the same operation on the same message with the same
# RSA-2048 key in the same run:
#
#   sign     clear-signed (multipart/signed), SHA-256, RSA PKCS#1 v1.5,
#            SMIMECapabilities attribute, the signer's certificate included
#   verify   that signature, chain to the test root
#   encrypt  AES-256-CBC + RSA PKCS#1 v1.5 key transport (what every peer reads)
#   decrypt  that envelope
#
# `openssl cms` is a process per message, so its rate includes process start
# and key loading: it is what a script or a milter calling the CLI gets. The
# in-process floor is `openssl speed rsa2048` (private-key operations/s: one
# per sign and per decrypt), also printed, with Rampart's fraction of it.
#
#   bench/smime_bench.sh
#
# Env: BUILD (default build/release; needs bench/smime_bench), DURATION (s per
# measurement, default 3), SIZE (message body bytes, default 4096).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${BUILD:-build/release}
duration=${DURATION:-3}
size=${SIZE:-4096}
bench=$build/bench/smime_bench
[ -x "$bench" ] || { echo "build $bench first: cmake --build $build --target smime_bench" >&2; exit 2; }
work=$(mktemp -d /tmp/rampart-smime-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }

echo "S/MIME: $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
echo "rampart: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")), HEAD $(git rev-parse --short HEAD)"

# A root and an RSA-2048 S/MIME certificate (emailProtection) for bench@example.test.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 -subj "/CN=Bench Root" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout user.key -out user.csr -subj "/CN=Bench User" 2>/dev/null
printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:bench@example.test\n' > ext.cnf
openssl x509 -req -in user.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile ext.cnf -out user.pem 2>/dev/null
{
  printf 'From: bench@example.test\r\nTo: bench@example.test\r\nSubject: bench\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
  head -c "$size" /dev/zero | tr '\0' 'x' | fold -w 76 | sed 's/$/\r/'
} > msg.eml
# Content-only entity for openssl (it signs/encrypts what it is given).
python3 -c "import sys; d=open('msg.eml','rb').read(); i=d.index(b'MIME-Version'); open('entity.eml','wb').write(d[i+len('MIME-Version: 1.0')+2:])"
openssl cms -sign -in entity.eml -signer user.pem -inkey user.key -out signed.eml 2>/dev/null
openssl cms -encrypt -aes256 -in entity.eml -out enveloped.eml user.pem 2>/dev/null
cd - >/dev/null

# openssl cms: N invocations for about DURATION seconds.
cli_rate() {  # cli_rate ARGS... -> ops/s (bash's clock: no process per check)
  local n=0 start=$EPOCHREALTIME end now
  end=$(awk -v s="$start" -v d="$duration" 'BEGIN {printf "%.6f", s + d}')
  now=$start
  while awk -v a="$now" -v b="$end" 'BEGIN {exit !(a < b)}'; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do openssl cms "$@" >/dev/null 2>&1; done
    n=$((n + 10))
    now=$EPOCHREALTIME
  done
  awk -v n="$n" -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.0f\n", n / (e - s)}'
}

declare -A ours theirs
for op in sign verify encrypt decrypt; do
  ours[$op]=$("$bench" --op $op --key "$work/user.key" --cert "$work/user.pem" --ca "$work/root.pem" \
              --message "$work/msg.eml" --seconds "$duration")
done
theirs[sign]=$(cli_rate -sign -in "$work/entity.eml" -signer "$work/user.pem" -inkey "$work/user.key" -out /dev/null)
theirs[verify]=$(cli_rate -verify -in "$work/signed.eml" -CAfile "$work/root.pem" -out /dev/null)
theirs[encrypt]=$(cli_rate -encrypt -aes256 -in "$work/entity.eml" -out /dev/null "$work/user.pem")
theirs[decrypt]=$(cli_rate -decrypt -in "$work/enveloped.eml" -recip "$work/user.pem" -inkey "$work/user.key" -out /dev/null)
floor=$(openssl speed -seconds "$duration" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')

printf '\n%-8s %14s %14s %18s %8s\n' op "rampart ops/s" "cpu us/op" "openssl cms ops/s" ratio
for op in sign verify encrypt decrypt; do
  rate=$(echo "${ours[$op]}" | awk '{print $3}')
  cpu=$(echo "${ours[$op]}" | awk '{print $5}')
  printf '%-8s %14s %14s %18s %8s\n' "$op" "$rate" "$cpu" "${theirs[$op]}" "$(ratio "$rate" "${theirs[$op]}")"
done
echo
echo "floor: openssl speed rsa2048: $floor private-key ops/s on one core"
for op in sign decrypt; do
  rate=$(echo "${ours[$op]}" | awk '{print $3}')
  echo "  rampart $op: $(ratio "$rate" "$floor") of the floor"
done
