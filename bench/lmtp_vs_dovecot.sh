#!/usr/bin/env bash
# Durable LMTP deliveries per second: Rampart's LMTP into its SQLite store vs
# Dovecot's LMTP into Maildir, same machine, same run, same client (lmtp_load),
# same messages and concurrency. Both sync to disk before answering 250:
# Rampart commits with synchronous=FULL (WAL), Dovecot runs with mail_fsync=always.
#
#   bench/lmtp_vs_dovecot.sh [MESSAGES] [SIZE] [CONCURRENCY...]
#
# Needs the release build (cmake --preset release && cmake --build --preset release)
# and Dovecot (scripts/install-deps.sh installs dovecot-lmtpd). Prints a table
# and the ratio Rampart/Dovecot for each concurrency.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
messages="${1:-3000}"; size="${2:-4096}"; shift $(( $# > 2 ? 2 : $# )) || true
concurrencies=("$@"); [ "${#concurrencies[@]}" -gt 0 ] || concurrencies=(1 4 16 64)
rampart=build/release/src/cmd/rampart
load=build/release/bench/lmtp_load
[ -x "$rampart" ] && [ -x "$load" ] || { echo "build the release preset first" >&2; exit 2; }

work="$(mktemp -d /var/tmp/rampart-bench-XXXXXX)"   # on disk, not tmpfs: fsync must cost
chmod 755 "$work"                                     # Dovecot delivers as its own user
dv_pid=""; rp_pid=""
cleanup() {
  [ -n "$rp_pid" ] && kill "$rp_pid" 2>/dev/null || true
  dovecot -c "$work/dovecot/dovecot.conf" stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

# --- Dovecot: LMTP into Maildir, fsync always -----------------------------------
dv_port=$(port)
mkdir -p "$work/dovecot/run" "$work/dovecot/mail"
chown dovecot:dovecot "$work/dovecot/mail"
cat > "$work/dovecot/dovecot.conf" <<CONF
base_dir = $work/dovecot/run
state_dir = $work/dovecot/run/state
log_path = $work/dovecot/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
first_valid_uid = 1
mail_uid = dovecot
mail_gid = dovecot
mail_location = maildir:$work/dovecot/mail/%n/Maildir
mail_fsync = always
maildir_very_dirty_syncs = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$work/dovecot/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $dv_port
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"
wait_port "$dv_port"

# --- Rampart: LMTP into the SQLite store ------------------------------------------
rp_port=$(port)
mkdir -p "$work/rampart"
cat > "$work/rampart/server.toml" <<CONF
data_dir = "$work/rampart/data"
local_domains = ["bench.test"]
log_level = "warn"
[lmtp]
listen = "127.0.0.1:$rp_port"
max_connections = 1000
CONF
echo "bench-password" | "$rampart" admin --config "$work/rampart/server.toml" \
  user add bench --address bench@bench.test --password-stdin >/dev/null
"$rampart" server --config "$work/rampart/server.toml" 2>"$work/rampart/server.log" &
rp_pid=$!
wait_port "$rp_port"

run() {  # run PORT CONCURRENCY -> per_second
  "$load" --port "$1" --rcpt bench@bench.test --messages "$messages" --concurrency "$2" --size "$size" |
    sed -n 's/.*per_second=\([0-9.]*\).*/\1/p'
}
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# Warm up both: first deliveries create mailboxes, indexes and WAL files.
"$load" --port "$rp_port" --rcpt bench@bench.test --messages 100 --concurrency 4 --size "$size" >/dev/null
"$load" --port "$dv_port" --rcpt bench@bench.test --messages 100 --concurrency 4 --size "$size" >/dev/null

echo "LMTP durable deliveries/s, $messages messages of $size bytes, $(nproc) cores, $(date -u +%F)"
printf "%-12s %12s %12s %8s\n" concurrency rampart dovecot ratio
for c in "${concurrencies[@]}"; do
  # Warm both once, then measure; alternate order so neither always goes first.
  r=$(run "$rp_port" "$c") || true; d=$(run "$dv_port" "$c") || true
  [ -n "$r" ] && [ -n "$d" ] || { echo "a run failed (see $work)" >&2; exit 1; }
  printf "%-12s %12s %12s %8s\n" "$c" "$r" "$d" "$(python3 -c "print(f'{$r/$d:.2f}x')")"
done
echo "rampart server peak RSS: $(rss_kb "$rp_pid") kB"
