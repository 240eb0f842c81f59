#!/usr/bin/env bash
# The rights server (bench/README.md, "Rights server"): use licenses issued per
# second, beside `openssl cms -sign` of the same license body in the same run.
#
#   1. In process: RightsServer::issue() from THREADS threads (the decision,
#      directory lookups, ECDH unwrap of the content key and re-wrap to the
#      reader's certificate, the ECDSA-signed use license, the log row
#      committed with synchronous=FULL on WORK_DIR's disk).
#   2. Over HTTP: the same through the server's mTLS link, THREADS keep-alive
#      connections, each request with a fresh identity assertion as the
#      gateway forwards it (bench/rights_bench.cc is the client).
#   Floor: `openssl cms -sign -nodetach -binary -md sha256` of the use
#   license's text with the licensor's key and certificate, one process per
#   signature, nproc at a time (what a script would do to sign licenses), and
#   `openssl speed ecdsap256` (one core, no process start) for the bare signature.
#
#   bench/rights_bench.sh
#
# Env: BUILD (default build/release; needs rights_bench), RUNS (median of,
# default 3), DURATION (s per run, default 5), THREADS (default 4), SIGNS
# (openssl cms -sign invocations per run, default 400), WORK_DIR (default /tmp).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${BUILD:-build/release}
runs=${RUNS:-3}
duration=${DURATION:-5}
threads=${THREADS:-4}
signs=${SIGNS:-400}
bench=$build/bench/rights_bench
[ -x "$bench" ] || { echo "build $bench first: cmake --build $build --target rights_bench" >&2; exit 2; }
work=$(mktemp -d "${WORK_DIR:-/tmp}/rampart-rights-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.*[ ]$1=\([0-9.-]*\).*/\1/p"; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }

echo "Rights server: $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
echo "rampart: $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")), HEAD $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ' + uncommitted src/ edits')"

# First start: users, certificates, licensor key; checks one license end to end.
"$bench" --dir "$work" --mode issue --duration 0.2 --warmup 0 >/dev/null 2>"$work/setup.log" ||
  { cat "$work/setup.log" >&2; exit 1; }
body=$work/use-license.txt
key=$work/data/rights/licensor.key
cert=$work/data/rights/licensor.pem

# The floor: openssl cms -sign of the same body, SIGNS processes, nproc at a time.
cms_sign() {
  python3 - "$signs" "$body" "$cert" "$key" <<'PY'
import os, resource, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
n, body, cert, key = int(sys.argv[1]), *sys.argv[2:]
cmd = ["openssl", "cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-outform", "DER",
       "-in", body, "-signer", cert, "-inkey", key, "-out", "/dev/null"]
def one(_):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
with ThreadPoolExecutor(os.cpu_count()) as pool:
    bad = sum(1 for rc in pool.map(one, range(n)) if rc != 0)
seconds = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e6 / n
print(f"RESULT rate={n / seconds:.1f} cpu_us={cpu:.1f} errors={bad}")
PY
}

echo
echo "THREADS=$threads, ${duration}s x $runs (median); floor: $signs openssl cms -sign processes, $(nproc) at a time"
i_rates=() i_cpus=() i_p50=() h_rates=() h_cpus=() h_p50=() s_rates=() s_cpus=()
for _ in $(seq "$runs"); do
  r=$("$bench" --dir "$work" --mode issue --threads "$threads" --duration "$duration" 2>>"$work/server.log")
  i_rates+=("$(field rate <<<"$r")"); i_cpus+=("$(field cpu_us_per_license <<<"$r")"); i_p50+=("$(field p50_us <<<"$r")")
  r=$("$bench" --dir "$work" --mode http --threads "$threads" --duration "$duration" 2>>"$work/server.log")
  h_rates+=("$(field rate <<<"$r")"); h_cpus+=("$(field cpu_us_per_license <<<"$r")"); h_p50+=("$(field p50_us <<<"$r")")
  errs=$(field errors <<<"$r"); [ "${errs:-0}" = 0 ] || echo "   (http errors: $errs)"
  r=$(cms_sign)
  s_rates+=("$(field rate <<<"$r")"); s_cpus+=("$(field cpu_us <<<"$r")")
done
speed=$(openssl speed -seconds 3 -elapsed ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
i_rate=$(printf '%s\n' "${i_rates[@]}" | median); i_cpu=$(printf '%s\n' "${i_cpus[@]}" | median)
h_rate=$(printf '%s\n' "${h_rates[@]}" | median); h_cpu=$(printf '%s\n' "${h_cpus[@]}" | median)
s_rate=$(printf '%s\n' "${s_rates[@]}" | median); s_cpu=$(printf '%s\n' "${s_cpus[@]}" | median)
i_lat=$(printf '%s\n' "${i_p50[@]}" | median); h_lat=$(printf '%s\n' "${h_p50[@]}" | median)
sign_us=$(python3 -c "print(f'{1e6/float(\"$speed\"):.1f}')")
printf '   RightsServer::issue   %8.0f licenses/s   %7.0f us CPU each   p50 %6.0f us\n' "$i_rate" "$i_cpu" "$i_lat"
printf '   POST /rights/license  %8.0f licenses/s   %7.0f us CPU each   p50 %6.0f us (client included)\n' "$h_rate" "$h_cpu" "$h_lat"
printf '   openssl cms -sign     %8.0f signatures/s %7.0f us CPU each (a process per signature)\n' "$s_rate" "$s_cpu"
printf '   openssl speed         %8.0f ECDSA P-256 signatures/s on one core (%s us each)\n' "$speed" "$sign_us"
echo "   issue / openssl cms -sign: $(ratio "$i_rate" "$s_rate") rate, $(ratio "$i_cpu" "$s_cpu") CPU per license"
echo "   HTTP  / openssl cms -sign: $(ratio "$h_rate" "$s_rate") rate, $(ratio "$h_cpu" "$s_cpu") CPU per license"
echo "   issue / openssl speed:     $(ratio "$i_rate" "$speed") rate, $(ratio "$i_cpu" "$sign_us") CPU per license"
