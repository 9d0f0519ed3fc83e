# Sourced by the bench scripts.

# timed COMMAND...: run it (output dropped, failures ignored: dive's CI mode exits 1 when
# its rules fail) under /usr/bin/time; prints "wall user sys maxrss_kib".
timed() {
  local tf
  tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || true
  # (time writes a line before its figures when the command fails.)
  tail -n 1 "$tf"
  rm -f "$tf"
}
