package io.fractalrmo.streams;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.streams.merge.PlanMergeTopology;
import io.fractalrmo.streams.patterns.PatternTopology;
import io.fractalrmo.streams.rules.ProtocolUpdaterTopology;
import io.fractalrmo.streams.status.TaskStatusTopology;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;

/**
 * The whole streams app as a pure function of its configuration: plan merge, task status,
 * pattern extractor and protocol updater on one builder (sharing their source topics). No I/O.
 */
public final class FractalTopology {

  private FractalTopology() {
  }

  public static Topology build(TopicCatalog topics, StreamsSettings settings, RecordSerdes serdes) {
    Sources sources = new Sources(new StreamsBuilder(), serdes);
    PlanMergeTopology.addTo(sources, topics, settings);
    TaskStatusTopology.addTo(sources, topics, settings);
    ProtocolUpdaterTopology.addTo(sources, topics, settings,
        PatternTopology.addTo(sources, topics, settings));
    return sources.builder().build();
  }
}
