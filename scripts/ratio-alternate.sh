#!/usr/bin/env bash
# Runs two builds of `benches/ratio.rs` in turn, pair after pair (the order
# swapped every pair), so that a slow phase of the machine falls on both
# alike, and prints the per-shape medians over each build's processes
# (scripts/ratio-table.py). Used by scripts/ab-builds.sh (two commits) and
# scripts/pgo-ratio.sh (one commit, with and without profile-guided
# optimisation).
#
#   scripts/ratio-alternate.sh LABEL_A EXE_A LABEL_B EXE_B PAIRS RUNS_FILE
#
# RATIO_ROUNDS sets the rounds per process; every row goes to RUNS_FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 6 ]; then
  echo "usage: scripts/ratio-alternate.sh LABEL_A EXE_A LABEL_B EXE_B PAIRS RUNS_FILE" >&2
  exit 2
fi
label_a="$1" exe_a="$2" label_b="$3" exe_b="$4" pairs="$5" out="$6"
: >"$out"
for i in $(seq "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
  for side in $order; do
    if [ "$side" = a ]; then exe="$exe_a" label="$label_a"; else exe="$exe_b" label="$label_b"; fi
    echo "pair $i: $label" >&2
    "$exe" --bench 2>/dev/null | grep -E '^\| (root|2 threads)' | sed "s/^/$label /" >>"$out"
  done
done
python3 scripts/ratio-table.py "$out" "$label_a" "$label_b"
