"""Summarises alternated processes of two builds' `benches/ratio.rs`
(scripts/ab-builds.sh, scripts/pgo-ratio.sh): per shape, the median over
each build's processes of its per-process medians of ours in ns and of
ours / rustracing_jaeger.

  python3 scripts/ratio-table.py <runs file> <label A> <label B>

Each line of the runs file is a build's label and a table row of the
bench's first table.
"""
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
