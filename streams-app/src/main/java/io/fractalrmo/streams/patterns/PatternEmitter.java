package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.streams.StreamsSettings;
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
  private ProcessorContext<String, ErrorPattern> context;
  private KeyValueStore<String, EmitState> emits;
  private KeyValueStore<String, Long> late;

  PatternEmitter(StreamsSettings.Patterns settings) {
    this.settings = settings;
  }

  @Override
  public void init(ProcessorContext<String, ErrorPattern> context) {
    this.context = context;
    this.emits = context.getStateStore(PatternTopology.EMIT_STORE);
    this.late = context.getStateStore(PatternTopology.LATE_STORE);
    context.schedule(settings.advance().dividedBy(2).plusMillis(1), PunctuationType.STREAM_TIME,
        this::closeWindows);
  }

  @Override
  public void process(Record<Windowed<String>, PatternAccumulator> record) {
    PatternAccumulator acc = record.value();
    if (acc == null || acc.count() < settings.minOccurrences()) {
      return;
    }
    String key = record.key().key();
    long start = record.key().window().start();
    long end = record.key().window().end();
    String stateKey = stateKey(key, start);
    EmitState state = emits.get(stateKey);
    if (state != null && state.emitted()) {
      return;
    }
    if (acc.confidence() >= settings.earlyEmitConfidence()) {
      emit(key, start, end, acc, record.timestamp());
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
        emit(key, s.windowStart(), s.windowEnd(), s.pending(), streamTime);
      }
      emits.delete(kv.key);
    }
  }

  private void emit(String key, long start, long end, PatternAccumulator acc, long ts) {
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
    context.forward(new Record<>(key, pattern, ts));
  }

  static String stateKey(String key, long windowStart) {
    return key + "@" + windowStart;
  }
}
