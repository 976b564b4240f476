package io.fractalrmo.runtime.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * One trace per task across Kafka hops: W3C trace context ({@value #TRACEPARENT}, optionally
 * {@value #TRACESTATE}) in record headers, spans made with the OpenTelemetry API. A hop reads the
 * context of the record it handles ({@link #parentOf}), starts a {@link Hop} as its child (with
 * links to other inputs where it fans in) and writes the hop's own context to every record it
 * produces ({@link Hop#writeTo}), together with {@value #SPAN} — the hop's name, agent, start,
 * duration, parent and links — so that a trace can be rebuilt from the topics alone when no
 * exporter runs ({@link SpanRecord#of}).
 *
 * <p>A header from upstream is untrusted: a missing, malformed or oversized {@value #TRACEPARENT}
 * is ignored (the hop starts a new trace), an oversized {@value #TRACESTATE} is dropped, and a hop
 * writes only its own three headers, of bounded size, whatever it read.
 *
 * <p>{@link #process()} is the instance a process's roles use unless given another: tracing on,
 * no exporter. {@link #off()} writes no header and starts no span (the benchmark's "telemetry
 * off"). With a {@link SpanProcessor} (e.g. an OTLP exporter's batch processor) spans are also
 * exported.
 */
public final class Tracing implements AutoCloseable {

  public static final String TRACEPARENT = "traceparent";
  public static final String TRACESTATE = "tracestate";
  public static final String SPAN = "fractal.span";
  /** Longer {@value #TRACEPARENT} values are ignored (version 00 is 55 characters). */
  static final int MAX_TRACEPARENT_BYTES = 128;
  /** Longer {@value #TRACESTATE} values are dropped (W3C: 512 is what a vendor may cut to). */
  static final int MAX_TRACESTATE_BYTES = 512;
  /** A hop keeps at most this many links (a fan-in of more records names the first ones). */
  public static final int MAX_LINKS = 8;

  static final AttributeKey<String> AGENT = AttributeKey.stringKey("fractal.agent");

  private static final Tracing OFF = new Tracing(null, null);
  private static volatile Tracing process = create(List.of());

  private final SdkTracerProvider provider;
  private final Tracer tracer;

  private Tracing(SdkTracerProvider provider, Tracer tracer) {
    this.provider = provider;
    this.tracer = tracer;
  }

  /** Tracing on, spans handed to {@code processors} (none: headers only, nothing exported). */
  public static Tracing create(Collection<? extends SpanProcessor> processors) {
    var builder = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.builder()
            .put("service.name", "fractal").build()))
        .setSampler(Sampler.parentBased(Sampler.alwaysOn()));
    processors.forEach(builder::addSpanProcessor);
    if (processors.isEmpty()) {
      // an SDK without processors hands out a no-op tracer (invalid ids): the headers need ids
      builder.addSpanProcessor(Unexported.INSTANCE);
    }
    SdkTracerProvider provider = builder.build();
    return new Tracing(provider, provider.get("io.fractalrmo"));
  }

  /** No headers, no spans. */
  public static Tracing off() {
    return OFF;
  }

  /** The tracing of this process's roles (on, no exporter, unless {@link #setProcess} said). */
  public static Tracing process() {
    return process;
  }

  /**
   * Sets what {@link #process()} returns to roles started from now on (the command line does this
   * once, from its OTLP setting; the benchmark to compare telemetry off and on). Returns the
   * previous one, which the caller closes or restores.
   */
  public static Tracing setProcess(Tracing tracing) {
    Tracing before = process;
    process = Objects.requireNonNull(tracing);
    return before;
  }

  public boolean enabled() {
    return tracer != null;
  }

  /**
   * The context of the hop that wrote this record, or an invalid context when there is none or
   * the header is malformed or oversized (never throws).
   */
  public static SpanContext parentOf(Headers headers) {
    if (headers == null) {
      return SpanContext.getInvalid();
    }
    SpanContext canonical = canonical(headers);
    if (canonical != null) {
      return canonical;
    }
    try {
      Context extracted = W3CTraceContextPropagator.getInstance()
          .extract(Context.root(), headers, BoundedGetter.INSTANCE);
      SpanContext sc = Span.fromContext(extracted).getSpanContext();
      return sc.isValid() ? sc : SpanContext.getInvalid();
    } catch (RuntimeException e) {
      return SpanContext.getInvalid();
    }
  }

  /**
   * The common case without the propagator: a version-00 {@value #TRACEPARENT} of exactly 55
   * lowercase-hex characters with non-zero ids and no {@value #TRACESTATE}, which is what every
   * hop of the pipeline writes. It yields the context the W3C propagator would (a remote parent,
   * default trace state) for a fraction of its cost (its Context, getter iteration and string
   * copies were ~4 % of a stream thread's samples); anything else returns null and goes through
   * the propagator.
   */
  private static SpanContext canonical(Headers headers) {
    Header tp = headers.lastHeader(TRACEPARENT);
    if (tp == null || headers.lastHeader(TRACESTATE) != null) {
      return null;
    }
    byte[] v = tp.value();
    if (v == null || v.length != 55 || v[0] != '0' || v[1] != '0' || v[2] != '-' || v[35] != '-'
        || v[52] != '-') {
      return null;
    }
    if (!lowerHex(v, 3, 35) || !lowerHex(v, 36, 52) || !lowerHex(v, 53, 55)
        || allZero(v, 3, 35) || allZero(v, 36, 52)) {
      return null;
    }
    String traceId = new String(v, 3, 32, StandardCharsets.ISO_8859_1);
    String spanId = new String(v, 36, 16, StandardCharsets.ISO_8859_1);
    byte flags = (byte) ((Character.digit(v[53], 16) << 4) | Character.digit(v[54], 16));
    return SpanContext.createFromRemoteParent(traceId, spanId,
        io.opentelemetry.api.trace.TraceFlags.fromByte(flags),
        io.opentelemetry.api.trace.TraceState.getDefault());
  }

  private static boolean lowerHex(byte[] v, int from, int to) {
    for (int i = from; i < to; i++) {
      byte c = v[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean allZero(byte[] v, int from, int to) {
    for (int i = from; i < to; i++) {
      if (v[i] != '0') {
        return false;
      }
    }
    return true;
  }

  /**
   * The context in a {@value #TRACEPARENT} value (as {@link #traceparent} writes it, e.g. kept in
   * a state store), or an invalid one.
   */
  public static SpanContext contextOf(String traceparent) {
    if (traceparent == null || traceparent.length() > MAX_TRACEPARENT_BYTES) {
      return SpanContext.getInvalid();
    }
    return parentOf(new org.apache.kafka.common.header.internals.RecordHeaders().add(TRACEPARENT,
        traceparent.getBytes(StandardCharsets.ISO_8859_1)));
  }

  /** The {@value #TRACEPARENT} value of a context, or null when it is invalid. */
  public static String traceparent(SpanContext sc) {
    if (sc == null || !sc.isValid()) {
      return null;
    }
    return "00-" + sc.getTraceId() + "-" + sc.getSpanId() + "-" + sc.getTraceFlags().asHex();
  }

  /**
   * The parent of a hop handling a record: the hop that wrote it, or — when its headers carry no
   * valid context (an upstream producer that does not trace, a malformed header) — the record's
   * <em>origin</em>, a remote context derived from its topic, partition and offset. Every hop
   * that reads that record (the five analyzers, the plan, the status) then joins one trace
   * instead of starting one each; the origin span itself is not on any topic.
   */
  public static SpanContext parentOf(Headers headers, String topic, int partition, long offset) {
    SpanContext sc = parentOf(headers);
    return sc.isValid() ? sc : origin(topic, partition, offset);
  }

  /** The origin context of a record without a valid trace context (see {@link #parentOf}). */
  public static SpanContext origin(String topic, int partition, long offset) {
    byte[] h;
    try {
      h = java.security.MessageDigest.getInstance("SHA-256").digest(
          (topic + "/" + partition + "/" + offset).getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
    h[0] |= 1; // never the all-zero (invalid) id
    h[16] |= 1;
    return SpanContext.createFromRemoteParent(
        io.opentelemetry.api.trace.TraceId.fromBytes(java.util.Arrays.copyOfRange(h, 0, 16)),
        io.opentelemetry.api.trace.SpanId.fromBytes(java.util.Arrays.copyOfRange(h, 16, 24)),
        io.opentelemetry.api.trace.TraceFlags.getSampled(),
        io.opentelemetry.api.trace.TraceState.getDefault());
  }

  /** A hop handling a consumed record: the child of {@link #parentOf(Headers, String, int, long)}. */
  public Hop start(String name, String agent, Headers headers, String topic, int partition,
      long offset) {
    if (tracer == null) {
      return Hop.NONE;
    }
    return start(name, agent, parentOf(headers, topic, partition, offset), List.of(), -1);
  }

  /** A hop that is the child of the record with {@code parentHeaders} (a new trace if none). */
  public Hop start(String name, String agent, Headers parentHeaders) {
    return start(name, agent, parentOf(parentHeaders), List.of(), -1);
  }

  /**
   * A hop, child of {@code parent} (a new trace when invalid), linked to {@code links} (invalid
   * ones and those beyond {@link #MAX_LINKS} left out).
   *
   * @param startMillis when it began (epoch millis), or -1 for now
   */
  public Hop start(String name, String agent, SpanContext parent, List<SpanContext> links,
      long startMillis) {
    if (tracer == null) {
      return Hop.NONE;
    }
    String safeName = SpanRecord.clean(name);
    String safeAgent = SpanRecord.clean(agent);
    SpanBuilder b = tracer.spanBuilder(safeName).setSpanKind(SpanKind.CONSUMER)
        .setAttribute(AGENT, safeAgent);
    b = parent != null && parent.isValid()
        ? b.setParent(Context.root().with(Span.wrap(parent))) : b.setNoParent();
    List<SpanContext> kept = new ArrayList<>();
    for (SpanContext l : links) {
      if (l != null && l.isValid() && kept.size() < MAX_LINKS && !kept.contains(l)) {
        kept.add(l);
        b.addLink(l);
      }
    }
    long startNanos = startMillis >= 0 ? TimeUnit.MILLISECONDS.toNanos(startMillis)
        : Hop.nowNanos();
    b.setStartTimestamp(startNanos, TimeUnit.NANOSECONDS);
    Span span = b.startSpan();
    return new Hop(span, safeName, safeAgent, startNanos,
        parent != null && parent.isValid() ? parent.getSpanId() : null, kept);
  }

  /** Exports what is pending and stops the exporters (tracing stays usable, unexported). */
  @Override
  public void close() {
    if (provider != null) {
      CompletableResultCode done = provider.shutdown();
      done.join(5, TimeUnit.SECONDS);
    }
  }

  /** Spans are made (their ids go into headers) but nothing is exported. */
  private enum Unexported implements SpanProcessor {
    INSTANCE;

    @Override
    public void onStart(Context parentContext, io.opentelemetry.sdk.trace.ReadWriteSpan span) {
    }

    @Override
    public boolean isStartRequired() {
      return false;
    }

    @Override
    public void onEnd(io.opentelemetry.sdk.trace.ReadableSpan span) {
    }

    @Override
    public boolean isEndRequired() {
      return false;
    }
  }

  /**
   * Reads header values for the W3C propagator: the last header of a key, ignored when larger
   * than its bound (so a hostile value never reaches the parser or the output).
   */
  private enum BoundedGetter implements TextMapGetter<Headers> {
    INSTANCE;

    @Override
    public Iterable<String> keys(Headers carrier) {
      List<String> keys = new ArrayList<>();
      for (Header h : carrier) {
        keys.add(h.key());
      }
      return keys;
    }

    @Override
    public String get(Headers carrier, String key) {
      if (carrier == null || key == null) {
        return null;
      }
      Header h = carrier.lastHeader(key);
      if (h == null || h.value() == null) {
        return null;
      }
      int max = key.equals(TRACEPARENT) ? MAX_TRACEPARENT_BYTES
          : key.equals(TRACESTATE) ? MAX_TRACESTATE_BYTES : 0;
      if (h.value().length > max) {
        return null;
      }
      return new String(h.value(), StandardCharsets.ISO_8859_1);
    }
  }
}
