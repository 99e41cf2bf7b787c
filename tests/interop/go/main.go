// Interop peer: github.com/uber/jaeger-client-go's own propagators (the
// HTTP-headers propagator, with url-encoded baggage, the zipkin B3
// propagator and the binary propagator). Same JSON protocol as
// python_peer.py.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/opentracing/opentracing-go"
	jaeger "github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/zipkin"
)

type testCase struct {
	Op       string            `json:"op"`
	Format   string            `json:"format"`
	TraceID  string            `json:"trace_id"`
	SpanID   string            `json:"span_id"`
	ParentID string            `json:"parent_id"`
	Flags    int               `json:"flags"`
	Baggage  map[string]string `json:"baggage"`
	Headers  map[string]string `json:"headers"`
	Binary   string            `json:"binary"`
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "trace" {
		traceMode(os.Args[2], os.Args[3])
		return
	}
	var input struct {
		Cases []testCase `json:"cases"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b3 := zipkin.NewZipkinB3HTTPHeaderPropagator()
	tracer, closer := jaeger.NewTracer("go-peer", jaeger.NewConstSampler(true), jaeger.NewNullReporter(),
		jaeger.TracerOptions.Injector("b3", b3), jaeger.TracerOptions.Extractor("b3", b3))
	defer closer.Close()
	results := []map[string]interface{}{}
	for _, c := range input.Cases {
		results = append(results, run(tracer, c))
	}
	json.NewEncoder(os.Stdout).Encode(results)
}

func format(name string) interface{} {
	if name == "b3" {
		return "b3"
	}
	return opentracing.HTTPHeaders
}

func run(tracer opentracing.Tracer, c testCase) map[string]interface{} {
	if c.Op == "inject" {
		// The uber-trace-id string form is how the Go client builds a context
		// with arbitrary flags; it parses flags in decimal, so pass decimal.
		ctx, err := jaeger.ContextFromString(fmt.Sprintf("%s:%s:%s:%s", c.TraceID, c.SpanID, c.ParentID, strconv.Itoa(c.Flags)))
		if err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		for k, v := range c.Baggage {
			ctx = ctx.WithBaggageItem(k, v)
		}
		if c.Format == "binary" {
			var buf bytes.Buffer
			if err := tracer.Inject(ctx, opentracing.Binary, &buf); err != nil {
				return map[string]interface{}{"error": err.Error()}
			}
			return map[string]interface{}{"binary": hex.EncodeToString(buf.Bytes())}
		}
		h := http.Header{}
		if err := tracer.Inject(ctx, format(c.Format), opentracing.HTTPHeadersCarrier(h)); err != nil {
			return map[string]interface{}{"error": err.Error()}
		}
		out := map[string]string{}
		for k := range h {
			out[k] = h.Get(k)
		}
		return map[string]interface{}{"headers": out}
	}
	var sc opentracing.SpanContext
	var err error
	if c.Format == "binary" {
		raw, decodeErr := hex.DecodeString(c.Binary)
		if decodeErr != nil {
			return map[string]interface{}{"error": decodeErr.Error()}
		}
		sc, err = tracer.Extract(opentracing.Binary, bytes.NewReader(raw))
	} else {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		sc, err = tracer.Extract(format(c.Format), opentracing.HTTPHeadersCarrier(h))
	}
	if err != nil {
		return map[string]interface{}{"error": err.Error()}
	}
	ctx := sc.(jaeger.SpanContext)
	flags := 0
	if ctx.IsSampled() {
		flags |= 1
	}
	if ctx.IsDebug() {
		flags |= 2
	}
	baggage := map[string]string{}
	ctx.ForeachBaggageItem(func(k, v string) bool { baggage[k] = v; return true })
	return map[string]interface{}{
		"trace_id":  ctx.TraceID().String(),
		"span_id":   ctx.SpanID().String(),
		"parent_id": ctx.ParentID().String(),
		"flags":     flags,
		"baggage":   baggage,
	}
}
