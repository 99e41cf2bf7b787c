#!/usr/bin/env bash
# Compares two commits of this crate in time, the way the noise of a small
# virtual machine allows: each commit's `benches/ratio.rs` is built in a
# work tree of its own, and the two builds' processes run in turn, pair
# after pair (the order swapped every pair), so that a slow phase of the
# machine falls on both alike. Each process alternates this crate with its
# peers round by round; what is compared is, per shape, the median over a
# build's processes of its per-process medians of ours / rustracing_jaeger
# (a ratio within a process cancels most of the drift), and of ours in ns.
#
#   scripts/ab-builds.sh A B [pairs]     e.g. scripts/ab-builds.sh 2a0a220 HEAD 6
#
# RATIO_ROUNDS (default 5) sets the rounds per process. The builds are kept
# in target/ab/ (each in a target directory of its own: one shared by two
# work trees would take one tree's build for the other's, the dependency
# files naming sources by paths relative to the tree).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ $# -lt 2 ]; then
  echo "usage: scripts/ab-builds.sh A B [pairs]" >&2
  exit 2
fi
pairs="${3:-4}"
export RATIO_ROUNDS="${RATIO_ROUNDS:-5}"
mkdir -p target/ab
# (Work trees of an earlier run whose directories are gone, after a
# `cargo clean`, are forgotten first.)
git worktree prune

build() { # commit -> path of its ratio bench binary, on stdout
  local sha tree exe
  sha="$(git rev-parse --short "$1")"
  tree="$root/target/ab/src-$sha"
  if [ ! -d "$tree" ]; then
    git worktree add --detach -f "$tree" "$sha" >/dev/null 2>&1
  fi
  exe="$(cd "$tree" && CARGO_TARGET_DIR="$root/target/ab/build-$sha" \
    cargo bench --bench ratio --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "ratio":
        print(m["executable"])')"
  if [ -z "$exe" ]; then
    echo "ab-builds: the ratio bench of $sha did not build" >&2
    exit 1
  fi
  echo "$exe"
}

echo "building $1 and $2 (work trees and builds in target/ab/) ..." >&2
exe_a="$(build "$1")"
exe_b="$(build "$2")"
label_a="$(git rev-parse --short "$1")"
label_b="$(git rev-parse --short "$2")"

out="target/ab/runs-$label_a-$label_b.txt"
: >"$out"
for i in $(seq "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
  for side in $order; do
    if [ "$side" = a ]; then exe="$exe_a" label="$label_a"; else exe="$exe_b" label="$label_b"; fi
    echo "pair $i: $label" >&2
    "$exe" --bench 2>/dev/null | grep -E '^\| (root|2 threads)' | sed "s/^/$label /" >>"$out"
  done
done

python3 - "$out" "$label_a" "$label_b" <<'PY'
import sys, statistics
path, a, b = sys.argv[1:4]
runs = {}  # (label, shape) -> [(ours ns, ours/rustracing median)]
shapes = []
for line in open(path):
    label, rest = line.split(" ", 1)
    cells = [c.strip() for c in rest.strip().strip("|").split("|")]
    shape, ours, ratio = cells[0], float(cells[1]), float(cells[3].split()[0])
    if shape not in shapes:
        shapes.append(shape)
    runs.setdefault((label, shape), []).append((ours, ratio))
print(f"\nMedians over each build's processes (per process: the median of its rounds), RATIO_ROUNDS per process as set:\n")
print(f"| shape | {a} ours ns | {b} ours ns | {a} ours/rustracing | {b} ours/rustracing |")
print("|---|---:|---:|---:|---:|")
for s in shapes:
    ra, rb = runs.get((a, s), []), runs.get((b, s), [])
    med = lambda xs, i: statistics.median(x[i] for x in xs) if xs else float("nan")
    print(f"| {s} | {med(ra, 0):.0f} | {med(rb, 0):.0f} | {med(ra, 1):.3f} | {med(rb, 1):.3f} |")
print(f"\n{len(runs.get((a, shapes[0]), []))} processes of {a}, {len(runs.get((b, shapes[0]), []))} of {b}; every row: {path}")
PY
