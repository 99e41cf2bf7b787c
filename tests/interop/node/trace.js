// The cross-language trace peer for npm jaeger-client, the Node counterpart
// of tests/interop/go/trace.go (tests/e2e_real_jaeger.rs):
//
//   node trace.js <url> <service>
//
// A root span "node-request" with the baggage item customer calls
// <url>?backend=<its own backend URL> with its context in the request's
// headers; the backend starts "node-backend" as a child of the context it
// receives, tagged with the customer from the baggage. Spans go to the
// real Jaeger agent on 127.0.0.1:6832: this client speaks the binary Thrift
// protocol only (sent to the compact port 6831, its spans are lost without
// a word). Once the tracer is closed (its spans flushed), prints
// {"status", "trace_id", "span_id", "backend_calls"} as JSON.
'use strict';
const http = require('http');
const { initTracer } = require('jaeger-client');
const { FORMAT_HTTP_HEADERS } = require('opentracing');

const [target, service] = process.argv.slice(2);
if (!target || !service) {
  console.error('usage: node trace.js <url> <service>');
  process.exit(2);
}
const tracer = initTracer(
  {
    serviceName: service,
    sampler: { type: 'const', param: 1 },
    reporter: { agentHost: '127.0.0.1', agentPort: 6832, flushIntervalMs: 100 },
  },
  {},
);

let backendCalls = 0;
const backend = http.createServer((req, res) => {
  const parent = tracer.extract(FORMAT_HTTP_HEADERS, req.headers);
  const span = tracer.startSpan('node-backend', { childOf: parent });
  span.setTag('customer.seen', span.getBaggageItem('customer'));
  span.finish();
  backendCalls += 1;
  res.writeHead(204);
  res.end();
});

backend.listen(0, '127.0.0.1', () => {
  const root = tracer.startSpan('node-request');
  root.setBaggageItem('customer', 'ada lovelace');
  const headers = {};
  tracer.inject(root.context(), FORMAT_HTTP_HEADERS, headers);
  const backendUrl = `http://127.0.0.1:${backend.address().port}/backend`;
  const url = `${target}?backend=${encodeURIComponent(backendUrl)}`;
  http
    .get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => {
        root.finish();
        tracer.close(() => {
          backend.close();
          const ctx = root.context();
          process.stdout.write(
            JSON.stringify({
              status: res.statusCode,
              trace_id: ctx.traceIdStr.padStart(16, '0'),
              span_id: ctx.spanIdStr.padStart(16, '0'),
              backend_calls: backendCalls,
            }),
          );
        });
      });
    })
    .on('error', (e) => {
      console.error(e.message);
      process.exit(1);
    });
});
