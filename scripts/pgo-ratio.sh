#!/usr/bin/env bash
# What profile-guided optimisation (rustc's -Cprofile-generate /
# -Cprofile-use) does to the alternating comparison of `benches/ratio.rs`.
# PGO is the application's choice, made when it builds its binary: here the
# whole bench binary (this crate, its peers and the harness) is built
# instrumented, trained by one run of the bench itself, rebuilt with the
# profile, and its processes alternated with the plain build's
# (scripts/ratio-alternate.sh) so that a slow phase of the machine falls on
# both alike. Every tracer in the binary gets the same profile.
#
#   scripts/pgo-ratio.sh [pairs]       (default 4; RATIO_ROUNDS default 5)
#
# llvm-profdata comes from rustup's llvm-tools component (added if
# missing). Builds and profiles go to target/pgo/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
pairs="${1:-4}"
export RATIO_ROUNDS="${RATIO_ROUNDS:-5}"
pgo="$root/target/pgo"
mkdir -p "$pgo"

profdata="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
  rustup component add llvm-tools >&2
fi

echo "pgo-ratio: building the plain bench ..." >&2
plain="$(CARGO_TARGET_DIR="$pgo/plain" scripts/bench-exe.sh ratio)"

echo "pgo-ratio: building the instrumented bench and training it (one run) ..." >&2
rm -rf "$pgo/profiles"
instrumented="$(CARGO_TARGET_DIR="$pgo/instrumented" \
  RUSTFLAGS="-Cprofile-generate=$pgo/profiles" scripts/bench-exe.sh ratio)"
RATIO_ROUNDS=3 "$instrumented" --bench >"$pgo/training.txt" 2>&1
"$profdata" merge -o "$pgo/merged.profdata" "$pgo/profiles"

echo "pgo-ratio: building the bench with the profile ..." >&2
optimised="$(CARGO_TARGET_DIR="$pgo/optimised" \
  RUSTFLAGS="-Cprofile-use=$pgo/merged.profdata" \
  scripts/bench-exe.sh ratio)"

scripts/ratio-alternate.sh plain "$plain" pgo "$optimised" "$pairs" "$pgo/runs.txt"
