"""Interop peer: PyPI jaeger-client's own codecs (TextCodec with url
encoding, as for HTTP headers; B3Codec; BinaryCodec).

Reads {"cases": [...]} on stdin and prints one JSON result per case:
  {"op": "inject", "format": F, "trace_id": hex, "span_id": hex,
   "parent_id": hex, "flags": int, "baggage": {...}} -> {"headers": {...}}
  {"op": "extract", "format": F, "headers": {...}}    -> context or {"error"}
The binary format carries hex instead of headers: {"binary": "..."}.
"""

from jaeger_client.codecs import B3Codec, BinaryCodec, TextCodec
from jaeger_client.span_context import SpanContext
from peer_protocol import serve

CODECS = {
    "jaeger": TextCodec(url_encoding=True),
    "b3": B3Codec(generate_128bit_trace_id=False),
    "binary": BinaryCodec(),
}


def run(case):
    codec = CODECS[case["format"]]
    if case["op"] == "inject":
        ctx = SpanContext(
            trace_id=int(case["trace_id"], 16),
            span_id=int(case["span_id"], 16),
            parent_id=int(case["parent_id"], 16),
            flags=case["flags"],
            baggage=case["baggage"],
        )
        if case["format"] == "binary":
            carrier = bytearray()
            codec.inject(ctx, carrier)
            return {"binary": carrier.hex()}
        carrier = {}
        codec.inject(ctx, carrier)
        return {"headers": carrier}
    if case["format"] == "binary":
        ctx = codec.extract(bytearray.fromhex(case["binary"]))
    else:
        ctx = codec.extract(dict(case["headers"]))
    if ctx is None:
        return {"error": "no context"}
    return {
        "trace_id": format(ctx.trace_id, "x"),
        "span_id": format(ctx.span_id, "x"),
        "parent_id": format(ctx.parent_id or 0, "x"),
        "flags": ctx.flags,
        "baggage": dict(ctx.baggage or {}),
    }


if __name__ == "__main__":
    serve(run)
