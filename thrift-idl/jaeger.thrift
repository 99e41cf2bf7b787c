// Span data model accepted by the Jaeger agent and collector.
//
// Written for this crate from the documented field ids and types of the
// Jaeger wire format; the ids and types must never change, since the agent,
// the collector and every other Jaeger client decode by them.

namespace rs jaeger

// Type of the value carried by a Tag.
enum TagType { STRING, DOUBLE, BOOL, LONG, BINARY }

// A key with one typed value; only the field named by vType is set.
struct Tag {
  1: required string  key
  2: required TagType vType
  3: optional string  vStr
  4: optional double  vDouble
  5: optional bool    vBool
  6: optional i64     vLong
  7: optional binary  vBinary
}

// A timestamped set of fields recorded during a span.
struct Log {
  1: required i64       timestamp   // microseconds since the Unix epoch
  2: required list<Tag> fields
}

// How a span relates to the span it references.
enum SpanRefType { CHILD_OF, FOLLOWS_FROM }

// A causal link from one span to another.
struct SpanRef {
  1: required SpanRefType refType
  2: required i64         traceIdLow
  3: required i64         traceIdHigh
  4: required i64         spanId
}

// One finished unit of work.
struct Span {
  1:  required i64           traceIdLow
  2:  required i64           traceIdHigh   // 0 for 64-bit trace ids
  3:  required i64           spanId
  4:  required i64           parentSpanId  // 0 for a root span
  5:  required string        operationName
  6:  optional list<SpanRef> references
  7:  required i32           flags         // sampled = 1, debug = 2, firehose = 8
  8:  required i64           startTime     // microseconds since the Unix epoch
  9:  required i64           duration      // microseconds
  10: optional list<Tag>     tags
  11: optional list<Log>     logs
  12: optional bool          incomplete
}

// The service that emitted a batch.
struct Process {
  1: required string    serviceName
  2: optional list<Tag> tags
}

// Counters a client reports about the spans it could not deliver.
struct ClientStats {
  1: required i64 fullQueueDroppedSpans
  2: required i64 tooLargeDroppedSpans
  3: required i64 failedToEmitSpans
}

// Spans of one process, sent together.
struct Batch {
  1: required Process     process
  2: required list<Span>  spans
  3: optional i64         seqNo
  4: optional ClientStats stats
}

// Answer of the collector to a batch submission.
struct BatchSubmitResponse {
  1: required bool ok
}

// Collector endpoint; over HTTP the body is a bare Batch instead.
service Collector {
  list<BatchSubmitResponse> submitBatches(1: list<Batch> batches)
}
