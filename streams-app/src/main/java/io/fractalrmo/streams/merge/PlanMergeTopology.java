package io.fractalrmo.streams.merge;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.RecordSerdes;
import io.fractalrmo.streams.Sources;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.rules.Holdout;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.state.Stores;

/**
 * Plan merge: {@code fractal.tasks} + {@code fractal.analyses} (keyed by task id) →
 * {@code fractal.action-items}, one plan per task, resolved by {@link PlanPolicy}.
 */
public final class PlanMergeTopology {

  public static final String TASKS_STORE = "merge-tasks";
  public static final String ANALYSES_STORE = "merge-analyses";
  public static final String PENDING_STORE = "merge-pending";
  public static final String PLANNED_STORE = "merge-planned";
  /** The trace context ({@code traceparent}) of a task's record and of each of its analyses. */
  public static final String TRACES_STORE = "merge-traces";

  private PlanMergeTopology() {
  }

  /** This feature alone, for its tests. */
  public static Topology build(TopicCatalog topics, StreamsSettings settings, RecordSerdes serdes) {
    Sources sources = new Sources(new StreamsBuilder(), serdes);
    addTo(sources, topics, settings);
    return sources.builder().build();
  }

  public static void addTo(Sources sources, TopicCatalog topics, StreamsSettings settings) {
    StreamsBuilder builder = sources.builder();
    RecordSerdes serdes = sources.serdes();
    AnalyzerLiveness liveness = new AnalyzerLiveness();
    // Cached: a task's records mostly arrive and are planned within one commit interval, and the
    // cache folds its puts and deletes into one write per key (RocksDB and changelog) per commit.
    // The processor forwards its plans itself, so caching delays no output.
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(TASKS_STORE), Serdes.String(), serdes.value(Task.class))
        .withCachingEnabled());
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(ANALYSES_STORE), Serdes.String(),
        serdes.value(AspectAnalysis.class)).withCachingEnabled());
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(PENDING_STORE), Serdes.String(),
        new PendingPlanSerde()).withCachingEnabled());
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(PLANNED_STORE), Serdes.String(), Serdes.Long())
        .withCachingEnabled());
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(TRACES_STORE), Serdes.String(), Serdes.String())
        .withCachingEnabled());
    Tracing tracing = Tracing.process();

    Sources.records(sources.stream(topics.tasks(), Task.class))
        .merge(Sources.records(sources.stream(topics.analyses(), AspectAnalysis.class)),
            Named.as("merge-tasks-and-analyses"))
        .process(() -> new PlanMergeProcessor(settings.merge(), sources.pacer(), liveness, tracing),
            Named.as("merge-plan"),
            TASKS_STORE, ANALYSES_STORE, PENDING_STORE, PLANNED_STORE, TRACES_STORE)
        .mapValues(new Holdout(settings.rules().live().holdoutShare())::mark,
            Named.as("merge-holdout"))
        .to(topics.actionItems().name(), sources.produced(ActionItem.class, "sink-plans"));
  }
}
