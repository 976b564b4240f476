package io.fractalrmo.app.chaos;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.kafka.TopicScan;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads a whole topic as a downstream consumer would see it: read_committed, by assignment (no
 * group, nothing committed), from the beginning to the end offsets taken at the start. The
 * verifier's only source of truth about what the pipeline produced.
 */
final class TopicReader {

  private TopicReader() {
  }

  /** A record as read: its key, value (null for a tombstone or bytes that do not decode), where. */
  record Read<T>(String key, T value, int partition, long offset, long timestamp) {
  }

  static <T extends SpecificRecord> List<Read<T>> readAll(Endpoints endpoints,
      Map<String, Object> serdeConfig, String topic, Class<T> type, Duration timeout) {
    Map<String, Object> config = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        "fractal-chaos-verifier");
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    List<Read<T>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config,
             new StringDeserializer(), new ByteArrayDeserializer());
         Deserializer<T> values = FractalSerdes.value(type, serdeConfig).deserializer()) {
      TopicScan.toEnd(consumer, topic, timeout, r -> {
        T value = null;
        if (r.value() != null) {
          try {
            value = values.deserialize(r.topic(), r.headers(), r.value());
          } catch (RuntimeException e) {
            value = null; // counted by the caller as an unreadable record
          }
        }
        out.add(new Read<>(r.key(), value, r.partition(), r.offset(), r.timestamp()));
      });
    }
    return out;
  }
}
