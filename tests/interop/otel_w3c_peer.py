"""Interop peer for W3C Trace Context and W3C baggage: PyPI
opentelemetry-api's own propagators (TraceContextTextMapPropagator,
W3CBaggagePropagator), an implementation of both specs independent of
this crate and of the Jaeger clients.

Same JSON protocol as python_peer.py, for the format "w3c":
  {"op": "inject", "format": "w3c", "trace_id": hex, "span_id": hex,
   "parent_id": hex, "flags": int, "baggage": {...}} -> {"headers": {...}}
  {"op": "extract", "format": "w3c", "headers": {...}} -> context or {"error"}
"""

import json
import sys

from opentelemetry import baggage, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_CONTEXT = TraceContextTextMapPropagator()
BAGGAGE = W3CBaggagePropagator()


def run(case):
    if case["format"] != "w3c":
        raise ValueError(f"unknown format {case['format']}")
    if case["op"] == "inject":
        span = SpanContext(
            trace_id=int(case["trace_id"], 16),
            span_id=int(case["span_id"], 16),
            is_remote=False,
            trace_flags=TraceFlags(case["flags"] & 1),
        )
        ctx = trace.set_span_in_context(NonRecordingSpan(span))
        for k, v in case["baggage"].items():
            ctx = baggage.set_baggage(k, v, context=ctx)
        carrier = {}
        TRACE_CONTEXT.inject(carrier, context=ctx)
        BAGGAGE.inject(carrier, context=ctx)
        return {"headers": carrier}
    carrier = dict(case["headers"])
    ctx = TRACE_CONTEXT.extract(carrier)
    ctx = BAGGAGE.extract(carrier, context=ctx)
    span = trace.get_current_span(ctx).get_span_context()
    if not span.is_valid:
        return {"error": "no valid span context"}
    return {
        "trace_id": format(span.trace_id, "x"),
        "span_id": format(span.span_id, "x"),
        "parent_id": "0",
        "flags": int(span.trace_flags) & 1,
        "baggage": {k: str(v) for k, v in baggage.get_all(ctx).items()},
    }


def main():
    cases = json.load(sys.stdin)["cases"]
    results = []
    for c in cases:
        try:
            results.append(run(c))
        except Exception as e:  # reported to the test, which fails on it
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
