package io.fractalrmo.platform.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.TopicProvisioner;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

  @TempDir
  Path dir;

  @Test
  void shouldKeepTopicsAndRecordsAcrossRestartsAndLeaveNoProcess() throws Exception {
    TopicCatalog catalog = TopicCatalog.withPrefix("t-" + UUID.randomUUID() + ".");
    String topic = catalog.tasks().name();
    long pid;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      pid = kafka.pid();
      assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
      TopicProvisioner.provision(kafka.bootstrapServers(), catalog, (short) 1);
      TopicProvisioner.provision(kafka.bootstrapServers(), catalog, (short) 1); // idempotent

      try (Admin admin = admin(kafka)) {
        Set<String> names = admin.listTopics().names().get(10, TimeUnit.SECONDS);
        assertThat(names).containsAll(catalog.all().stream().map(TopicSpec::name).toList());
        TopicSpec rules = catalog.protocolRules();
        Config config = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, rules.name())))
            .all().get(10, TimeUnit.SECONDS).values().iterator().next();
        assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
        assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS)
            .get(topic).partitions()).hasSize(catalog.tasks().partitions());
      }
      try (KafkaProducer<String, String> producer = producer(kafka)) {
        producer.send(new ProducerRecord<>(topic, "task-1", "hello")).get(30, TimeUnit.SECONDS);
      }
      // a new partition's indexes are preallocated at the broker's bound, not Kafka's 10 MiB
      // (whose first touch the kernel zero-fills through readahead: see KafkaNode)
      List<Path> indexes;
      try (var files = Files.walk(dir.resolve("kafka"))) {
        indexes = files.filter(f -> f.getParent().getFileName().toString().startsWith(topic + "-"))
            .filter(f -> f.toString().endsWith(".index") || f.toString().endsWith(".timeindex"))
            .toList();
      }
      assertThat(indexes).hasSize(2 * catalog.tasks().partitions());
      for (Path index : indexes) {
        assertThat(Files.size(index)).as(index.toString())
            .isPositive().isLessThanOrEqualTo(KafkaNode.INDEX_SIZE_MAX_BYTES);
      }
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();

    try (EmbeddedKafka again = EmbeddedKafka.start(dir.resolve("kafka"))) {
      try (KafkaConsumer<String, String> consumer = consumer(again)) {
        consumer.subscribe(List.of(topic));
        List<ConsumerRecord<String, String>> seen = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (seen.isEmpty() && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(500)).forEach(seen::add);
        }
        assertThat(seen).extracting(ConsumerRecord::key, ConsumerRecord::value)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("task-1", "hello"));
      }
    }
  }

  @Test
  void shouldStopABrokerLeftBehindByAKilledRunAndStartAgain() {
    EmbeddedKafka orphan = EmbeddedKafka.start(dir.resolve("kafka"));
    long orphanPid = orphan.pid();
    // No close(): as if the JVM that started it had been killed. The next start recovers the dir.
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      assertThat(ProcessHandle.of(orphanPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      assertThat(kafka.isRunning()).isTrue();
    } finally {
      orphan.close();
    }
  }

  @Test
  void shouldStopWhenItsParentGoesAway() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    try {
      kafka.closeStdinAsIfParentDied();
      ProcessHandle handle = ProcessHandle.of(kafka.pid()).orElseThrow();
      handle.onExit().get(30, TimeUnit.SECONDS);
      assertThat(handle.isAlive()).isFalse();
    } finally {
      kafka.close();
    }
  }

  @Test
  void shouldRefuseAPortThatIsTaken() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      assertThatThrownBy(() -> EmbeddedKafka.start(dir.resolve("kafka"), taken.getLocalPort()))
          .isInstanceOf(PlatformException.class)
          .hasMessageContaining("already in use")
          .hasMessageContaining("--kafka-port");
    }
  }

  private static Admin admin(EmbeddedKafka kafka) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
  }

  private static KafkaProducer<String, String> producer(EmbeddedKafka kafka) {
    return new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer());
  }

  private static KafkaConsumer<String, String> consumer(EmbeddedKafka kafka) {
    return new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "g-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new StringDeserializer());
  }
}
