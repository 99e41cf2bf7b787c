#!/usr/bin/env bash
# Type-checks the library and its tests for 64-bit ARM Linux, where there
# is no time-stamp counter: the clock's other path (the reference clock
# alone) and every `cfg` of the x86-64 one are compiled there. Needs
# rustup's aarch64 standard library and Debian's cross C compiler (for
# `ring`'s build script); where either cannot be installed, it says so
# and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if ! timeout 300 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
  echo "skipped: rustup cannot add the aarch64-unknown-linux-gnu target here"
  exit 0
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  timeout 300 $SUDO apt-get install -y -q gcc-aarch64-linux-gnu >/dev/null 2>&1 || true
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  echo "skipped: Debian's gcc-aarch64-linux-gnu cannot be installed here"
  exit 0
fi
CARGO_TARGET_DIR=target/aarch64 cargo check --lib --tests --all-features \
  --target aarch64-unknown-linux-gnu
echo "aarch64: the library and its tests type-check"
