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
stop_server
start_server
sleep 1
"$load" sync --port "$eas_port" --ca "$data/tls/dev-ca.crt" --user alice --password "$(password_of alice)" \
  --server-pid "$rp_pid" --window "$window" | tee "$work/sync.txt"
stop_server
folder=$(sed -n 's/^RESULT folder=\([0-9]*\).*/\1/p' "$work/sync.txt")
"$load" floor --db "$data/rampart.db" --folder "$folder" | tee "$work/floor.txt"
s=$(sed -n 's/^RESULT .*sync_per_second=\([0-9.]*\).*/\1/p' "$work/sync.txt")
f=$(sed -n 's/^RESULT .*floor_per_second=\([0-9.]*\).*/\1/p' "$work/floor.txt")
before=$(sed -n 's/^RESULT .*rss_before_kb=\([0-9]*\).*/\1/p' "$work/sync.txt")
hwm=$(sed -n 's/^RESULT .*hwm_after_kb=\([0-9]*\).*/\1/p' "$work/sync.txt")
python3 - "$s" "$f" "$before" "$hwm" <<'PY'
import sys
s, f, b, h = (float(x) for x in sys.argv[1:])
print(f"sync {s:.0f} items/s vs floor {f:.0f} rows/s: {s/f:.3f}x of the floor (goal >= 0.5: {'met' if s/f >= 0.5 else 'NOT met'}); "
      f"server RSS before {b/1024:.1f} MB, peak (VmHWM) {h/1024:.1f} MB (+{(h-b)/1024:.1f} MB)")
PY
