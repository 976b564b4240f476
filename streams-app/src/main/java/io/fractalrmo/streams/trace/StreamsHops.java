package io.fractalrmo.streams.trace;

import io.fractalrmo.runtime.trace.Hop;
import io.fractalrmo.runtime.trace.Tracing;
import io.opentelemetry.api.trace.SpanContext;
import java.util.List;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The hops of the streams app in a task's trace. A processor builds each output record itself
 * ({@code new Record<>(k, v, ts)} has no headers, and the DSL forwards whatever headers a record
 * has), so each output gets the headers of a hop made here: the child of the input record that
 * caused it, linked to other inputs where it fans in. The agent of a hop is the application id
 * and the stream task ({@code fractal-streams/0_1}).
 */
public final class StreamsHops {

  private StreamsHops() {
  }

  /** The agent name of hops made in {@code context}. */
  public static String agent(ProcessorContext<?, ?> context) {
    return context.applicationId() + "/" + context.taskId();
  }

  /** {@code record} with the headers of a hop that is the child of {@code cause}. */
  public static <K, V> Record<K, V> childOf(Tracing tracing, ProcessorContext<?, ?> context,
      String name, Headers cause, Record<K, V> record) {
    if (!tracing.enabled()) {
      return record;
    }
    return record.withHeaders(headers(tracing.start(name, agent(context),
        parentOf(context, cause), List.of(), -1)));
  }

  /**
   * The context in {@code headers}, or — when they carry none (or a malformed one) — the origin of
   * the record being processed ({@link Tracing#parentOf(Headers, String, int, long)}): the hops
   * of one untraced task record still share a trace. Invalid in a punctuation.
   */
  public static SpanContext parentOf(ProcessorContext<?, ?> context, Headers headers) {
    SpanContext sc = Tracing.parentOf(headers);
    if (sc.isValid() || headers == null) {
      return sc;
    }
    return context.recordMetadata()
        .filter(m -> m.topic() != null)
        .map(m -> Tracing.origin(m.topic(), m.partition(), m.offset()))
        .orElse(SpanContext.getInvalid());
  }

  /** Headers of a hop with a parent (invalid: a new trace) and links, begun at startMillis. */
  public static Headers hop(Tracing tracing, ProcessorContext<?, ?> context, String name,
      SpanContext parent, List<SpanContext> links, long startMillis) {
    if (!tracing.enabled()) {
      return new RecordHeaders();
    }
    return headers(tracing.start(name, agent(context), parent, links, startMillis));
  }

  private static Headers headers(Hop hop) {
    Headers h = new RecordHeaders();
    hop.writeTo(h);
    return h;
  }
}
