// Interop peer: Maven io.jaegertracing:jaeger-client's own codecs
// (TextMapCodec with url encoding, B3TextMapCodec, TraceContextCodec,
// BinaryCodec).
// Same JSON protocol as python_peer.py.

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.jaegertracing.internal.JaegerSpanContext;
import io.jaegertracing.internal.propagation.B3TextMapCodec;
import io.jaegertracing.internal.propagation.BinaryCodec;
import io.jaegertracing.internal.propagation.TextMapCodec;
import io.jaegertracing.internal.propagation.TraceContextCodec;
import io.jaegertracing.spi.Codec;
import io.opentracing.propagation.Binary;
import io.opentracing.propagation.TextMap;
import io.opentracing.propagation.TextMapAdapter;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

public class Peer {
    static Codec<TextMap> codec(String format) {
        switch (format) {
            case "jaeger": return new TextMapCodec.Builder().withUrlEncoding(true).build();
            case "b3": return new B3TextMapCodec.Builder().build();
            case "w3c": return new TraceContextCodec.Builder().build();
            default: throw new IllegalArgumentException("unknown format " + format);
        }
    }

    /** A binary carrier: the buffer the codec asks for, or the bytes given. */
    static class Bytes implements Binary {
        ByteBuffer buf;

        Bytes(ByteBuffer buf) {
            this.buf = buf;
        }

        public ByteBuffer injectionBuffer(int length) {
            buf = ByteBuffer.allocate(length);
            return buf;
        }

        public ByteBuffer extractionBuffer() {
            return buf;
        }
    }

    static String toHex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    static byte[] fromHex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    static long hex(String s) {
        return new BigInteger(s, 16).longValue();
    }

    static JsonObject run(JsonObject c) {
        boolean binary = c.get("format").getAsString().equals("binary");
        Codec<TextMap> codec = binary ? null : codec(c.get("format").getAsString());
        BinaryCodec binaryCodec = new BinaryCodec();
        JsonObject out = new JsonObject();
        if (c.get("op").getAsString().equals("inject")) {
            String trace = c.get("trace_id").getAsString();
            BigInteger t = new BigInteger(trace, 16);
            JaegerSpanContext ctx = new JaegerSpanContext(
                t.shiftRight(64).longValue(), t.longValue(),
                hex(c.get("span_id").getAsString()), hex(c.get("parent_id").getAsString()),
                (byte) c.get("flags").getAsInt());
            Map<String, String> baggage = new HashMap<>();
            for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("baggage").entrySet()) {
                baggage.put(e.getKey(), e.getValue().getAsString());
            }
            ctx = ctx.withBaggage(baggage);
            if (binary) {
                Bytes carrier = new Bytes(null);
                binaryCodec.inject(ctx, carrier);
                out.addProperty("binary", toHex(carrier.buf.array()));
                return out;
            }
            Map<String, String> carrier = new HashMap<>();
            codec.inject(ctx, new TextMapAdapter(carrier));
            out.add("headers", new Gson().toJsonTree(carrier));
            return out;
        }
        JaegerSpanContext ctx;
        if (binary) {
            ctx = binaryCodec.extract(new Bytes(ByteBuffer.wrap(fromHex(c.get("binary").getAsString()))));
        } else {
            Map<String, String> carrier = new HashMap<>();
            for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("headers").entrySet()) {
                carrier.put(e.getKey(), e.getValue().getAsString());
            }
            ctx = codec.extract(new TextMapAdapter(carrier));
        }
        if (ctx == null) {
            out.addProperty("error", "no context");
            return out;
        }
        out.addProperty("trace_id", ctx.getTraceId());
        out.addProperty("span_id", Long.toHexString(ctx.getSpanId()));
        out.addProperty("parent_id", Long.toHexString(ctx.getParentId()));
        out.addProperty("flags", ctx.getFlags() & 0xff);
        JsonObject baggage = new JsonObject();
        for (Map.Entry<String, String> e : ctx.baggageItems()) {
            baggage.addProperty(e.getKey(), e.getValue());
        }
        out.add("baggage", baggage);
        return out;
    }

    public static void main(String[] args) throws Exception {
        JsonObject input = new Gson().fromJson(new InputStreamReader(System.in, StandardCharsets.UTF_8), JsonObject.class);
        JsonArray results = new JsonArray();
        for (JsonElement c : input.getAsJsonArray("cases")) {
            try {
                results.add(run(c.getAsJsonObject()));
            } catch (Exception e) {
                JsonObject err = new JsonObject();
                err.addProperty("error", e.toString());
                results.add(err);
            }
        }
        System.out.print(new Gson().toJson(results));
    }
}
