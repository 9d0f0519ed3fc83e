#!/usr/bin/env bash
# Fuzz smoke run (CI): build every fuzz target, then run each for ${FUZZ_SECONDS:-30}
# seconds from its committed seeds. Exits non-zero on any crash, panic, timeout or OOM
# (the reproducer is left in fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
# cargo-fuzz needs nightly flags (-Zsanitizer); the stable toolchain accepts them so.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

TARGETS=(layer_stream archive layout_resolve dockerfile registry_manifest tree_rows)
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
fi

dict_for() {
    case "$1" in
        layer_stream | tree_rows) echo tar.dict ;;
        archive)
            cat tar.dict json.dict >corpus/archive.dict
            echo corpus/archive.dict
            ;;
        layout_resolve | registry_manifest) echo json.dict ;;
        dockerfile) echo dockerfile.dict ;;
    esac
}

start=$(date +%s)
cargo fuzz build
echo "fuzz build: $(($(date +%s) - start)) s"

failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    echo "---- $t: ${FUZZ_SECONDS} s"
    log="corpus/$t.log"
    # One process (-jobs=1 -workers=1 writes libFuzzer's output to fuzz-0.log).
    if (cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$FUZZ_SECONDS" -dict="$(dict_for "$t")" \
        -max_len=262144 -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 -print_final_stats=1 \
        -jobs=1 -workers=1 >/dev/null 2>&1); then
        tail -n 12 fuzz-0.log | grep -E 'Done|stat::|#[0-9]+' | tail -n 4 || true
    else
        tail -n 60 fuzz-0.log || true
        failed+=("$t")
    fi
    mv fuzz-0.log "$log" 2>/dev/null || true
done
echo "fuzz smoke: $(($(date +%s) - start)) s in all"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz smoke FAILED: ${failed[*]} (reproducers in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz smoke: all ${#TARGETS[@]} targets clean"
