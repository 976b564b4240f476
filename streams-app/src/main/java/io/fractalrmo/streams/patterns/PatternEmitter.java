package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.trace.StreamsHops;
import io.opentelemetry.api.trace.SpanContext;
import org.apache.kafka.common.header.Headers;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Emits at most one {@link ErrorPattern} per window and pattern key. A window is emitted as
 * soon as it holds {@code minOccurrences} events with a confidence of at least
 * {@code earlyEmitConfidence} (so a demo learns within seconds, without waiting for stream time
 * to close the window); a window that reaches the minimum count but not that confidence is
 * emitted when it closes ({@code end + grace <= stream time}), with its final count.
 */
final class PatternEmitter implements Processor<Windowed<String>, PatternAccumulator, String,
    ErrorPattern> {

  private final StreamsSettings.Patterns settings;
  private final Tracing tracing;
  private ProcessorContext<String, ErrorPattern> context;
  private KeyValueStore<String, EmitState> emits;
  private KeyValueStore<String, Long> late;
  private KeyValueStore<String, String> links;

  PatternEmitter(StreamsSettings.Patterns settings, Tracing tracing) {
    this.settings = settings;
    this.tracing = tracing;
  }

  @Override
  public void init(ProcessorContext<String, ErrorPattern> context) {
    this.context = context;
    this.emits = context.getStateStore(PatternTopology.EMIT_STORE);
    this.late = context.getStateStore(PatternTopology.LATE_STORE);
    this.links = context.getStateStore(PatternTopology.LINKS_STORE);
    context.schedule(settings.advance().dividedBy(2).plusMillis(1), PunctuationType.STREAM_TIME,
        this::closeWindows);
  }

  @Override
  public void process(Record<Windowed<String>, PatternAccumulator> record) {
    PatternAccumulator acc = record.value();
    if (acc == null) {
      return;
    }
    String key = record.key().key();
    long start = record.key().window().start();
    long end = record.key().window().end();
    String stateKey = stateKey(key, start);
    if (acc.count() < settings.minOccurrences()) {
      remember(stateKey, end, record.headers());
      return;
    }
    EmitState state = emits.get(stateKey);
    if (state != null && state.emitted()) {
      return;
    }
    remember(stateKey, end, record.headers());
    if (acc.confidence() >= settings.earlyEmitConfidence()) {
      emit(key, start, end, acc, record.timestamp(), Tracing.parentOf(record.headers()));
      emits.put(stateKey, new EmitState(true, null, start, end));
    } else {
      emits.put(stateKey, new EmitState(false, acc, start, end));
    }
  }

  private void closeWindows(long streamTime) {
    long grace = settings.grace().toMillis();
    List<KeyValue<String, EmitState>> closed = new ArrayList<>();
    try (KeyValueIterator<String, EmitState> it = emits.all()) {
      while (it.hasNext()) {
        KeyValue<String, EmitState> kv = it.next();
        if (kv.value.windowEnd() + grace <= streamTime) {
          closed.add(kv);
        }
      }
    }
    for (KeyValue<String, EmitState> kv : closed) {
      EmitState s = kv.value;
      if (!s.emitted() && s.pending() != null) {
        String key = kv.key.substring(0, kv.key.lastIndexOf('@'));
        List<SpanContext> counted = linked(kv.key);
        // closed by stream time, not by a record: the hop continues the last event's trace
        emit(key, s.windowStart(), s.windowEnd(), s.pending(), streamTime,
            counted.isEmpty() ? SpanContext.getInvalid() : counted.get(counted.size() - 1));
      }
      emits.delete(kv.key);
    }
    if (tracing.enabled()) {
      List<String> done = new ArrayList<>();
      try (KeyValueIterator<String, String> it = links.all()) {
        while (it.hasNext()) {
          KeyValue<String, String> kv = it.next();
          if (windowEndOf(kv.value) + grace <= streamTime) {
            done.add(kv.key);
          }
        }
      }
      done.forEach(links::delete);
    }
  }

  /**
   * Keeps the trace context of an error event counted in a window (the first
   * {@link Tracing#MAX_LINKS}): the pattern's hop links to them. Value: {@code <window end>;
   * <traceparent>,...}.
   */
  private void remember(String stateKey, long windowEnd, Headers headers) {
    if (!tracing.enabled()) {
      return;
    }
    String traceparent = Tracing.traceparent(Tracing.parentOf(headers));
    if (traceparent == null) {
      return;
    }
    String known = links.get(stateKey);
    if (known == null) {
      links.put(stateKey, windowEnd + ";" + traceparent);
    } else if (!known.contains(traceparent)
        && known.chars().filter(c -> c == ',').count() + 1 < Tracing.MAX_LINKS) {
      links.put(stateKey, known + "," + traceparent);
    }
  }

  private List<SpanContext> linked(String stateKey) {
    List<SpanContext> out = new ArrayList<>();
    String known = tracing.enabled() ? links.get(stateKey) : null;
    if (known != null && known.indexOf(';') >= 0) {
      for (String tp : known.substring(known.indexOf(';') + 1).split(",")) {
        SpanContext sc = Tracing.contextOf(tp);
        if (sc.isValid()) {
          out.add(sc);
        }
      }
    }
    return out;
  }

  private static long windowEndOf(String value) {
    try {
      return Long.parseLong(value.substring(0, Math.max(0, value.indexOf(';'))));
    } catch (NumberFormatException e) {
      return Long.MIN_VALUE / 2; // unreadable: gone at the next close
    }
  }

  /**
   * @param parent the error event whose count made the pattern (its trace goes on through the
   *     pattern to the rule); the hop also links to the other events the window counted
   */
  private void emit(String key, long start, long end, PatternAccumulator acc, long ts,
      SpanContext parent) {
    ErrorCategory category = ErrorCategory.valueOf(acc.category());
    RuleActionKind kind = FixCatalog.suggestedAction(category, acc.errorType(), acc.fixKey());
    Long lateCount = late.get(key);
    ErrorPattern pattern = ErrorPattern.newBuilder()
        .setPatternKey(key)
        .setCategory(category)
        .setErrorType(acc.errorType())
        .setFixKey(acc.fixKey())
        .setWindowStart(Instant.ofEpochMilli(start))
        .setWindowEnd(Instant.ofEpochMilli(end))
        .setFrequency(acc.count())
        .setConfidence(acc.confidence())
        .setExamples(acc.examples().stream().map(e -> PatternExample.newBuilder()
            .setErrorId(e.errorId()).setTaskId(e.taskId()).setActionId(e.actionId())
            .setMessage(e.message()).setOccurredAt(Instant.ofEpochMilli(e.occurredAt()))
            .build()).toList())
        .setSuggestedFix(FixCatalog.suggestedFix(kind, category, acc.errorType(), acc.fixKey()))
        .setSuggestedAction(kind)
        .setLateEvents(lateCount == null ? 0 : lateCount)
        .setEmittedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
        .build();
    Headers hop = StreamsHops.hop(tracing, context, "pattern", parent,
        linked(stateKey(key, start)).stream().filter(l -> !l.equals(parent)).toList(), -1);
    context.forward(new Record<>(key, pattern, ts, hop));
  }

  static String stateKey(String key, long windowStart) {
    return key + "@" + windowStart;
  }
}
