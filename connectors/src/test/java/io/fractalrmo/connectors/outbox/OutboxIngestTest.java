package io.fractalrmo.connectors.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.connectors.support.Records;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbox ingest against a real PostgreSQL (logical decoding), broker and registry. One engine
 * per test class, one replication slot, dropped at the end.
 */
class OutboxIngestTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static TestStack stack;
  private static String url;
  private static Endpoints endpoints;
  private static OutboxIngest.Options options;
  @TempDir
  static Path dataDir; // the ingest's offset file; deleted after the class

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.sharedWithPostgres();
    url = Databases.fresh(stack);
    Migrations.apply(url);
    endpoints = stack.newEndpoints().withJdbcUrl(url);
    options = OutboxIngest.Options.defaults(dataDir)
        .withSlotName("t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  @AfterAll
  static void dropSlot() {
    Databases.execute(url, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        + " WHERE slot_name = '" + options.slotName() + "' AND NOT active");
  }

  @Test
  void shouldTurnCommittedRowsIntoTasksIgnoreRolledBackOnesAndNotRepeatAfterARestart()
      throws Exception {
    List<ConsumerRecord<byte[], byte[]>> tasks = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(endpoints.topics().tasks().name());
         var deserializer = FractalSerdes.value(Task.class, stack.serdeConfig()).deserializer()) {
      String committed = "task-" + UUID.randomUUID();
      String rolledBack = "task-" + UUID.randomUUID();
      try (OutboxIngest ingest = OutboxIngest.start(endpoints, options)) {
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(url)) {
          c.setAutoCommit(false);
          OutboxWriter.insert(c, Mothers.aTask().setTaskId(rolledBack).build());
          c.rollback();
          OutboxWriter.insert(c, Mothers.aTask().setTaskId(committed).setSource("billing")
              .build());
          c.commit();
        }
        pollUntil(consumer, tasks, 1);
        long latencyMs = (System.nanoTime() - t0) / 1_000_000;
        System.err.printf("outbox insert -> task on topic: %d ms%n", latencyMs);
        // the counter moves after the ledger write, which follows the broker's ack
        Databases.await(WAIT, "the ledger", () -> ingest.produced() == 1);
      }
      ConsumerRecord<byte[], byte[]> record = tasks.get(0);
      assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(committed);
      Task task = deserializer.deserialize(record.topic(), record.value());
      assertThat(task.getTaskId()).isEqualTo(committed);
      assertThat(task.getCode()).isEqualTo(Mothers.ADD_CODE);
      assertThat(task.getTestCode()).isEqualTo(Mothers.ADD_TEST);
      assertThat(task.getSource()).isEqualTo("billing");
      assertThat(task.getSubmittedAt()).isEqualTo(Mothers.T0);

      // Restart: the engine resumes from its stored offsets; nothing already produced comes again.
      String after = "task-" + UUID.randomUUID();
      try (OutboxIngest ingest = OutboxIngest.start(endpoints, options)) {
        long t1 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(url)) {
          OutboxWriter.insert(c, Mothers.aTask().setTaskId(after).build());
        }
        pollUntil(consumer, tasks, 2);
        System.err.printf("outbox insert -> task on topic after a restart: %d ms%n",
            (System.nanoTime() - t1) / 1_000_000);
        Databases.await(WAIT, "the ledger", () -> ingest.produced() == 1);
      }
      // One more quiet poll: no duplicate of either task, and never the rolled-back one.
      consumer.poll(Duration.ofMillis(500)).forEach(tasks::add);
      assertThat(tasks).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
          .containsExactly(committed, after);
    }
  }

  @Test
  void shouldStreamABurstCommittedInOneTransaction() throws Exception {
    int n = 500;
    String prefix = "burst-" + UUID.randomUUID() + "-";
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(endpoints.topics().tasks().name());
         OutboxIngest ingest = OutboxIngest.start(endpoints, options)) {
      long t0 = System.nanoTime();
      try (Connection c = DriverManager.getConnection(url)) {
        c.setAutoCommit(false);
        for (int i = 0; i < n; i++) {
          OutboxWriter.insert(c, Mothers.aTask().setTaskId(prefix + i).build());
        }
        c.commit();
      }
      List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
      Databases.await(WAIT, n + " burst tasks", () -> {
        consumer.poll(Duration.ofMillis(100)).forEach(r -> {
          if (new String(r.key(), StandardCharsets.UTF_8).startsWith(prefix)) {
            got.add(r);
          }
        });
        return got.size() >= n;
      });
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.err.printf("outbox burst: %d rows in one transaction -> %d tasks in %d ms%n", n,
          got.size(), ms);
      assertThat(got).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
          .doesNotHaveDuplicates().hasSize(n);
    }
  }

  @Test
  void shouldRecordARowAsIngestedOnlyOnceTheBrokerAcknowledgedItsTask() throws Exception {
    // Topics of their own: the broker is made to refuse every write on this tasks topic.
    Endpoints refusing = stack.newEndpoints().withJdbcUrl(url);
    String topic = refusing.topics().tasks().name();
    Records.refuseWrites(refusing, topic, true);
    String taskId = "task-" + UUID.randomUUID();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(topic);
         OutboxIngest ingest = OutboxIngest.start(refusing,
             options.withSendTimeout(Duration.ofSeconds(2)))) {
      try (Connection c = DriverManager.getConnection(url)) {
        OutboxWriter.insert(c, Mothers.aTask().setTaskId(taskId).build());
      }
      Databases.await(WAIT, "a refused send", () -> ingest.sendFailures() >= 1);
      assertThat(ledgerRows(taskId)).as("recorded as ingested while refused").isZero();
      assertThat(ingest.produced()).isZero();

      Records.refuseWrites(refusing, topic, false);
      List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
      pollUntil(consumer, got, 1);
      Databases.await(WAIT, "the ledger", () -> ledgerRows(taskId) == 1);
      assertThat(ingest.produced()).isEqualTo(1);
      consumer.poll(Duration.ofMillis(500)).forEach(got::add);
      assertThat(got).extracting(Records::key).containsExactly(taskId);
    }
  }

  private static long ledgerRows(String taskId) {
    return Databases.count(url, "SELECT count(*) FROM outbox_ingested WHERE task_id = ?", taskId);
  }

  @Test
  void shouldRecogniseAnEventDeliveredAgainByItsOutboxId() throws Exception {
    // As if the engine crashed after producing but before its offsets were flushed: the same
    // outbox row id arrives again. The ledger written after the broker's ack recognises it.
    String taskId = "task-" + UUID.randomUUID();
    UUID outboxId = UUID.randomUUID();
    Databases.execute(url, "INSERT INTO outbox_ingested (outbox_id, task_id) VALUES ('"
        + outboxId + "', '" + taskId + "')");
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(endpoints.topics().tasks().name());
         OutboxIngest ingest = OutboxIngest.start(endpoints, options)) {
      try (Connection c = DriverManager.getConnection(url);
           var ps = c.prepareStatement("INSERT INTO outbox (id, aggregatetype, aggregateid, type,"
               + " payload) VALUES (?, 'task', ?, 'TaskSubmitted', CAST(? AS jsonb))")) {
        ps.setObject(1, outboxId);
        ps.setString(2, taskId);
        ps.setString(3, TaskJson.toJson(Mothers.aTask().setTaskId(taskId).build()));
        ps.executeUpdate();
      }
      Databases.await(WAIT, "the duplicate to be recognised",
          () -> ingest.duplicatesSkipped() == 1);
      List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
      consumer.poll(Duration.ofMillis(500)).forEach(got::add);
      assertThat(got).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
          .doesNotContain(taskId);
    }
  }

  @Test
  void shouldSendAPayloadThatIsNotATaskToTheDlqWithTheReason() throws Exception {
    String taskId = "task-" + UUID.randomUUID();
    try (KafkaConsumer<byte[], byte[]> dlq = consumer(endpoints.topics().dlq().name());
         OutboxIngest ingest = OutboxIngest.start(endpoints, options)) {
      try (Connection c = DriverManager.getConnection(url)) {
        OutboxWriter.insertRaw(c, taskId, "{\"description\": \"x\", \"priority\": 9}");
      }
      List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
      pollUntil(dlq, got, 1);
      Databases.await(WAIT, "the ledger", () -> ingest.deadLettered() == 1);
      ConsumerRecord<byte[], byte[]> dead = got.get(0);
      assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo(taskId);
      assertThat(new String(dead.value(), StandardCharsets.UTF_8)).contains("\"priority\": 9");
      assertThat(header(dead, DlqHeaders.EXCEPTION_MESSAGE)).contains("priority must be 1..5");
      assertThat(header(dead, DlqHeaders.STAGE)).isEqualTo(OutboxIngest.STAGE);
    }
  }

  private static void pollUntil(KafkaConsumer<byte[], byte[]> consumer,
      List<ConsumerRecord<byte[], byte[]>> into, int size) {
    Databases.await(WAIT, size + " record(s)", () -> {
      consumer.poll(Duration.ofMillis(100)).forEach(into::add);
      return into.size() >= size;
    });
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
