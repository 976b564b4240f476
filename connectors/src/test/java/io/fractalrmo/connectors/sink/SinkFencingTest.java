package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sink instance that lost its partitions (evicted while slow or paused) and commits its batch
 * late, against the instance that took the partitions over: whatever the order of their commits,
 * the rows keep the newest record and the stored offset does not move back. Real PostgreSQL,
 * real Avro records, two database sessions.
 */
class SinkFencingTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String GROUP = "sink-fencing";
  private static final List<TaskState> STATES = List.of(TaskState.RECEIVED, TaskState.ANALYZING,
      TaskState.EXECUTING, TaskState.SUCCEEDED);

  private static String url;
  private static TopicCatalog catalog;
  private static BatchWriter evicted;
  private static BatchWriter owner;

  @BeforeAll
  static void database() {
    TestStack stack = TestStack.sharedWithPostgres();
    url = Databases.fresh(stack);
    Migrations.apply(url);
    catalog = TopicCatalog.withPrefix("t-" + UUID.randomUUID() + ".");
    var deserializers = Map.<String, org.apache.kafka.common.serialization.Deserializer<
        ? extends org.apache.avro.specific.SpecificRecord>>of(catalog.taskStatus().name(),
        FractalSerdes.value(TaskStatus.class, stack.serdeConfig()).deserializer());
    evicted = new BatchWriter(GROUP, "sink-evicted", catalog, deserializers);
    owner = new BatchWriter(GROUP, "sink-owner", catalog, deserializers);
  }

  @Test
  void shouldKeepTheNewerRowAndOffsetWhenTheEvictedInstanceCommitsAfterTheOwner()
      throws Exception {
    String task = "task-" + UUID.randomUUID();
    TopicPartition tp = partition();
    List<ConsumerRecord<byte[], byte[]>> records = statuses(task, tp);

    try (Connection c = connect()) {
      owner.write(c, Map.of(tp, records));
      c.commit();
    }
    try (Connection c = connect()) {
      BatchWriter.Outcome late = evicted.write(c, Map.of(tp, records.subList(0, 2)));
      c.commit();
      assertThat(late.written()).as("rows the late batch changed").isZero();
      assertThat(late.stale()).isEqualTo(2);
    }

    assertThat(state(task)).isEqualTo("SUCCEEDED@3");
    assertThat(storedOffset(tp)).isEqualTo(4);
  }

  @Test
  void shouldKeepTheNewerRowAndOffsetWhenTheEvictedInstanceCommitsFirstWhileTheOwnerWaits()
      throws Exception {
    String task = "task-" + UUID.randomUUID();
    TopicPartition tp = partition();
    List<ConsumerRecord<byte[], byte[]>> records = statuses(task, tp);

    try (Connection late = connect(); Connection current = connect()) {
      // The evicted instance has written its (older) batch but not committed: it holds the row.
      evicted.write(late, Map.of(tp, records.subList(0, 2)));
      // The new owner writes the whole partition; its upsert waits for that row lock.
      CompletableFuture<BatchWriter.Outcome> owning = CompletableFuture.supplyAsync(() -> {
        try {
          BatchWriter.Outcome o = owner.write(current, Map.of(tp, records));
          current.commit();
          return o;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      Databases.await(WAIT, "the owner to wait for the evicted instance's row lock",
          () -> Databases.count(url, "SELECT count(*) FROM pg_stat_activity"
              + " WHERE wait_event_type = 'Lock' AND datname = current_database()") > 0
              || owning.isDone());
      assertThat(owning).as("the owner is blocked by the evicted instance").isNotDone();
      late.commit();
      BatchWriter.Outcome o = owning.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(o.written()).as("the owner replaces the older row").isPositive();
    }

    assertThat(state(task)).isEqualTo("SUCCEEDED@3");
    assertThat(storedOffset(tp)).isEqualTo(4);
  }

  @Test
  void shouldReplaceARowWithALaterOffsetOnlyAndApplyAReplayAsNoChange() throws Exception {
    String task = "task-" + UUID.randomUUID();
    TopicPartition tp = partition();
    List<ConsumerRecord<byte[], byte[]>> records = statuses(task, tp);
    try (Connection c = connect()) {
      owner.write(c, Map.of(tp, records.subList(0, 3)));
      c.commit();
      assertThat(state(task)).isEqualTo("EXECUTING@2");
      BatchWriter.Outcome replay = owner.write(c, Map.of(tp, records));
      c.commit();
      assertThat(replay.stale()).as("offsets 0-2 again").isEqualTo(3);
      assertThat(replay.written()).as("offset 3 is new").isEqualTo(1);
    }
    assertThat(state(task)).isEqualTo("SUCCEEDED@3");
  }

  /** A fresh partition of the status topic per test (its own sink_offsets row). */
  private static TopicPartition partition() {
    return new TopicPartition(catalog.taskStatus().name(), (int) (Math.random() * 1_000_000));
  }

  /** RECEIVED, ANALYZING, EXECUTING, SUCCEEDED for one task, at offsets 0..3 of one partition. */
  private static List<ConsumerRecord<byte[], byte[]>> statuses(String task,
      TopicPartition tp) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (var serializer = FractalSerdes.value(TaskStatus.class,
        TestStack.sharedWithPostgres().serdeConfig()).serializer()) {
      for (int i = 0; i < STATES.size(); i++) {
        TaskStatus status = TaskStatus.newBuilder().setTaskId(task).setState(STATES.get(i))
            .setUpdatedAt(Mothers.T0.plusSeconds(i)).build();
        out.add(new ConsumerRecord<>(tp.topic(), tp.partition(), i,
            task.getBytes(StandardCharsets.UTF_8),
            serializer.serialize(catalog.taskStatus().name(), status)));
      }
    }
    return out;
  }

  private static Connection connect() throws Exception {
    Connection c = DriverManager.getConnection(url);
    c.setAutoCommit(false);
    return c;
  }

  private static String state(String task) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
         var ps = c.prepareStatement(
             "SELECT state || '@' || src_offset FROM task_status WHERE task_id = ?")) {
      ps.setString(1, task);
      try (var rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static long storedOffset(TopicPartition tp) {
    return Databases.count(url, "SELECT next_offset FROM sink_offsets WHERE consumer_group = ?"
        + " AND topic = ? AND kafka_partition = ?", GROUP, tp.topic(), tp.partition());
  }
}
