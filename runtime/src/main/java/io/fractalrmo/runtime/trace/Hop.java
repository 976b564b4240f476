package io.fractalrmo.runtime.trace;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.header.Headers;

/**
 * One hop of a trace: a span of one role instance, from when it took up its input to when it
 * built its outputs. {@link #writeTo} ends it (if not ended) and writes its context and its
 * {@link SpanRecord} to an output's headers, replacing any trace headers there. Thread-safe.
 */
public final class Hop {

  /** What {@link Tracing#off()} returns: writes nothing. */
  static final Hop NONE = new Hop(null, "", "", 0, null, List.of());

  private final Span span;
  private final String name;
  private final String agent;
  private final long startNanos;
  private final String parentSpanId;
  private final List<SpanContext> links;
  private long endNanos = -1;
  private byte[] record;

  Hop(Span span, String name, String agent, long startNanos, String parentSpanId,
      List<SpanContext> links) {
    this.span = span;
    this.name = name;
    this.agent = agent;
    this.startNanos = startNanos;
    this.parentSpanId = parentSpanId;
    this.links = List.copyOf(links);
  }

  static long nowNanos() {
    Instant now = Instant.now();
    return TimeUnit.SECONDS.toNanos(now.getEpochSecond()) + now.getNano();
  }

  /** This hop's context (invalid when tracing is off): the parent of what its outputs cause. */
  public SpanContext context() {
    return span == null ? SpanContext.getInvalid() : span.getSpanContext();
  }

  public boolean recording() {
    return span != null;
  }

  /** Sets an attribute of the exported span (not written to headers). */
  public Hop attribute(String key, String value) {
    if (span != null && key != null && value != null) {
      span.setAttribute(key, SpanRecord.clean(value));
    }
    return this;
  }

  /** Ends the hop now (once; later calls change nothing). */
  public void end() {
    end(-1);
  }

  /** Ends the hop at {@code epochMillis} (-1: now), once. */
  public synchronized void end(long epochMillis) {
    if (span == null || endNanos >= 0) {
      return;
    }
    endNanos = Math.max(startNanos, epochMillis >= 0
        ? TimeUnit.MILLISECONDS.toNanos(epochMillis) : nowNanos());
    span.end(endNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Writes this hop's trace context ({@value Tracing#TRACEPARENT}, {@value Tracing#TRACESTATE}
   * when it has one) and {@value Tracing#SPAN} to {@code headers}, ending the hop first if it has
   * not ended. Existing headers of those keys are removed. Does nothing when tracing is off.
   */
  public void writeTo(Headers headers) {
    if (span == null || headers == null) {
      return;
    }
    end();
    byte[] rec;
    synchronized (this) {
      if (record == null) {
        record = SpanRecord.encode(name, agent, startNanos / 1_000,
            (endNanos - startNanos) / 1_000, parentSpanId, links);
      }
      rec = record;
    }
    headers.remove(Tracing.TRACEPARENT);
    headers.remove(Tracing.TRACESTATE);
    headers.remove(Tracing.SPAN);
    W3CTraceContextPropagator.getInstance().inject(Context.root().with(span), headers,
        Setter.INSTANCE);
    headers.add(Tracing.SPAN, rec);
  }

  private enum Setter implements TextMapSetter<Headers> {
    INSTANCE;

    @Override
    public void set(Headers carrier, String key, String value) {
      if (carrier != null && key != null && value != null) {
        carrier.add(key, value.getBytes(StandardCharsets.ISO_8859_1));
      }
    }
  }
}
