"""The JSON protocol the Python interop peers share: {"cases": [...]} on
stdin, one JSON result per case on stdout (an exception becomes
{"error": ...}, on which the test fails)."""

import json
import sys


def serve(run):
    """Answers every case on stdin with `run(case)`."""
    cases = json.load(sys.stdin)["cases"]
    results = []
    for c in cases:
        try:
            results.append(run(c))
        except Exception as e:  # reported to the test, which fails on it
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)
