// The "trace" mode (go-peer trace <url> <service>): a Go service in one
// trace with a service traced by this crate, both reporting to the real
// Jaeger agent on 127.0.0.1:6831 (tests/e2e_real_jaeger.rs).
//
// It starts a root span "go-request" with the baggage item customer, and
// calls <url>?backend=<its own backend URL> with the context in the
// request's headers. The service at <url> is expected to call the backend
// with its own span's context; the backend starts "go-backend" as a child
// of it, tagged with the customer it received. The Go tracer is closed
// (its spans flushed) before the root's ids and the answer's status are
// printed as JSON.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"

	"github.com/opentracing/opentracing-go"
	jaeger "github.com/uber/jaeger-client-go"
)

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func traceMode(target, service string) {
	transport, err := jaeger.NewUDPTransport("127.0.0.1:6831", 0)
	fail(err)
	tracer, closer := jaeger.NewTracer(service, jaeger.NewConstSampler(true),
		jaeger.NewRemoteReporter(transport))

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	fail(err)
	var backendCalls atomic.Int32
	go http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(r.Header))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		span := tracer.StartSpan("go-backend", opentracing.ChildOf(parent))
		span.SetTag("customer.seen", span.BaggageItem("customer"))
		span.Finish()
		backendCalls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))

	root := tracer.StartSpan("go-request")
	root.SetBaggageItem("customer", "ada lovelace")
	backend := "http://" + listener.Addr().String() + "/backend"
	req, err := http.NewRequest("GET", target+"?backend="+url.QueryEscape(backend), nil)
	fail(err)
	fail(tracer.Inject(root.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header)))
	resp, err := http.DefaultClient.Do(req)
	fail(err)
	resp.Body.Close()
	root.Finish()
	fail(closer.Close())

	ctx := root.Context().(jaeger.SpanContext)
	fail(json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"status":        resp.StatusCode,
		"trace_id":      fmt.Sprintf("%016x", ctx.TraceID().Low),
		"span_id":       fmt.Sprintf("%016x", uint64(ctx.SpanID())),
		"backend_calls": backendCalls.Load(),
	}))
}
