"""Decodes agent datagrams with the official generated code of PyPI
jaeger-client (jaeger_client.thrift_gen) and prints them as JSON.

Usage: decode_agent_datagrams.py compact|binary FILE...
Each FILE holds one datagram. Exits non-zero when a datagram is not a
well-formed emitBatch oneway call or has bytes left over.
"""

import json
import sys

from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TMessageType
from thrift.transport import TTransport

from jaeger_client.thrift_gen.agent import Agent


def binary_hex(v):
    # The generated code reads `binary` as a UTF-8 string; undo that.
    if v is None:
        return None
    return (v.encode("utf-8") if isinstance(v, str) else v).hex()


def tag_json(t):
    return {
        "key": t.key,
        "vType": t.vType,
        "vStr": t.vStr,
        "vDouble": t.vDouble,
        "vBool": t.vBool,
        "vLong": t.vLong,
        "vBinary": binary_hex(t.vBinary),
    }


def tags_json(tags):
    return None if tags is None else [tag_json(t) for t in tags]


def span_json(s):
    return {
        "traceIdLow": s.traceIdLow,
        "traceIdHigh": s.traceIdHigh,
        "spanId": s.spanId,
        "parentSpanId": s.parentSpanId,
        "operationName": s.operationName,
        "references": None
        if s.references is None
        else [
            {"refType": r.refType, "traceIdLow": r.traceIdLow, "traceIdHigh": r.traceIdHigh, "spanId": r.spanId}
            for r in s.references
        ],
        "flags": s.flags,
        "startTime": s.startTime,
        "duration": s.duration,
        "tags": tags_json(s.tags),
        "logs": None if s.logs is None else [{"timestamp": l.timestamp, "fields": tags_json(l.fields)} for l in s.logs],
    }


def decode(data, compact):
    trans = TTransport.TMemoryBuffer(data)
    proto = TCompactProtocol.TCompactProtocol(trans) if compact else TBinaryProtocol.TBinaryProtocol(trans)
    name, mtype, _seqid = proto.readMessageBegin()
    if name != "emitBatch" or mtype != TMessageType.ONEWAY:
        raise SystemExit(f"not an emitBatch oneway call: {name!r} type {mtype}")
    args = Agent.emitBatch_args()
    args.read(proto)
    proto.readMessageEnd()
    left = len(data) - trans._buffer.tell()
    if left:
        raise SystemExit(f"{left} bytes left over after the message")
    b = args.batch
    # This thrift_gen predates Batch.seqNo and Batch.stats: it skips them as
    # unknown fields, so they are not reported.
    return {
        "process": {"serviceName": b.process.serviceName, "tags": tags_json(b.process.tags)},
        "spans": [span_json(s) for s in b.spans],
    }


def main():
    compact = sys.argv[1] == "compact"
    out = []
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            out.append(decode(f.read(), compact))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
