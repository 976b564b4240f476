package io.fractalrmo.runtime.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.SpanContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TracingTest {

  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN = "00f067aa0ba902b7";
  private final Tracing tracing = Tracing.create(List.of());

  private static Headers with(String key, String value) {
    return new RecordHeaders().add(key, value.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static String value(Headers h, String key) {
    Header last = h.lastHeader(key);
    return last == null ? null : new String(last.value(), StandardCharsets.ISO_8859_1);
  }

  @Test
  void aHopIsTheChildOfTheRecordItHandlesAndWritesItsOwnContextAndRecord() {
    Headers in = with(Tracing.TRACEPARENT, "00-" + TRACE + "-" + SPAN + "-01");
    in.add(Tracing.TRACESTATE, "vendor=abc".getBytes(StandardCharsets.US_ASCII));
    Hop hop = tracing.start("execute", "executor-h-0", in);
    Headers out = new RecordHeaders();
    hop.writeTo(out);

    SpanRecord rec = SpanRecord.of(out).orElseThrow();
    assertThat(rec.traceId()).isEqualTo(TRACE);
    assertThat(rec.spanId()).isNotEqualTo(SPAN).isEqualTo(hop.context().getSpanId());
    assertThat(rec.parentSpanId()).isEqualTo(SPAN);
    assertThat(rec.name()).isEqualTo("execute");
    assertThat(rec.agent()).isEqualTo("executor-h-0");
    assertThat(rec.startMicros()).isPositive();
    assertThat(rec.durationMicros()).isNotNegative();
    assertThat(value(out, Tracing.TRACESTATE)).isEqualTo("vendor=abc");
    assertThat(value(out, Tracing.TRACEPARENT)).matches("00-" + TRACE + "-[0-9a-f]{16}-0[0-9a-f]");
  }

  @Test
  void writingReplacesTraceHeadersAlreadyOnTheOutput() {
    Hop hop = tracing.start("analyze", "a", new RecordHeaders());
    Headers out = with(Tracing.TRACEPARENT, "00-" + TRACE + "-" + SPAN + "-01");
    out.add(Tracing.SPAN, "v=1;n=forged".getBytes(StandardCharsets.US_ASCII));
    hop.writeTo(out);
    hop.writeTo(out);
    assertThat(out.headers(Tracing.TRACEPARENT)).hasSize(1);
    assertThat(out.headers(Tracing.SPAN)).hasSize(1);
    assertThat(SpanRecord.of(out).orElseThrow().name()).isEqualTo("analyze");
  }

  @Nested
  class UntrustedHeaders {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "garbage",                                                         // not the format
        "00-" + TRACE + "-" + SPAN,                                        // flags missing
        "00-00000000000000000000000000000000-" + SPAN + "-01",             // all-zero trace id
        "00-" + TRACE + "-0000000000000000-01",                            // all-zero span id
        "ff-" + TRACE + "-" + SPAN + "-01",                                // forbidden version
        "00-" + TRACE + "-" + SPAN + "-01-extra",                          // version 00 is 55 chars
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + SPAN + "-01",             // upper case hex
        "00-" + TRACE + "-" + SPAN + "-01\u0000\u00ff"                     // bytes that are no text
    })
    void aMalformedTraceparentStartsANewTrace(String traceparent) {
      Hop hop = tracing.start("submit", "cli", with(Tracing.TRACEPARENT, traceparent));
      assertThat(hop.context().isValid()).isTrue();
      assertThat(hop.context().getTraceId()).isNotEqualTo(TRACE);
      Headers out = new RecordHeaders();
      hop.writeTo(out);
      assertThat(SpanRecord.of(out).orElseThrow().parentSpanId()).isNull();
    }

    @Test
    void anOversizedTraceparentIsIgnoredAndNothingGrowsTheOutput() {
      String huge = "00-" + TRACE + "-" + SPAN + "-01" + "-x".repeat(50_000);
      Headers in = with(Tracing.TRACEPARENT, huge);
      in.add(Tracing.TRACESTATE, ("k=" + "v".repeat(100_000)).getBytes(StandardCharsets.US_ASCII));
      for (int i = 0; i < 1_000; i++) {
        in.add(Tracing.SPAN, "v=1;n=x".getBytes(StandardCharsets.US_ASCII));
      }
      Hop hop = tracing.start("analyze", "a".repeat(10_000), in);
      Headers out = new RecordHeaders();
      hop.writeTo(out);
      assertThat(hop.context().getTraceId()).isNotEqualTo(TRACE);
      int bytes = 0;
      for (Header h : out) {
        bytes += h.key().length() + h.value().length;
      }
      assertThat(out.toArray()).hasSize(2); // traceparent, fractal.span: no tracestate
      assertThat(bytes).isLessThan(400);
    }

    @Test
    void anOversizedTracestateIsDroppedButTheTraceContinues() {
      Headers in = with(Tracing.TRACEPARENT, "00-" + TRACE + "-" + SPAN + "-01");
      in.add(Tracing.TRACESTATE, ("k=" + "v".repeat(600)).getBytes(StandardCharsets.US_ASCII));
      Headers out = new RecordHeaders();
      tracing.start("plan", "streams", in).writeTo(out);
      assertThat(SpanRecord.of(out).orElseThrow().traceId()).isEqualTo(TRACE);
      assertThat(out.lastHeader(Tracing.TRACESTATE)).isNull();
    }

    @ParameterizedTest(name = "[{index}]")
    @ValueSource(strings = {"", "v=1;s=notanumber;d=-5;p=zz;l=a-b,,-", ";;;=;n", "n=" + "\u00e9\u0000;"})
    void aMalformedSpanRecordReadsAsUnknownFieldsNeverAsAnError(String record) {
      Headers h = with(Tracing.TRACEPARENT, "00-" + TRACE + "-" + SPAN + "-01");
      h.add(Tracing.SPAN, record.getBytes(StandardCharsets.UTF_8));
      SpanRecord rec = SpanRecord.of(h).orElseThrow();
      assertThat(rec.spanId()).isEqualTo(SPAN);
      assertThat(rec.parentSpanId()).isNull();
      assertThat(rec.durationMicros()).isNotNegative();
      assertThat(rec.links()).isEmpty();
    }
  }

  @Test
  void aFanInLinksToItsInputsUpToTheBound() {
    List<SpanContext> inputs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      inputs.add(tracing.start("analyze", "a", new RecordHeaders()).context());
    }
    inputs.add(SpanContext.getInvalid());
    Hop plan = tracing.start("plan", "streams", inputs.get(0), inputs, 1_000);
    Headers out = new RecordHeaders();
    plan.writeTo(out);
    SpanRecord rec = SpanRecord.of(out).orElseThrow();
    assertThat(rec.links()).hasSize(Tracing.MAX_LINKS);
    assertThat(rec.linksTo(inputs.get(3).getTraceId(), inputs.get(3).getSpanId())).isTrue();
    assertThat(rec.startMicros()).isEqualTo(1_000_000);
    assertThat(rec.traceId()).isEqualTo(inputs.get(0).getTraceId());
  }

  @Test
  void hopsOfOneUntracedRecordShareTheTraceOfItsOrigin() {
    Headers none = new RecordHeaders();
    Hop a = tracing.start("analyzer-syntax", "a", none, "fractal.tasks", 2, 41);
    Hop b = tracing.start("analyzer-logic", "b", with(Tracing.TRACEPARENT, "junk"), "fractal.tasks", 2, 41);
    Hop other = tracing.start("analyzer-syntax", "a", none, "fractal.tasks", 2, 42);
    SpanContext origin = Tracing.origin("fractal.tasks", 2, 41);
    assertThat(origin.isValid()).isTrue();
    assertThat(a.context().getTraceId()).isEqualTo(origin.getTraceId())
        .isEqualTo(b.context().getTraceId()).isNotEqualTo(other.context().getTraceId());
    Headers out = new RecordHeaders();
    a.writeTo(out);
    assertThat(SpanRecord.of(out).orElseThrow().parentSpanId()).isEqualTo(origin.getSpanId());
    assertThat(Tracing.contextOf(Tracing.traceparent(a.context()))).isEqualTo(
        SpanContext.createFromRemoteParent(a.context().getTraceId(), a.context().getSpanId(),
            a.context().getTraceFlags(), io.opentelemetry.api.trace.TraceState.getDefault()));
  }

  @Test
  void offWritesNoHeaders() {
    Headers out = new RecordHeaders();
    Tracing.off().start("x", "y", with(Tracing.TRACEPARENT, "00-" + TRACE + "-" + SPAN + "-01"))
        .writeTo(out);
    assertThat(out.toArray()).isEmpty();
    assertThat(Tracing.off().enabled()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "00-" + TRACE + "-" + SPAN + "-01",
      "00-" + TRACE + "-" + SPAN + "-00",
      "00-" + TRACE + "-" + SPAN + "-ff",
      "00-" + TRACE + "-" + SPAN + "-0g",
      "00-" + TRACE + "-" + SPAN + "-01-extra",
      "01-" + TRACE + "-" + SPAN + "-01",
      "00-00000000000000000000000000000000-" + SPAN + "-01",
      "00-" + TRACE + "-0000000000000000-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + SPAN + "-01",
      "00_" + TRACE + "-" + SPAN + "-01"
  })
  void aTraceparentReadsAsTheW3cPropagatorReadsIt(String traceparent) {
    Headers h = with(Tracing.TRACEPARENT, traceparent);
    SpanContext expected = io.opentelemetry.api.trace.Span.fromContext(
        io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator.getInstance().extract(
            io.opentelemetry.context.Context.root(), traceparent,
            new io.opentelemetry.context.propagation.TextMapGetter<String>() {
              @Override
              public Iterable<String> keys(String carrier) {
                return List.of(Tracing.TRACEPARENT);
              }

              @Override
              public String get(String carrier, String key) {
                return Tracing.TRACEPARENT.equals(key) ? carrier : null;
              }
            })).getSpanContext();
    SpanContext read = Tracing.parentOf(h);
    assertThat(read.isValid()).isEqualTo(expected.isValid());
    if (expected.isValid()) {
      assertThat(read).isEqualTo(expected);
      assertThat(read.isRemote()).isTrue();
    }
    h.add(Tracing.TRACESTATE, "vendor=abc".getBytes(StandardCharsets.US_ASCII));
    assertThat(Tracing.parentOf(h).isValid()).isEqualTo(expected.isValid()); // the propagator's path
  }
}
