// Interop peer: npm jaeger-client's own codecs (TextMapCodec with url
// encoding, as for HTTP headers; ZipkinB3TextMapCodec with the `baggage-`
// prefix the other clients' B3 codecs use). Same JSON protocol as
// python_peer.py.
'use strict';
const { SpanContext, TextMapCodec, ZipkinB3TextMapCodec } = require('jaeger-client');

const codecs = {
  jaeger: new TextMapCodec({ urlEncoding: true, contextKey: 'uber-trace-id', baggagePrefix: 'uberctx-' }),
  b3: new ZipkinB3TextMapCodec({ urlEncoding: true, baggagePrefix: 'baggage-' }),
};

function run(c) {
  const codec = codecs[c.format];
  if (c.op === 'inject') {
    const ctx = SpanContext.withStringIds(c.trace_id, c.span_id, c.parent_id, c.flags, Object.assign({}, c.baggage));
    const carrier = {};
    codec.inject(ctx, carrier);
    return { headers: carrier };
  }
  const ctx = codec.extract(Object.assign({}, c.headers));
  if (!ctx || !ctx.traceIdStr) {
    return { error: 'no context' };
  }
  return {
    trace_id: ctx.traceIdStr,
    span_id: ctx.spanIdStr,
    parent_id: ctx.parentIdStr || '0',
    flags: ctx.flags,
    baggage: ctx.baggage || {},
  };
}

let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const results = JSON.parse(input).cases.map((c) => {
    try {
      return run(c);
    } catch (e) {
      return { error: String(e) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
