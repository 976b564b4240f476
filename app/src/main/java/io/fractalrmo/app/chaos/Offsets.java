package io.fractalrmo.app.chaos;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** End offsets as a read_committed consumer sees them (the last stable offsets). */
final class Offsets {

  private Offsets() {
  }

  /** {@code <topic>-<partition>} to its last stable offset, for every partition of the topics. */
  static Map<String, Long> lastStable(Endpoints endpoints, List<String> topics) {
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
        KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(), "fractal-chaos-offsets"),
        new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : topics) {
        consumer.partitionsFor(topic, Duration.ofSeconds(60))
            .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      }
      // assigned first: a read_committed consumer asked for the end offsets of partitions it does
      // not hold warns once per partition ("Not updating last stable offset ... no longer
      // assigned") when the answer comes
      consumer.assign(partitions);
      Map<String, Long> out = new HashMap<>();
      consumer.endOffsets(partitions, Duration.ofSeconds(60))
          .forEach((tp, offset) -> out.put(tp.topic() + "-" + tp.partition(), offset));
      return out;
    }
  }
}
