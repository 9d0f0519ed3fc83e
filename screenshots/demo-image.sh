#!/usr/bin/env bash
# Build the images the screenshots show: a Python web app on Debian bookworm, built
# twice (the second build changes only app.py), with a Dockerfile written the way many
# real ones are (build tools in the final image, apt lists removed in a later layer, the
# whole context copied before the dependency install).
#
#   screenshots/demo-image.sh     # → layerlens-demo/debian:bookworm, layerlens-demo/app:1, :2
#
# Needs root (debootstrap), network access to deb.debian.org and PyPI (wheels are
# downloaded on the host and installed from the build context), and a Docker daemon.
set -euo pipefail
cd "$(dirname "$0")"
WORK=${WORK:-/tmp/layerlens-demo}
mkdir -p "$WORK"

if ! docker image inspect layerlens-demo/debian:bookworm >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian
    tar -C "$WORK/rootfs" -c . | docker import - layerlens-demo/debian:bookworm
fi

rm -rf "$WORK/app"
cp -r demo-app "$WORK/app"
pip download -q -r "$WORK/app/requirements.txt" -d "$WORK/app/wheels" \
    --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64
docker build -t layerlens-demo/app:1 "$WORK/app"
sed -i 's/"version": 1/"version": 2, "greeting": "hello"/' "$WORK/app/app.py"
docker build -t layerlens-demo/app:2 "$WORK/app"
