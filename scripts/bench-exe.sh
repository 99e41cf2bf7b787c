#!/usr/bin/env bash
# Builds one bench (not run) in the current directory with the environment
# as given (CARGO_TARGET_DIR, RUSTFLAGS) and prints its executable's path;
# when the build fails, the end of cargo's output.
#
#   scripts/bench-exe.sh ratio
set -euo pipefail
bench="$1"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! json="$(cargo bench --bench "$bench" --no-run --message-format=json 2>"$log")"; then
  echo "bench-exe: the $bench bench did not build in $PWD:" >&2
  tail -20 "$log" >&2
  exit 1
fi
exe="$(python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$bench" <<<"$json")"
if [ -z "$exe" ]; then
  echo "bench-exe: cargo built no $bench bench in $PWD" >&2
  exit 1
fi
echo "$exe"
