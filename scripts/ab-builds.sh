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
  local sha tree
  sha="$(git rev-parse --short "$1")"
  tree="$root/target/ab/src-$sha"
  if [ ! -d "$tree" ]; then
    git worktree add --detach -f "$tree" "$sha" >/dev/null 2>&1
  fi
  (cd "$tree" && CARGO_TARGET_DIR="$root/target/ab/build-$sha" "$root/scripts/bench-exe.sh" ratio)
}

echo "building $1 and $2 (work trees and builds in target/ab/) ..." >&2
exe_a="$(build "$1")"
exe_b="$(build "$2")"
label_a="$(git rev-parse --short "$1")"
label_b="$(git rev-parse --short "$2")"

scripts/ratio-alternate.sh "$label_a" "$exe_a" "$label_b" "$exe_b" "$pairs" \
  "target/ab/runs-$label_a-$label_b.txt"
