#!/usr/bin/env bash
# Regenerate the committed seed corpora in fuzz/seeds/<target>/ (examples/gen_seeds.rs).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf seeds
cargo run --example gen_seeds
du -sh seeds
