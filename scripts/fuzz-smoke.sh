#!/usr/bin/env bash
# fuzz-smoke.sh BINARY CORPUS_DIR SECONDS
# Runs a libFuzzer target for SECONDS from a copy of its seed corpus (the repo's
# corpus is never modified). Exit status: libFuzzer's (non-zero on a crash).
set -euo pipefail
bin="$(realpath -m "$1")"; corpus="$(realpath -m "$2")"; seconds="${3:-20}"
if [ ! -x "$bin" ]; then
  echo "fuzz-smoke: $bin is missing: build it with 'cmake --preset fuzz && cmake --build --preset fuzz --target fuzz-all'" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
  echo "fuzz-smoke: no seed corpus in $corpus" >&2
  exit 1
fi
cp -r "$corpus"/. "$work/corpus"/
cd "$work"
set +e
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
set -e
# A finding must survive the temporary directory: print each input that
# crashed, leaked or timed out in base64 (the CI log keeps it), and keep a
# copy in $FUZZ_ARTIFACTS when set.
for f in crash-* leak-* timeout-* oom-*; do
  [ -e "$f" ] || continue
  echo "fuzz-smoke: $(basename "$bin") input $f (base64):"
  base64 -w 76 "$f"
  if [ -n "${FUZZ_ARTIFACTS:-}" ]; then mkdir -p "$FUZZ_ARTIFACTS" && cp "$f" "$FUZZ_ARTIFACTS/$(basename "$bin")-$f"; fi
done
exit "$status"
