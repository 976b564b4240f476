package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.connectors.support.Records;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink against real PostgreSQL errors of each class and a broker that refuses the DLQ: a bad
 * row goes to the DLQ with its SQL state and the rest is stored; a transient error is retried and
 * then stored once; one that persists, or a fatal one, stops the sink without committing past
 * the record; a DLQ write the broker does not acknowledge holds the batch back until it does.
 * The errors come from PostgreSQL itself: a CHECK constraint, the btree's row size limit, and a
 * trigger that raises a chosen SQLSTATE a given number of times.
 */
class SinkFailuresTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static TestStack stack;
  private static String url;

  @BeforeAll
  static void database() {
    stack = TestStack.sharedWithPostgres();
    url = Databases.fresh(stack);
    Migrations.apply(url);
    Databases.execute(url, """
        ALTER TABLE tasks ADD CONSTRAINT refused_by_check CHECK (task_id NOT LIKE 'refused-%');
        CREATE TABLE fault_plan (prefix text PRIMARY KEY, sql_state text NOT NULL,
          times integer NOT NULL, hits text NOT NULL);
        CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE p fault_plan%ROWTYPE;
        BEGIN
          SELECT * INTO p FROM fault_plan WHERE NEW.task_id LIKE prefix || '%';
          -- a sequence counts the hits: it is not rolled back with the failing transaction
          IF FOUND AND (p.times < 0 OR nextval(p.hits::regclass) <= p.times) THEN
            RAISE EXCEPTION 'injected fault for %', NEW.task_id USING ERRCODE = p.sql_state;
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER inject_fault BEFORE INSERT OR UPDATE ON tasks
          FOR EACH ROW EXECUTE FUNCTION inject_fault();""");
  }

  @Test
  void shouldSendRowsTheDatabaseRefusesToTheDlqWithTheirSqlStateAndStoreTheRest()
      throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String nul = "nul-" + UUID.randomUUID();
    String refused = "refused-" + UUID.randomUUID();
    String tooLong = "long-" + randomLetters(12_000); // incompressible: beyond a btree row
    String good = "good-" + UUID.randomUUID();
    produceTask(endpoints, nul, "a\u0000b");
    produceTask(endpoints, refused, "x");
    produceTask(endpoints, tooLong, "x");
    produceTask(endpoints, good, "x");

    try (SinkRole sink = SinkRole.start(endpoints, options())) {
      Databases.await(WAIT, "the good task", () -> taskRows(good) == 1);
      Databases.await(WAIT, "three dead letters", () -> sink.deadLettered() == 3);
      assertThat(sink.health()).isEqualTo(SinkRole.Health.RUNNING);
    }
    assertThat(taskRows(nul) + taskRows(refused) + taskRows(tooLong)).isZero();
    List<ConsumerRecord<byte[], byte[]>> dead = Records.readAll(endpoints,
        endpoints.topics().dlq().name());
    assertThat(dead).extracting(r -> Records.key(r) + " " + Records.header(r,
            BatchWriter.SQL_STATE_HEADER))
        .containsExactlyInAnyOrder(nul + " 22021", refused + " 23514", tooLong + " 54000");
    assertThat(dead).allSatisfy(r -> {
      assertThat(Records.header(r, DlqHeaders.STAGE)).isEqualTo("sink");
      assertThat(Records.header(r, DlqHeaders.EXCEPTION_MESSAGE))
          .hasSizeLessThanOrEqualTo(BatchWriter.MAX_MESSAGE_CHARS + 40);
    });
    assertFullyApplied(endpoints);
  }

  @Test
  void shouldRetryTransientErrorsOfEachClassAndStoreTheRowOnce() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    // serialization failure, deadlock, too many connections, statement timeout: twice each.
    // Each attempt of the batch stops at the first faulty row: 8 failed attempts in a row.
    List<String> states = List.of("40001", "40P01", "53300", "57014");
    List<String> tasks = states.stream().map(s -> "transient-" + s + "-" + UUID.randomUUID())
        .toList();
    for (int i = 0; i < states.size(); i++) {
      plan(tasks.get(i), states.get(i), 2);
      produceTask(endpoints, tasks.get(i), "x");
    }
    try (SinkRole sink = SinkRole.start(endpoints, options().withRetries(10,
        Duration.ofMillis(200)))) {
      Databases.await(WAIT, "every task", () -> tasks.stream().allMatch(t -> taskRows(t) == 1));
      assertThat(sink.failedAttempts()).as("attempts that failed").isEqualTo(8);
      assertThat(sink.deadLettered()).isZero();
      Databases.await(WAIT, "RUNNING", () -> sink.health() == SinkRole.Health.RUNNING);
    }
    assertFullyApplied(endpoints);
  }

  @Test
  void shouldStopWithoutCommittingPastARecordWhoseTransientErrorPersistsThenStoreItAfterwards()
      throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String stuck = "stuck-" + UUID.randomUUID();
    plan(stuck, "40001", -1);
    RecordMetadata at = produceTask(endpoints, stuck, "x");
    SinkRole.Options options = options();
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the sink to give up", () -> sink.health() == SinkRole.Health.FAILED);
      assertThat(sink.failedAttempts()).isEqualTo(options.maxTransientRetries());
      assertThat(sink.failure()).hasMessageContaining("40001");
    }
    assertThat(taskRows(stuck)).isZero();
    assertThat(storedOffset(options, at)).as("nothing committed past the record").isLessThan(
        at.offset() + 1);

    Databases.execute(url, "DELETE FROM fault_plan WHERE prefix = '" + stuck + "'");
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the record, after the fault is gone", () -> taskRows(stuck) == 1);
    }
  }

  @Test
  void shouldStopAtOnceOnAFatalErrorAndLoseNothing() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String denied = "denied-" + UUID.randomUUID();
    plan(denied, "42501", -1); // insufficient privilege: no retry helps
    RecordMetadata at = produceTask(endpoints, denied, "x");
    SinkRole.Options options = options();
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the sink to stop", () -> sink.health() == SinkRole.Health.FAILED);
      assertThat(sink.failedAttempts()).as("no retries").isZero();
      assertThat(sink.failure()).hasMessageContaining("42501");
    }
    assertThat(storedOffset(options, at)).isLessThan(at.offset() + 1);
    Databases.execute(url, "DELETE FROM fault_plan WHERE prefix = '" + denied + "'");
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the record", () -> taskRows(denied) == 1);
    }
  }

  @Test
  void shouldNotCommitABatchWhoseDeadLetterTheBrokerDidNotAcknowledge() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String dlq = endpoints.topics().dlq().name();
    Records.refuseWrites(endpoints, dlq, true); // the broker refuses every DLQ write
    String bad = "nul-" + UUID.randomUUID();
    RecordMetadata at = produceTask(endpoints, bad, "a\u0000b");
    SinkRole.Options options = options();
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "a refused DLQ write", () -> sink.failedAttempts() >= 1);
      assertThat(sink.health()).isEqualTo(SinkRole.Health.DEGRADED);
      assertThat(storedOffset(options, at)).as("the bad record is not skipped").isLessThan(
          at.offset() + 1);
      assertThat(sink.deadLettered()).isZero();

      Records.refuseWrites(endpoints, dlq, false);
      Databases.await(WAIT, "the dead letter", () -> sink.deadLettered() == 1);
      Databases.await(WAIT, "RUNNING", () -> sink.health() == SinkRole.Health.RUNNING);
    }
    assertThat(Records.readAll(endpoints, dlq)).extracting(Records::key).containsExactly(bad);
    assertThat(storedOffset(options, at)).isEqualTo(at.offset() + 1);
  }

  private static SinkRole.Options options() {
    return SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID())
        .withRetries(3, Duration.ofMillis(400)).withSendTimeout(Duration.ofSeconds(2));
  }

  /** The trigger raises {@code sqlState} for tasks starting with {@code prefix} (-1: always). */
  private static void plan(String prefix, String sqlState, int times) {
    String seq = "hits_" + UUID.randomUUID().toString().replace("-", "");
    Databases.execute(url, "CREATE SEQUENCE " + seq + "; INSERT INTO fault_plan VALUES ('"
        + prefix + "', '" + sqlState + "', " + times + ", '" + seq + "')");
  }

  private static RecordMetadata produceTask(Endpoints e, String id, String description)
      throws Exception {
    return Records.produce(e, stack.serdeConfig(), e.topics().tasks().name(), id,
        Mothers.aTask().setTaskId(id).setDescription(description).build());
  }

  private static long taskRows(String task) {
    return Databases.count(url, "SELECT count(*) FROM tasks WHERE task_id = ?", task);
  }

  private static long storedOffset(SinkRole.Options options, RecordMetadata at) {
    return Databases.count(url, "SELECT coalesce(max(next_offset), 0) FROM sink_offsets"
        + " WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?", options.groupId(),
        at.topic(), at.partition());
  }

  /** Every partition of the tasks topic is stored up to its end, in some group. */
  private static void assertFullyApplied(Endpoints e) throws Exception {
    var end = Records.endOffsets(e, List.of(e.topics().tasks().name()));
    for (var entry : end.entrySet()) {
      if (entry.getValue() > 0) {
        assertThat(Databases.count(url, "SELECT coalesce(max(next_offset), 0) FROM sink_offsets"
                + " WHERE topic = ? AND kafka_partition = ?", entry.getKey().topic(),
            entry.getKey().partition())).as("stored offset of %s", entry.getKey())
            .isEqualTo(entry.getValue());
      }
    }
  }

  private static String randomLetters(int n) {
    Random random = new Random(42);
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append((char) ('a' + random.nextInt(26)));
    }
    return s.toString();
  }
}
