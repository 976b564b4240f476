package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the role's properties mean to Kafka Streams once it has resolved them per client. */
class StreamsPropertiesTest {

  @TempDir
  Path dir;

  @Test
  void shouldShortenOnlyStreamsOwnBackOffAndLeaveItsClientsAtKafkasDefault() {
    Endpoints endpoints = new Endpoints("127.0.0.1:9", "http://127.0.0.1:9", Optional.empty(),
        TopicCatalog.withPrefix("props-"));
    StreamsConfig config = new StreamsConfig(
        StreamsRole.properties(endpoints, StreamsOptions.defaults(dir)));

    // what the partition assignor's InternalTopicManager sleeps after each created internal
    // topic (KAFKA-21033): it is configured with the main consumer's settings
    Map<String, Object> consumer = config.getMainConsumerConfigs("g", "c", 0);
    assertThat(backOff(consumer)).isEqualTo(10L);
    assertThat(new StreamsConfig(consumer).getLong(StreamsConfig.RETRY_BACKOFF_MS_CONFIG))
        .isEqualTo(10L);
    Map<String, Object> restore = config.getRestoreConsumerConfigs("c");
    Map<String, Object> global = config.getGlobalConsumerConfigs("c");
    Map<String, Object> producer = config.getProducerConfigs("c");
    Map<String, Object> admin = config.getAdminConfigs("c");
    for (Map<String, Object> client : java.util.List.of(restore, global, producer, admin)) {
      assertThat(backOff(client)).isEqualTo(100L);
    }
  }

  private static long backOff(Map<String, Object> client) {
    return Long.parseLong(client.get(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG).toString());
  }
}
