#!/usr/bin/env bash
# Type-checks the library for macOS (x86_64-apple-darwin, with its tests)
# and Windows (x86_64-pc-windows-gnu), where there is no time-stamp counter
# clock and, on Windows, no libc: every `cfg` for those systems is
# compiled. No cross toolchain is needed: `ring`'s build script is given a
# stand-in C compiler that answers cc-rs's probe as gcc and writes empty
# objects, which a type-check never links. Needs rustup's standard library
# for both targets; where rustup cannot add them, it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/xcheck
mkdir -p "$CARGO_TARGET_DIR"
fake_cc="$PWD/$CARGO_TARGET_DIR/stand-in-cc"
cat >"$fake_cc" <<'EOF'
#!/bin/sh
# A stand-in C compiler for type-checks: cc-rs's family probe (-E) gets
# gcc's answer, its cl-style probe (-?) a refusal; a compile writes an
# empty object.
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -E) echo '"gcc"'; exit 0 ;;
    -\?) exit 1 ;;
    -o) out="$2"; shift ;;
  esac
  shift
done
if [ -n "$out" ]; then : >"$out"; fi
exit 0
EOF
chmod +x "$fake_cc"
for target in x86_64-apple-darwin x86_64-pc-windows-gnu; do
  if ! timeout 300 rustup target add "$target" >/dev/null 2>&1; then
    echo "skipped: rustup cannot add the $target target here"
    continue
  fi
  var="${target//-/_}"
  what="--lib" said="the library type-checks"
  # The tests' helpers use Unix sockets' options: they build on macOS.
  if [ "$target" = x86_64-apple-darwin ]; then
    what="--lib --tests" said="the library and its tests type-check"
  fi
  # shellcheck disable=SC2086
  env "CC_$var=$fake_cc" "AR_$var=ar" RUSTFLAGS="-D warnings" \
    cargo check $what --all-features --target "$target"
  echo "$target: $said"
done
