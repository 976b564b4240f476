package io.fractalrmo.runtime.trace;

import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The hop that wrote a record, as its headers tell it: trace and span id (from
 * {@value Tracing#TRACEPARENT}), and from {@value Tracing#SPAN} the hop's name, agent, start
 * (epoch microseconds), duration (microseconds), parent span id and links. This is what
 * {@code fractal status --trace} rebuilds a trace from when no exporter runs.
 *
 * <p>Wire format of {@value Tracing#SPAN} (ASCII, at most {@link #MAX_BYTES} bytes):
 * {@code v=1;n=<name>;a=<agent>;s=<start us>;d=<duration us>;p=<parent span id or ->;l=<trace
 * id>-<span id>,...}. Names and agents are cut to 80 characters of {@code [A-Za-z0-9._:@/|+-]}.
 */
public record SpanRecord(String traceId, String spanId, String parentSpanId, String name,
    String agent, long startMicros, long durationMicros, List<Link> links) {

  static final int MAX_BYTES = 1_024;
  private static final int MAX_TEXT = 80;

  /** A link to another hop (a fan-in input). */
  public record Link(String traceId, String spanId) {
    @Override
    public String toString() {
      return traceId + "-" + spanId;
    }
  }

  /** The hop that wrote a record with these headers; empty when they carry none or bad ones. */
  public static Optional<SpanRecord> of(Headers headers) {
    SpanContext sc = Tracing.parentOf(headers);
    if (!sc.isValid()) {
      return Optional.empty();
    }
    Header h = headers.lastHeader(Tracing.SPAN);
    if (h == null || h.value() == null || h.value().length > MAX_BYTES) {
      return Optional.of(new SpanRecord(sc.getTraceId(), sc.getSpanId(), null, "?", "?", 0, 0,
          List.of()));
    }
    String name = "?";
    String agent = "?";
    String parent = null;
    long start = 0;
    long duration = 0;
    List<Link> links = new ArrayList<>();
    for (String field : new String(h.value(), StandardCharsets.US_ASCII).split(";")) {
      int eq = field.indexOf('=');
      if (eq < 1) {
        continue;
      }
      String k = field.substring(0, eq);
      String v = field.substring(eq + 1);
      try {
        switch (k) {
          case "n" -> name = clean(v);
          case "a" -> agent = clean(v);
          case "s" -> start = Math.max(0, Long.parseLong(v));
          case "d" -> duration = Math.max(0, Long.parseLong(v));
          case "p" -> parent = SpanId.isValid(v) ? v : null;
          case "l" -> {
            for (String l : v.split(",")) {
              int dash = l.indexOf('-');
              if (dash > 0 && links.size() < Tracing.MAX_LINKS) {
                String t = l.substring(0, dash);
                String s = l.substring(dash + 1);
                if (TraceId.isValid(t) && SpanId.isValid(s)) {
                  links.add(new Link(t, s));
                }
              }
            }
          }
          default -> { }
        }
      } catch (NumberFormatException e) {
        // a bad number: that field is left out
      }
    }
    return Optional.of(new SpanRecord(sc.getTraceId(), sc.getSpanId(), parent, name, agent, start,
        duration, List.copyOf(links)));
  }

  static byte[] encode(String name, String agent, long startMicros, long durationMicros,
      String parentSpanId, List<SpanContext> links) {
    StringBuilder b = new StringBuilder(160).append("v=1;n=").append(clean(name))
        .append(";a=").append(clean(agent)).append(";s=").append(startMicros)
        .append(";d=").append(Math.max(0, durationMicros))
        .append(";p=").append(parentSpanId == null ? "-" : parentSpanId);
    if (!links.isEmpty()) {
      b.append(";l=");
      for (int i = 0; i < links.size() && i < Tracing.MAX_LINKS; i++) {
        b.append(i == 0 ? "" : ",").append(links.get(i).getTraceId()).append('-')
            .append(links.get(i).getSpanId());
      }
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** Text safe for a header field: bounded, no separators. */
  static String clean(String s) {
    if (s == null || s.isEmpty()) {
      return "?";
    }
    StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_TEXT));
    for (int i = 0; i < s.length() && b.length() < MAX_TEXT; i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || ".-_:@/|+".indexOf(c) >= 0;
      b.append(ok ? c : '_');
    }
    return b.toString();
  }

  /** True when this hop is linked to {@code spanId} of {@code traceId}. */
  public boolean linksTo(String trace, String span) {
    return links.stream().anyMatch(l -> l.traceId().equals(trace) && l.spanId().equals(span));
  }

  /** True when this hop is linked to any span of {@code trace}. */
  public boolean linksToTrace(String trace) {
    return links.stream().anyMatch(l -> l.traceId().equals(trace));
  }
}
