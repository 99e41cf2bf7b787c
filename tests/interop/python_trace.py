"""The cross-language trace peer for PyPI jaeger-client, the Python
counterpart of tests/interop/go/trace.go (tests/e2e_real_jaeger.rs):

  python3 python_trace.py <url> <service>

A root span "python-request" with the baggage item customer calls
<url>?backend=<its own backend URL> with its context in the request's
headers; the backend starts "python-backend" as a child of the context it
receives, tagged with the customer from the baggage. Spans go to the real
Jaeger agent on 127.0.0.1:6831 (compact Thrift over UDP). Once the
reporter has flushed, prints {"status", "trace_id", "span_id",
"backend_calls"} as JSON.
"""

import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jaeger_client import Config
from opentracing import Format


def main(target, service):
    tracer = Config(
        config={
            "sampler": {"type": "const", "param": 1},
            "local_agent": {"reporting_host": "127.0.0.1", "reporting_port": 6831},
            "reporter_flush_interval": 0.1,
        },
        service_name=service,
        validate=True,
    ).initialize_tracer()
    calls = []

    class Backend(BaseHTTPRequestHandler):
        def do_GET(self):
            parent = tracer.extract(Format.HTTP_HEADERS, dict(self.headers))
            span = tracer.start_span("python-backend", child_of=parent)
            span.set_tag("customer.seen", span.get_baggage_item("customer"))
            span.finish()
            calls.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    root = tracer.start_span("python-request")
    root.set_baggage_item("customer", "ada lovelace")
    backend = "http://127.0.0.1:%d/backend" % server.server_address[1]
    headers = {}
    tracer.inject(root.context, Format.HTTP_HEADERS, headers)
    request = urllib.request.Request(
        target + "?backend=" + urllib.parse.quote(backend, safe=""), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as e:
        status = e.code
    root.finish()

    flushed = tracer.close()
    deadline = time.monotonic() + 10
    while not flushed.done():
        if time.monotonic() > deadline:
            sys.exit("the jaeger-client reporter did not flush within 10 s")
        time.sleep(0.02)
    server.shutdown()
    json.dump(
        {
            "status": status,
            "trace_id": "%016x" % root.trace_id,
            "span_id": "%016x" % root.span_id,
            "backend_calls": len(calls),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
