#!/usr/bin/env bash
# Initial sync of a large mailbox (bench/README.md, "EAS: initial sync"):
# MESSAGES messages of SIZE bytes delivered over LMTP, then a fresh device's
# full Sync of Inbox (SyncKey 0, then Sync while MoreAvailable, WindowSize
# WINDOW, plain-text bodies truncated to 256 bytes as the device client asks),
# timed; the server restarted before it so VmHWM covers the sync alone. The
# floor is one SQLite scan of the rows that Sync reads for those items.
#
#   bench/eas_initial_sync.sh [MESSAGES] [SIZE] [WINDOW]
#
# Env: BUILD (default build/release), WORK_DIR (default /var/tmp: on disk, the
# sync-state commits pay their fsync).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
messages=${1:-100000}; size=${2:-4096}; window=${3:-512}
build=${BUILD:-build/release}
work=$(mktemp -d "${WORK_DIR:-/var/tmp}/rampart-eas-sync-XXXXXX")
. bench/eas_common.sh
trap 'stop_server; rm -rf "$work"' EXIT
[ -x "$build/bench/lmtp_load" ] || { echo "build lmtp_load in $build first" >&2; exit 2; }

echo "EAS initial sync: $messages messages of $size bytes, WindowSize $window, $(nproc) cores (shared), $(date -u '+%F %H:%M') UTC"
init_server "device_requests_per_second = 100000" "device_burst = 100000"
start_server
t0=$(date +%s.%N)
"$build/bench/lmtp_load" --port "$lmtp_port" --rcpt alice@example.test --messages "$messages" \
  --concurrency 16 --size "$size"
echo "loaded in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s; database $(du -sh "$data/rampart.db" | cut -f1)"
# The headline sync (bodies as the device client asks: plain text cut to 256
# bytes, so the server reads and parses each message), then a diagnostic one
# with TruncationSize 0 (no body read at all); a fresh server process for each.
sync_run() {  # sync_run TRUNCATION OUTFILE
  stop_server
  start_server
  sleep 1
  if [ "${PERF:-0}" = 1 ] && [ "$1" != 0 ]; then
    perf record -F 499 -g -o "$work/perf.data" -p "$rp_pid" 2>/dev/null &
    perf_pid=$!
  fi
  "$load" sync --port "$eas_port" --ca "$data/tls/dev-ca.crt" --user alice --password "$(password_of alice)" \
    --server-pid "$rp_pid" --window "$window" --truncation "$1" | tee "$2"
  if [ -n "${perf_pid:-}" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true; perf_pid=""
    perf report -i "$work/perf.data" --no-children -g none --percent-limit 1 --stdio --sort dso,symbol \
      >"$work/perf.txt" 2>/dev/null || true
    echo "server profile during the sync (perf, self time, >= 1%):"
    grep '%' "$work/perf.txt" | sed 's/  */ /g' | cut -c1-110 | sed -n 1,30p
  fi
}
sync_run 256 "$work/sync.txt"
sync_run 0 "$work/sync0.txt"
stop_server
folder=$(sed -n 's/^RESULT folder=\([0-9]*\).*/\1/p' "$work/sync.txt")
"$load" floor --db "$data/rampart.db" --folder "$folder" | tee "$work/floor.txt"
"$load" floor --db "$data/rampart.db" --folder "$folder" --no-bytes 1 | tee "$work/floor0.txt"
get() { sed -n "s/^RESULT .*$1=\([0-9.]*\).*/\1/p" "$2"; }
python3 - "$(get sync_per_second "$work/sync.txt")" "$(get floor_per_second "$work/floor.txt")" \
  "$(get sync_per_second "$work/sync0.txt")" "$(get floor_per_second "$work/floor0.txt")" \
  "$(get rss_before_kb "$work/sync.txt")" "$(get hwm_after_kb "$work/sync.txt")" <<'PY'
import sys
s, f, s0, f0, b, h = (float(x) for x in sys.argv[1:])
print(f"sync {s:.0f} items/s vs floor {f:.0f} rows/s: {s/f:.3f}x of the floor (goal >= 0.5: {'met' if s/f >= 0.5 else 'NOT met'})")
print(f"without bodies (TruncationSize 0): sync {s0:.0f} items/s vs floor without message bytes {f0:.0f} rows/s: {s0/f0:.3f}x")
print(f"server RSS at the start of the sync {b/1024:.1f} MB, peak during it (VmHWM) {h/1024:.1f} MB (+{(h-b)/1024:.1f} MB)")
PY
