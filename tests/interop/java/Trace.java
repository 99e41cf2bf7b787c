// The cross-language trace peer for Maven io.jaegertracing:jaeger-client,
// the Java counterpart of tests/interop/go/trace.go (tests/e2e_real_jaeger.rs):
//
//   java -cp target/classes:target/lib/* Trace <url> <service>
//
// A root span "java-request" with the baggage item customer calls
// <url>?backend=<its own backend URL> with its context in the request's
// headers; the backend starts "java-backend" as a child of the context it
// receives, tagged with the customer from the baggage. Spans go to the
// real Jaeger agent on 127.0.0.1:6831 (compact Thrift over UDP). Once the
// tracer is closed (its spans flushed), prints {"status", "trace_id",
// "span_id", "backend_calls"} as JSON.

import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpServer;
import io.jaegertracing.internal.JaegerSpan;
import io.jaegertracing.internal.JaegerSpanContext;
import io.jaegertracing.internal.JaegerTracer;
import io.jaegertracing.internal.reporters.RemoteReporter;
import io.jaegertracing.internal.samplers.ConstSampler;
import io.jaegertracing.thrift.internal.senders.UdpSender;
import io.opentracing.SpanContext;
import io.opentracing.propagation.Format;
import io.opentracing.propagation.TextMapAdapter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

public class Trace {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Trace <url> <service>");
            System.exit(2);
        }
        String target = args[0];
        JaegerTracer tracer = new JaegerTracer.Builder(args[1])
            .withSampler(new ConstSampler(true))
            .withReporter(new RemoteReporter.Builder()
                .withSender(new UdpSender("127.0.0.1", 6831, 0))
                .withFlushInterval(100)
                .build())
            .build();

        AtomicInteger backendCalls = new AtomicInteger();
        HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        backend.createContext("/backend", exchange -> {
            Map<String, String> headers = new HashMap<>();
            for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
                headers.put(h.getKey().toLowerCase(), h.getValue().get(0));
            }
            SpanContext parent = tracer.extract(Format.Builtin.HTTP_HEADERS, new TextMapAdapter(headers));
            JaegerSpan span = tracer.buildSpan("java-backend").asChildOf(parent).start();
            span.setTag("customer.seen", span.getBaggageItem("customer"));
            span.finish();
            backendCalls.incrementAndGet();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        backend.start();

        JaegerSpan root = tracer.buildSpan("java-request").start();
        root.setBaggageItem("customer", "ada lovelace");
        Map<String, String> headers = new HashMap<>();
        tracer.inject(root.context(), Format.Builtin.HTTP_HEADERS, new TextMapAdapter(headers));
        String backendUrl = "http://127.0.0.1:" + backend.getAddress().getPort() + "/backend";
        HttpRequest.Builder request = HttpRequest.newBuilder(
            URI.create(target + "?backend=" + URLEncoder.encode(backendUrl, StandardCharsets.UTF_8)));
        headers.forEach(request::header);
        HttpResponse<Void> answer = HttpClient.newHttpClient()
            .send(request.build(), HttpResponse.BodyHandlers.discarding());
        root.finish();
        tracer.close();
        backend.stop(0);

        JaegerSpanContext ctx = root.context();
        JsonObject out = new JsonObject();
        out.addProperty("status", answer.statusCode());
        out.addProperty("trace_id", String.format("%016x", ctx.getTraceIdLow()));
        out.addProperty("span_id", String.format("%016x", ctx.getSpanId()));
        out.addProperty("backend_calls", backendCalls.get());
        System.out.print(out);
    }
}
