#!/usr/bin/env bash
# Runs the unit tests of every module with `unsafe` code under Miri, which
# checks each memory access they make (out of bounds, use after free,
# uninitialised bytes, invalid UTF-8 in a `str`, data races between the
# threads a test starts, aliasing) and fails on the first fault:
#
#   reporter::spin            the slot's spin lock (`Sync`, its guards)
#   reporter::pool            records copied into blocks, fields overwritten
#                             without a drop, the read prefetch, blocks
#                             made in place
#   reporter::queue           the two together across threads: slots
#                             filled, batched, drained, a thread exiting
#   propagation::carrier      header values taken without a second check
#   propagation::header_names a baggage header name joined on the stack
#   span_context              the `uber-trace-id` value written as ASCII
#
# (The clock's `rdtsc`, the last `unsafe` call, touches no memory.)
# Needs the nightly toolchain; Miri and the standard library's source are
# added to it here. Builds go to target/miri. About six minutes from a
# clean target; .ci/run runs it where Miri can be added.
#   scripts/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
cargo +nightly miri setup
export CARGO_TARGET_DIR=target/miri
run() {
  cargo +nightly miri test --lib -- "$@"
}
run reporter::spin
run reporter::pool
run reporter::queue
run propagation::carrier
# A header name kept for the process's life is leaked on purpose (at most
# 256 of them, reachable from a static); the tests that fill a list of
# their own leave theirs unreachable when the list drops.
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-ignore-leaks" run propagation::header_names
run span_context::tests::header_fills_its_buffer_exactly span_context::tests::display_round_trips_128_bit
