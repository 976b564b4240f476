package io.fractalrmo.streams.status;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.RecordSerdes;
import io.fractalrmo.streams.Sources;
import io.fractalrmo.streams.StreamsSettings;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.state.Stores;

/**
 * Task status: every task-keyed topic of the pipeline → the latest {@link TaskStatus} per task
 * on the compacted {@code fractal.task-status}. EXECUTING is dated from the execution result
 * (finished_at − duration_ms).
 */
public final class TaskStatusTopology {

  public static final String STATUS_STORE = "task-status";

  private TaskStatusTopology() {
  }

  public static Topology build(TopicCatalog topics, StreamsSettings settings, RecordSerdes serdes) {
    Sources sources = new Sources(new StreamsBuilder(), serdes);
    addTo(sources, topics, settings);
    return sources.builder().build();
  }

  public static void addTo(Sources sources, TopicCatalog topics, StreamsSettings settings) {
    Tracing tracing = Tracing.process();
    sources.builder().addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(STATUS_STORE), Serdes.String(),
        sources.serdes().value(TaskStatus.class))
        // a task moves through its states within a few commit intervals: the cache folds them
        // into one write per commit (the processor forwards each status itself)
        .withCachingEnabled());
    Sources.records(sources.stream(topics.tasks(), Task.class))
        .merge(Sources.records(sources.stream(topics.analyses(), AspectAnalysis.class)),
            Named.as("status-merge-analyses"))
        .merge(Sources.records(sources.stream(topics.actionItems(), ActionItem.class)),
            Named.as("status-merge-actions"))
        .merge(Sources.records(sources.stream(topics.executionResults(), ExecutionResult.class)),
            Named.as("status-merge-results"))
        .merge(Sources.records(
            sources.stream(topics.validationOutcomes(), ValidationOutcome.class)),
            Named.as("status-merge-outcomes"))
        .process(() -> new TaskStatusProcessor(sources.pacer(), tracing), Named.as("status-track"),
            STATUS_STORE)
        .to(topics.taskStatus().name(), sources.produced(TaskStatus.class, "sink-task-status"));
  }
}
