package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.connectors.support.Records;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.platform.postgres.EmbeddedPostgres;
import io.fractalrmo.registry.testing.TestStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sink while its PostgreSQL goes away — stopped, then also during a rebalance of the sink's
 * group, or frozen with SIGSTOP — and comes back: the sink reports DEGRADED, its thread survives,
 * and once the database is back every record is stored and the stored offsets reach the end of
 * every partition. A PostgreSQL of its own (the shared one serves other tests).
 */
class SinkDatabaseOutageTest {

  private static final Duration WAIT = Duration.ofSeconds(90);
  private static TestStack stack;
  private static Path dir;
  private static EmbeddedPostgres postgres;
  private static int port;
  private static String url;

  /** One PostgreSQL for the class (initdb once); each test finds it running and leaves it so. */
  @BeforeAll
  static void database() throws Exception {
    stack = TestStack.sharedWithPostgres();
    dir = Files.createTempDirectory("sink-outage-");
    postgres = EmbeddedPostgres.start(dir);
    port = postgres.port();
    // short socket timeouts: a frozen server becomes an error within seconds
    url = postgres.jdbcUrl() + "&socketTimeout=4&connectTimeout=2&loginTimeout=4";
    Migrations.apply(url);
  }

  @BeforeEach
  void running() {
    if (postgres == null) {
      postgres = EmbeddedPostgres.start(dir, port); // a test that failed while it was away
    }
    postgres.resume();
  }

  @AfterAll
  static void stop() {
    if (postgres != null) {
      postgres.resume();
      postgres.close();
    }
    FileTrees.deleteTree(dir);
  }

  @Test
  void shouldWaitDegradedThroughAStoppedDatabaseAndARebalanceThenStoreEveryRecord()
      throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    SinkRole.Options options = SinkRole.Options.defaults()
        .withGroupId("sink-" + UUID.randomUUID()).withRetries(3, Duration.ofMillis(500));
    List<String> tasks = new ArrayList<>();
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      tasks.add(produceTask(endpoints));
      Databases.await(WAIT, "the first row", () -> storedTasks(tasks) == 1);

      postgres.close();
      postgres = null;
      for (int i = 0; i < 20; i++) {
        tasks.add(produceTask(endpoints));
      }
      Databases.await(WAIT, "DEGRADED", () -> sink.health() == SinkRole.Health.DEGRADED);

      // Another member joins and leaves the group while the database is down: the sink's
      // partitions are revoked and assigned again, and it cannot read their stored offsets.
      try (KafkaConsumer<byte[], byte[]> other = groupMember(endpoints, options.groupId())) {
        Databases.await(WAIT, "a rebalance", () -> {
          other.poll(Duration.ofMillis(200));
          return !other.assignment().isEmpty();
        });
      }
      for (int i = 0; i < 5; i++) {
        tasks.add(produceTask(endpoints));
      }
      Thread.sleep(2_000); // polling interval: let the sink meet the reassignment while down
      assertThat(sink.health()).isEqualTo(SinkRole.Health.DEGRADED);
      assertThat(sink.failure()).as("the sink thread survived").isNull();

      postgres = EmbeddedPostgres.start(dir, port);
      Databases.await(WAIT, "every row", () -> storedTasks(tasks) == tasks.size());
      Databases.await(WAIT, "RUNNING", () -> sink.health() == SinkRole.Health.RUNNING);
      assertStoredUpToTheEnd(endpoints, options);
      assertThat(sink.failedAttempts()).isPositive();
    }
  }

  @Test
  void shouldWaitDegradedWhileTheDatabaseIsFrozenThenStoreEveryRecord() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    SinkRole.Options options = SinkRole.Options.defaults()
        .withGroupId("sink-" + UUID.randomUUID()).withRetries(3, Duration.ofMillis(500));
    List<String> tasks = new ArrayList<>();
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      tasks.add(produceTask(endpoints));
      Databases.await(WAIT, "the first row", () -> storedTasks(tasks) == 1);

      postgres.pause(); // the postmaster and every backend, as a paused VM or container
      for (int i = 0; i < 20; i++) {
        tasks.add(produceTask(endpoints));
      }
      Databases.await(WAIT, "DEGRADED", () -> sink.health() == SinkRole.Health.DEGRADED);
      postgres.resume();

      Databases.await(WAIT, "every row", () -> storedTasks(tasks) == tasks.size());
      Databases.await(WAIT, "RUNNING", () -> sink.health() == SinkRole.Health.RUNNING);
      assertStoredUpToTheEnd(endpoints, options);
    }
  }

  private String produceTask(Endpoints e) throws Exception {
    String id = "task-" + UUID.randomUUID();
    Records.produce(e, stack.serdeConfig(), e.topics().tasks().name(), id,
        Mothers.aTask().setTaskId(id).build());
    return id;
  }

  /** How many of the tasks have a row; 0 while the database is away. */
  private static long storedTasks(List<String> tasks) {
    if (postgres == null) {
      return 0;
    }
    try {
      return Databases.count(url, "SELECT count(*) FROM tasks WHERE task_id = ANY(?)",
          (Object) tasks.toArray(String[]::new));
    } catch (IllegalStateException e) {
      return 0; // not answering yet
    }
  }

  private void assertStoredUpToTheEnd(Endpoints e, SinkRole.Options options) throws Exception {
    Map<TopicPartition, Long> end = Records.endOffsets(e, List.of(e.topics().tasks().name()));
    Databases.await(WAIT, "stored offsets at the end of every partition", () -> end.entrySet()
        .stream().allMatch(x -> Databases.count(url, "SELECT coalesce(max(next_offset), 0)"
            + " FROM sink_offsets WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?",
            options.groupId(), x.getKey().topic(), x.getKey().partition()) == x.getValue()));
  }

  private KafkaConsumer<byte[], byte[]> groupMember(Endpoints e, String group) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    c.subscribe(SinkRole.sunkTopics(e.topics()).stream().map(t -> t.name()).toList());
    return c;
  }
}
