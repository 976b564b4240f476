package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.CommitSoon;
import io.fractalrmo.streams.JsonSerde;
import io.fractalrmo.streams.RecordSerdes;
import io.fractalrmo.streams.Sources;
import io.fractalrmo.streams.StreamsSettings;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * Pattern extractor: {@code fractal.errors} (trial events left out) → re-keyed by pattern key →
 * hopping windows by event time → at most one {@link ErrorPattern} per window and key on
 * {@code fractal.error-patterns} (see {@link PatternEmitter} for when).
 */
public final class PatternTopology {

  public static final String WINDOW_STORE = "pattern-windows";
  public static final String EMIT_STORE = "pattern-emits";
  public static final String LATE_STORE = "pattern-late-events";
  public static final String REPARTITION = "pattern-by-key";
  /** Per window: the trace contexts of the first error events counted in it (span links). */
  public static final String LINKS_STORE = "pattern-trace-links";

  private PatternTopology() {
  }

  public static Topology build(TopicCatalog topics, StreamsSettings settings, RecordSerdes serdes) {
    Sources sources = new Sources(new StreamsBuilder(), serdes);
    addTo(sources, topics, settings);
    return sources.builder().build();
  }

  /** Adds the extractor; returns the emitted patterns (also written to the topic). */
  public static KStream<String, ErrorPattern> addTo(Sources sources, TopicCatalog topics,
      StreamsSettings settings) {
    StreamsSettings.Patterns p = settings.patterns();
    StreamsBuilder builder = sources.builder();
    Serde<ErrorEvent> errorSerde = sources.serdes().value(ErrorEvent.class);
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LATE_STORE),
        Serdes.String(), Serdes.Long()));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(EMIT_STORE),
        Serdes.String(), JsonSerde.of(EmitState.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LINKS_STORE),
        Serdes.String(), Serdes.String()));
    Tracing tracing = Tracing.process();

    KStream<String, ErrorPattern> patterns = sources.stream(topics.errors(), ErrorEvent.class)
        .filter((k, e) -> e != null && e.getTrialId() == null, Named.as("pattern-skip-trials"))
        .selectKey((k, e) -> PatternKey.of(e), Named.as("pattern-key"))
        .processValues(CommitSoon.supplier(sources.pacer()), Named.as("pattern-key-commit"))
        .repartition(Repartitioned.with(Serdes.String(), errorSerde).withName(REPARTITION))
        .processValues(() -> new LateEventCounter(p), Named.as("pattern-count-late"), LATE_STORE)
        .groupByKey(Grouped.with("pattern-grouped", Serdes.String(), errorSerde))
        .windowedBy(TimeWindows.ofSizeAndGrace(p.windowSize(), p.grace()).advanceBy(p.advance()))
        .aggregate(PatternAccumulator::empty, (key, event, acc) -> acc.add(event),
            Named.as("pattern-aggregate"),
            Materialized.<String, PatternAccumulator, WindowStore<Bytes, byte[]>>as(WINDOW_STORE)
                .withKeySerde(Serdes.String())
                .withValueSerde(JsonSerde.of(PatternAccumulator.class))
                // every update must reach the emitter, which decides what to emit
                .withCachingDisabled()
                .withRetention(p.windowSize().plus(p.grace())))
        .toStream(Named.as("pattern-window-updates"))
        // the window aggregation forwards each update with the headers of the error event that
        // made it: the emitter links the pattern's hop to the events it counts
        .process(() -> new PatternEmitter(p, tracing), Named.as("pattern-emit"), EMIT_STORE,
            LATE_STORE, LINKS_STORE);
    patterns.to(topics.errorPatterns().name(),
        sources.produced(ErrorPattern.class, "sink-error-patterns"));
    return patterns;
  }
}
