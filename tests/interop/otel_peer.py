"""Interop peer: OpenTelemetry's Python propagators, implementations of
the specs independent of this crate and of the Jaeger clients: PyPI
opentelemetry-api's TraceContextTextMapPropagator and W3CBaggagePropagator
(format "w3c"), opentelemetry-propagator-b3's B3MultiFormat ("b3") and
B3SingleFormat ("b3single"), which carry no baggage, and
opentelemetry-propagator-jaeger's JaegerPropagator ("jaeger", with its
uberctx- baggage).

Same JSON protocol as python_peer.py:
  {"op": "inject", "format": F, "trace_id": hex, "span_id": hex,
   "parent_id": hex, "flags": int, "baggage": {...}} -> {"headers": {...}}
  {"op": "extract", "format": F, "headers": {...}} -> context or {"error"}
"""

from opentelemetry import baggage, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.jaeger import JaegerPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from peer_protocol import serve

BAGGAGE = W3CBaggagePropagator()
# Each format's trace propagator; W3C baggage goes with "w3c" alone (the
# Jaeger propagator carries its own).
TRACE = {
    "w3c": TraceContextTextMapPropagator(),
    "b3": B3MultiFormat(),
    "b3single": B3SingleFormat(),
    "jaeger": JaegerPropagator(),
}


def run(case):
    trace_propagator = TRACE[case["format"]]
    with_baggage = case["format"] == "w3c"
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
        trace_propagator.inject(carrier, context=ctx)
        if with_baggage:
            BAGGAGE.inject(carrier, context=ctx)
        return {"headers": carrier}
    carrier = dict(case["headers"])
    ctx = trace_propagator.extract(carrier)
    if with_baggage:
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


if __name__ == "__main__":
    serve(run)
