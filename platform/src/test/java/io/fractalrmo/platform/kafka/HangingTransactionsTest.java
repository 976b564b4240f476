package io.fractalrmo.platform.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.platform.FileTrees;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real hanging transaction, made as a crash makes one: a transactional producer writes to a
 * partition and leaves its transaction open, the broker is killed with SIGKILL, and its
 * transaction coordinator's log ({@code __transaction_state}) is lost before the restart — the
 * partition still holds the open transaction, the coordinator knows nothing of it, and the
 * partition's last stable offset is stuck at its start.
 */
class HangingTransactionsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  @Test
  void shouldLeaveAnOngoingTransactionAloneAndAbortOneItsCoordinatorForgot() throws Exception {
    String topic = "hanging-" + UUID.randomUUID();
    TopicPartition tp = new TopicPartition(topic, 0);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      try (Admin admin = admin(kafka)) {
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all()
            .get(30, TimeUnit.SECONDS);
      }
      KafkaProducer<String, String> producer = transactional(kafka, "txn-" + UUID.randomUUID());
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "never committed")).get(30, TimeUnit.SECONDS);

      // open and known to its coordinator: not hanging, left alone
      try (Admin admin = admin(kafka)) {
        assertThat(HangingTransactions.find(admin, TIMEOUT)).isEmpty();
      }
      assertThat(HangingTransactions.repair(kafka.bootstrapServers(), TIMEOUT)).isEmpty();

      kafka.kill();
      producer.close(Duration.ZERO);
      deleteTransactionState(kafka.dataDir().resolve("logs"));
      kafka.restart();

      try (Admin admin = admin(kafka);
           KafkaProducer<String, String> plain = plain(kafka)) {
        plain.send(new ProducerRecord<>(topic, "k", "after the crash")).get(30, TimeUnit.SECONDS);
        // the partition's last stable offset is held at the open transaction's start
        assertThat(lastStable(admin, tp)).isZero();

        List<HangingTransactions.Hanging> found = HangingTransactions.find(admin, TIMEOUT);
        assertThat(found).singleElement().satisfies(h -> {
          assertThat(h.partition()).isEqualTo(tp);
          assertThat(h.startOffset()).isZero();
          assertThat(h.kafkaToolCommand("B")).endsWith("--topic " + topic
              + " --partition 0 --start-offset 0");
        });
        // report() for someone else's cluster aborts nothing
        assertThat(HangingTransactions.report(kafka.bootstrapServers(), TIMEOUT)).hasSize(1);
        assertThat(lastStable(admin, tp)).isZero();

        assertThat(HangingTransactions.repair(kafka.bootstrapServers(), TIMEOUT))
            .extracting(HangingTransactions.Hanging::partition).containsExactly(tp);
        assertThat(HangingTransactions.find(admin, TIMEOUT)).isEmpty();
        assertThat(readCommitted(kafka, tp, "after the crash"))
            .containsExactly("after the crash");
      }
    }
  }

  /** The coordinator's state lost, as if its log had not survived the crash. */
  private static void deleteTransactionState(Path logDir) throws Exception {
    List<Path> doomed = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(logDir, "__transaction_state-*")) {
      dirs.forEach(doomed::add);
    }
    assertThat(doomed).isNotEmpty();
    for (Path p : doomed) {
      FileTrees.deleteTree(p);
    }
  }

  private static long lastStable(Admin admin, TopicPartition tp) throws Exception {
    return admin.listOffsets(Map.of(tp, OffsetSpec.latest()),
            new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(tp)
        .get(30, TimeUnit.SECONDS).offset();
  }

  /** What a read_committed consumer reads from the start until it sees {@code last}. */
  private static List<String> readCommitted(EmbeddedKafka kafka, TopicPartition tp, String last) {
    List<String> seen = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
        new StringDeserializer(), new StringDeserializer())) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!seen.contains(last) && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          seen.add(r.value());
        }
      }
    }
    return seen;
  }

  private static Admin admin(EmbeddedKafka kafka) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        kafka.bootstrapServers()));
  }

  private static KafkaProducer<String, String> transactional(EmbeddedKafka kafka, String id) {
    return new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.TRANSACTIONAL_ID_CONFIG, id,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000),
        new StringSerializer(), new StringSerializer());
  }

  private static KafkaProducer<String, String> plain(EmbeddedKafka kafka) {
    return new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer());
  }
}
