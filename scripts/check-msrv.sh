#!/usr/bin/env bash
# Builds the library, with every feature and with none, on the minimum
# supported Rust version: the `rust-version` of Cargo.toml, which the
# README states. The benches and examples are left out (their peer crates
# need a newer Rust, as the README says). Needs rustup's toolchain of that
# version; where it cannot be installed, it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)"/\1/p' Cargo.toml)
if [ -z "$msrv" ]; then
  echo "Cargo.toml states no rust-version" >&2
  exit 1
fi
if ! timeout 300 rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
  echo "skipped: rustup cannot install Rust $msrv here"
  exit 0
fi
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" build --lib --all-features
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" build --lib --no-default-features
echo "msrv: the library builds on Rust $msrv"
