package io.fractalrmo.platform.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.platform.TopicProvisioner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three KRaft nodes as child JVMs: topics get replication factor 3 and min ISR 2; a node killed
 * with SIGKILL while an idempotent producer and a transactional one write loses no acknowledged
 * record, the others carry on, and the node comes back on its directory and ports.
 */
class KafkaClusterTest {

  @TempDir
  Path dir;

  @Test
  void shouldLoseNoAcknowledgedRecordWhenANodeIsKilledMidRunAndComeBack() throws Exception {
    try (KafkaCluster cluster = KafkaCluster.start(dir.resolve("kafka"), 3)) {
      assertThat(cluster.bootstrapServers().split(",")).hasSize(3);
      TopicCatalog catalog = TopicCatalog.withPrefix("t-" + UUID.randomUUID() + ".");
      String topic = catalog.tasks().name();
      TopicProvisioner.provision(cluster.bootstrapServers(), catalog, (short) -1);
      TopicDescription described;
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
          cluster.bootstrapServers()))) {
        described = admin.describeTopics(List.of(topic)).allTopicNames()
            .get(30, TimeUnit.SECONDS).get(topic);
        var config = admin.describeConfigs(List.of(new org.apache.kafka.common.config
                .ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic)))
            .all().get(30, TimeUnit.SECONDS).values().iterator().next();
        assertThat(config.get("min.insync.replicas").value()).isEqualTo("2");
      }
      assertThat(described.partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
      int victim = described.partitions().get(0).leader().id();

      List<String> acknowledged = new ArrayList<>();
      try (KafkaProducer<String, String> plain = producer(cluster, null);
           KafkaProducer<String, String> tx = producer(cluster, "tx-" + UUID.randomUUID())) {
        tx.initTransactions();
        write(plain, tx, topic, "before", 200, acknowledged);
        cluster.kill(victim);
        assertThat(cluster.isRunning(victim)).isFalse();
        write(plain, tx, topic, "during", 200, acknowledged);
        cluster.restart(victim);
        write(plain, tx, topic, "after", 100, acknowledged);
      }

      Map<String, Integer> seen = readAll(cluster, topic);
      for (String value : acknowledged) {
        assertThat(seen.getOrDefault(value, 0)).as("copies of %s", value).isEqualTo(1);
      }
      assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(acknowledged);
    }
  }

  /** n records through the idempotent producer and n in transactions of 10, all acknowledged. */
  private static void write(KafkaProducer<String, String> plain, KafkaProducer<String, String> tx,
      String topic, String phase, int n, List<String> acknowledged) throws Exception {
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    List<String> values = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String v = phase + "-plain-" + i;
      sends.add(plain.send(new ProducerRecord<>(topic, "k" + i, v)));
      values.add(v);
    }
    for (Future<RecordMetadata> f : sends) {
      f.get(120, TimeUnit.SECONDS);
    }
    acknowledged.addAll(values);
    for (int t = 0; t < n / 10; t++) {
      tx.beginTransaction();
      List<String> batch = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        String v = phase + "-tx-" + t + "-" + i;
        tx.send(new ProducerRecord<>(topic, "k" + i, v));
        batch.add(v);
      }
      tx.commitTransaction();
      acknowledged.addAll(batch);
    }
  }

  private static KafkaProducer<String, String> producer(KafkaCluster cluster, String txId) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    if (txId != null) {
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txId);
    }
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  private static Map<String, Integer> readAll(KafkaCluster cluster, String topic) {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, Integer> seen = new HashMap<>();
    try (KafkaConsumer<String, String> consumer =
             new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.merge(r.value(), 1, Integer::sum));
      }
    }
    return seen;
  }
}
