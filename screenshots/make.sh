#!/usr/bin/env bash
# Regenerate the PNG screenshots in screenshots/ from the real program.
#
#   screenshots/make.sh            # all screens
#   screenshots/make.sh help diff  # only some (names as in SCREENS below)
#
# Each screen: run target/release/layerlens in a private tmux server (socket
# "shots", 160x45, no status line), drive it with send-keys, capture the pane with
# its colour escapes, and render that to PNG with screenshots/render.py (Pillow +
# DejaVu Sans Mono). The raw captures are kept in target/screenshots/*.ansi.
#
# Needs: tmux, python3 (+ Pillow, installed with pip if missing), a DejaVu font
# (fonts-dejavu-core, installed with apt-get if missing and possible; otherwise
# PIL's built-in font), and a Docker daemon holding the demo images
# layerlens-demo/app:1 and :2 (built by screenshots/demo-image.sh: a Python web app on
# Debian, its Dockerfile in screenshots/demo-app/).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=./target/release/layerlens
OUT=screenshots
RAW=target/screenshots
COLS=160
ROWS=45
KEY_DELAY=${KEY_DELAY:-0.4}
LOAD_DELAY=${LOAD_DELAY:-1.2}
SOCK=shots
TMUX_CMD=(tmux -L "$SOCK" -f "$RAW/tmux.conf")

# ---------------------------------------------------------------- prerequisites
command -v tmux >/dev/null || { echo "make.sh: tmux is required" >&2; exit 1; }
python3 -c 'import PIL' 2>/dev/null || python3 -m pip install --quiet pillow || pip install --quiet pillow
if ! ls /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq fonts-dejavu-core >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-dejavu-core >/dev/null 2>&1; } ||
            echo "make.sh: could not install fonts-dejavu-core; using PIL's default font" >&2
    else
        echo "make.sh: DejaVu Sans Mono missing; using PIL's default font" >&2
    fi
fi
[ -x "$BIN" ] || cargo build --release

mkdir -p "$RAW"
cat >"$RAW/tmux.conf" <<'EOF'
set -g status off
set -g default-terminal "tmux-256color"
set -g remain-on-exit on
set -g escape-time 0
set -g history-limit 100
EOF

cleanup() { "${TMUX_CMD[@]}" kill-server 2>/dev/null || true; }
trap cleanup EXIT
cleanup  # a server left over from an interrupted run

A=layerlens-demo/app:1
B=layerlens-demo/app:2
docker image inspect "$A" "$B" >/dev/null 2>&1 || {
    echo "make.sh: the demo images are missing: run screenshots/demo-image.sh first" >&2
    exit 1
}

# ---------------------------------------------------------------- helpers
# start NAME CMD...: run CMD (in the repo root) in a fresh 160x45 session.
start() {
    local name=$1; shift
    "${TMUX_CMD[@]}" kill-session -t "$name" 2>/dev/null || true
    # Default theme and keys whatever the local config says: no NO_COLOR, and the
    # config is looked up at a path that does not exist (shown as such in help).
    "${TMUX_CMD[@]}" new-session -d -x "$COLS" -y "$ROWS" -s "$name" -c "$PWD" \
        "env -u NO_COLOR -u LAYERLENS_CONFIG XDG_CONFIG_HOME=/home/user/.config $*"
    sleep "$LOAD_DELAY"
    settle "$name"
}

# settle NAME: wait until the screen stops changing (a load finished), at most ~10 s.
settle() {
    local name=$1 prev="" cur i
    for ((i = 0; i < 40; i++)); do
        cur=$("${TMUX_CMD[@]}" capture-pane -p -t "$name" 2>/dev/null || true)
        [ -n "$prev" ] && [ "$cur" = "$prev" ] && return 0
        prev=$cur
        sleep 0.25
    done
}

# keys NAME KEY...: send tmux key names one at a time (Escape never followed at
# once by another key, so it is not read as Alt-<key>).
keys() {
    local name=$1; shift
    for k in "$@"; do
        "${TMUX_CMD[@]}" send-keys -t "$name" "$k"
        sleep "$KEY_DELAY"
    done
}

# type NAME TEXT: type TEXT literally, one character at a time.
type_text() {
    local name=$1 text=$2 i
    for ((i = 0; i < ${#text}; i++)); do
        "${TMUX_CMD[@]}" send-keys -t "$name" -l "${text:i:1}"
        sleep 0.08
    done
    sleep "$KEY_DELAY"
}

# shot NAME FILE: capture the pane with colours and render FILE.png.
shot() {
    local name=$1 file=$2
    sleep 0.3
    settle "$name"
    if [ "$("${TMUX_CMD[@]}" display-message -p -t "$name" '#{pane_dead}')" = 1 ]; then
        echo "make.sh: layerlens exited early in screen '$file':" >&2
        "${TMUX_CMD[@]}" capture-pane -p -t "$name" | sed '/^$/d' >&2
        exit 1
    fi
    "${TMUX_CMD[@]}" capture-pane -e -p -t "$name" >"$RAW/$file.ansi"
    python3 screenshots/render.py --cols "$COLS" --rows "$ROWS" "$RAW/$file.ansi" "$OUT/$file.png"
    "${TMUX_CMD[@]}" kill-session -t "$name" 2>/dev/null || true
    echo "  $OUT/$file.png"
}

APP="$BIN --daemon-read storage $A"

# ---------------------------------------------------------------- screens
# The layers of app:1: 0 base (imported), 1 RUN apt-get, 2 WORKDIR, 3 COPY . ., 4 RUN pip
# install, 5 RUN rm -rf (then ENV, EXPOSE, CMD rows that make no layer).
screen_picker() {
    start picker "$BIN"
    type_text picker layerlens-demo       # only the demo images, not whatever else is local
    shot picker picker
}

screen_explorer() {
    start explorer "$APP"
    keys explorer j                        # layer 1: the apt-get layer
    shot explorer explorer
}

screen_changes() {
    start changes "$APP"
    keys changes j j j j j Tab c           # layer 5 (the cleanup), files pane, changes only
    shot changes changes
}

screen_filter() {
    start filter "$APP"
    keys filter j j j j                    # layer 4: pip install
    keys filter f
    type_text filter flask
    keys filter Enter
    shot filter filter
}

screen_preview() {
    start preview "$APP"
    keys preview Tab /
    type_text preview app.py
    keys preview Enter Enter               # jump to /app/app.py, preview it
    shot preview preview
}

screen_dockerfile() {
    start dockerfile "$APP --dockerfile screenshots/demo-app/Dockerfile"
    sleep 2                                # the advice arrives after the analysis
    keys dockerfile j j j j                # layer 4: pip install, its line highlighted
    shot dockerfile dockerfile
}

screen_help() {
    start help "$APP"
    keys help '?'
    shot help help
}

screen_diff() {
    start diff "$BIN diff $A $B"
    shot diff diff
}

screen_diff_preview() {
    start diffp "$BIN diff $A $B"
    keys diffp Tab Enter                   # files pane, the changed file: unified diff
    shot diffp diff-preview
}

SCREENS=(picker explorer changes filter preview dockerfile help diff diff-preview)
[ $# -gt 0 ] && SCREENS=("$@")
echo "make.sh: rendering ${#SCREENS[@]} screen(s) at ${COLS}x${ROWS}"
for s in "${SCREENS[@]}"; do
    "screen_${s//-/_}"
done
