#!/usr/bin/env bash
# Runs benches/compare.rs (this crate and its peers, each tracer in its own
# process) and prints the tables of our/peer time ratios from criterion's
# estimates; then benches/ratio.rs, the same shapes with the tracers
# alternating in one process (the drift of the machine falls on all alike),
# which prints its own table of per-round ratios.
#   scripts/bench-compare.sh            run, then print
#   scripts/bench-compare.sh --print    print the last criterion results only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" != "--print" ]; then
  # One process per tracer, one after the other: fastrace's collector
  # buffers without bound when spans come faster than it reports, and the
  # memory it keeps would distort (or, by the OOM killer, end) the runs of
  # the tracers measured after it in the same process.
  # A tracer whose run fails (fastrace's buffering can exhaust memory and
  # be killed) leaves its rows empty; the others still run.
  for t in jaeger-tracer fastrace rustracing_jaeger opentelemetry_sdk; do
    # Earlier estimates of this tracer go first, so a killed run cannot
    # leave them in the table.
    rm -rf "$root"/target/criterion/*/"$t" "$root"/target/criterion/*/"${t}"_*
    cargo bench --bench compare -- "/${t}(/|\$)|/${t}_" ||
      echo "bench-compare: the run of ${t} failed; its missing figures show as -" >&2
  done
  ratio_table="$(cargo bench --bench ratio 2>/dev/null | sed -n '/^Application-thread CPU/,$p')" ||
    echo "bench-compare: the alternating run (benches/ratio.rs) failed" >&2
fi
python3 - "$root/target/criterion" <<'PY'
import json, os, sys
base = sys.argv[1]

def mean_ns(group, bench, param=None):
    parts = [base, group, bench] + ([str(param)] if param is not None else []) + ["new", "estimates.json"]
    path = os.path.join(*parts)
    if not os.path.exists(path):
        return None
    return json.load(open(path))["mean"]["point_estimate"]

peers = ["fastrace", "rustracing_jaeger", "opentelemetry_sdk"]
def table(prefix, title):
    rows = [(f"root + {n} children", prefix + "sampled_children", n, n) for n in (1, 10, 100, 1000)]
    if prefix == "wall_":
        rows.append(("2 threads x 100 children", "wall_two_threads", None, 100))
    print(f"\n{title}\n")
    print("| shape | jaeger-tracer ns/span | " + " | ".join(f"{p} ns/span | ours/{p}" for p in peers) + " |")
    print("|---|---:|" + "---:|---:|" * len(peers))
    for label, group, n, per in rows:
        ours = mean_ns(group, "jaeger-tracer", n)
        if ours is None:
            continue
        cells = [f"{ours / per:.1f}"]
        for p in peers:
            theirs = mean_ns(group, p, n)
            cells += ["-", "-"] if theirs is None else [f"{theirs / per:.1f}", f"{ours / theirs:.2f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")

table("", "Application-thread CPU time per sampled child span (start, 2 tags, finish):")
table("wall_", "Wall time per sampled child span (includes waiting for a core while background threads run):")
for b in ("jaeger-tracer_unsampled", "jaeger-tracer_noop"):
    v = mean_ns("start_finish", b)
    if v is not None:
        print(f"\n{b}: {v:.1f} ns per start + finish")
PY
if [ -n "${ratio_table:-}" ]; then
  printf '\n%s\n' "$ratio_table"
fi
