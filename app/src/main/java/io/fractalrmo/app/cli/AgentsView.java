package io.fractalrmo.app.cli;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.RetryPolicy;
import io.fractalrmo.runtime.TopicReader;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * The latest {@code AgentStatus} of every agent instance, read from the compacted
 * {@code fractal.agent-status} topic (not from PostgreSQL: an agent's health must be visible even
 * when the sink is the one that failed), and its rendering for {@code fractal status}.
 */
final class AgentsView {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  private AgentsView() {
  }

  /** Reads the topic up to its end (as of now); the latest record per agent id. */
  static List<AgentStatus> latest(Endpoints e, Duration timeout) throws InterruptedException {
    String topic = e.topics().agentStatus().name();
    Deserializer<AgentStatus> statuses = FractalSerdes.value(AgentStatus.class,
        FractalSerdes.config(e.schemaRegistryUrl())).deserializer();
    Map<String, AgentStatus> byAgent = new ConcurrentHashMap<>();
    TopicReader<String, byte[]> reader = new TopicReader<>(r -> {
      if (r.key() == null) {
        return;
      }
      if (r.value() == null) {
        byAgent.remove(r.key());
      } else {
        byAgent.put(r.key(), statuses.deserialize(topic, r.headers(), r.value()));
      }
    });
    ConsumeLoop<String, byte[]> loop = TopicReader.loop("fractal-status-agents",
            new KafkaConsumer<>(KafkaClientConfigs.assignedReader(e.bootstrapServers(),
                "fractal-status-agents")), List.of(topic), reader)
        .pollTimeout(Duration.ofMillis(100))
        .retry(RetryPolicy.defaults().withTimeout(timeout))
        .build();
    loop.start();
    try {
      if (!reader.awaitCaughtUp(timeout) && loop.failure() != null) {
        throw new IllegalStateException("cannot read " + topic + ": " + loop.failure().getMessage(),
            loop.failure());
      }
    } finally {
      loop.stop();
      loop.awaitStopped(Duration.ofSeconds(5));
      statuses.close();
    }
    return byAgent.values().stream()
        .sorted(Comparator.comparing(AgentStatus::getAgentId))
        .toList();
  }

  static String render(List<AgentStatus> agents) {
    if (agents.isEmpty()) {
      return "agents: none has reported yet\n";
    }
    StringBuilder out = new StringBuilder("agents:\n");
    for (AgentStatus a : agents) {
      out.append(String.format(Locale.ROOT, "  %-28s %-10s %-9s %-9s processed %-7d %s%s%n",
          a.getAgentId(), a.getAgentType(), a.getNewState(), a.getHealth(), a.getProcessed(),
          TIME.format(a.getUpdatedAt()),
          a.getHealthReason() == null ? "" : "  (" + a.getHealthReason() + ")"));
    }
    return out.toString();
  }
}
