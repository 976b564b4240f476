package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SinkRoleTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static TestStack stack;
  private static String url;

  @BeforeAll
  static void database() {
    stack = TestStack.sharedWithPostgres();
    url = Databases.fresh(stack);
    Migrations.apply(url);
  }

  @Test
  void shouldWriteOneRowPerRecordAndGiveTheSameRowsWhenReplayed() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String task = "task-" + UUID.randomUUID();
    String rule = "rule-" + UUID.randomUUID();
    produceAll(endpoints, task, rule);
    SinkRole.Options options = SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID());

    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "every row", () -> rowsFor(task, rule) == 9);
    }
    Map<String, String> before = snapshot(task, rule);
    assertThat(before.get("task_status")).contains("SUCCEEDED");
    assertThat(before.get("protocol_rules")).contains("ACTIVE").contains("tombstoned=t;");
    assertThat(before.get("tasks")).contains("Add two numbers");

    // A crash after the rows but before anything else is as if the offsets were never stored:
    // the sink replays every record. The rows must come out the same: each already holds its
    // record's offset, so the replay changes none of them.
    Databases.execute(url, "DELETE FROM sink_offsets WHERE consumer_group = '"
        + options.groupId() + "'");
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the replay", () -> sink.recordsApplied() >= 11);
      assertThat(sink.rowsWritten()).as("rows changed by the replay").isZero();
      assertThat(sink.staleSkipped()).as("records recognised as already stored").isEqualTo(11);
    }
    assertThat(snapshot(task, rule)).isEqualTo(before);
    assertThat(rowsFor(task, rule)).isEqualTo(9);
  }

  @Test
  void shouldResumeFromTheOffsetsStoredWithTheRows() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    SinkRole.Options options = SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID());
    String first = "task-" + UUID.randomUUID();
    produce(endpoints, endpoints.topics().tasks(), first, Mothers.aTask().setTaskId(first).build());
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the first task", () -> taskRows(first) == 1);
    }
    String second = "task-" + UUID.randomUUID();
    produce(endpoints, endpoints.topics().tasks(), second,
        Mothers.aTask().setTaskId(second).build());
    try (SinkRole sink = SinkRole.start(endpoints, options)) {
      Databases.await(WAIT, "the second task", () -> taskRows(second) == 1);
      // counters move just after the commit that made the row visible
      Databases.await(WAIT, "the counter", () -> sink.rowsWritten() >= 1);
      assertThat(sink.rowsWritten()).as("only the new record is applied").isEqualTo(1);
    }
    assertThat(Databases.count(url, "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets"
        + " WHERE consumer_group = ? AND topic = ?", options.groupId(),
        endpoints.topics().tasks().name())).isEqualTo(2);
  }

  /**
   * The group's committed offsets only feed lag monitoring (the sink resumes from sink_offsets),
   * so they are committed at most once per spacing: they still reach the end of what was applied
   * when no further record comes, and when the sink stops right after a record.
   */
  @Test
  void shouldBringItsGroupOffsetsToTheEndOfWhatItAppliedForLagMonitoring() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String group = "sink-" + UUID.randomUUID();
    String topic = endpoints.topics().tasks().name();
    String first = "lag-" + UUID.randomUUID();
    String second = "lag-" + UUID.randomUUID();
    try (SinkRole sink = SinkRole.start(endpoints, SinkRole.Options.defaults().withGroupId(group));
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            endpoints.bootstrapServers()))) {
      for (int i = 0; i < 5; i++) {
        String id = first + "-" + i;
        produce(endpoints, endpoints.topics().tasks(), id, Mothers.aTask().setTaskId(id).build());
      }
      Databases.await(WAIT, "5 rows", () -> Databases.count(url,
          "SELECT count(*) FROM tasks WHERE task_id LIKE ?", first + "%") == 5);
      // no record comes after these: the spacing's end alone brings the offsets up
      Databases.await(WAIT, "the group's offsets at the end of " + topic,
          () -> lag(admin, group, topic) == 0);

      produce(endpoints, endpoints.topics().tasks(), second, Mothers.aTask().setTaskId(second).build());
      Databases.await(WAIT, "the last row", () -> taskRows(second) == 1);
      sink.close();
      assertThat(lag(admin, group, topic)).as("lag after a stop right after a record").isZero();
    }
  }

  /** Records of {@code topic} beyond the group's committed offsets. */
  private static long lag(Admin admin, String group, String topic) {
    try {
      return lagOrThrow(admin, group, topic);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the lag of " + group + " on " + topic, e);
    }
  }

  private static long lagOrThrow(Admin admin, String group, String topic) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicPartitionInfo p : admin.describeTopics(List.of(topic)).allTopicNames()
        .get(30, TimeUnit.SECONDS).get(topic).partitions()) {
      latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
    }
    long lag = 0;
    for (var e : admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      lag += e.getValue().offset() - (c == null ? 0 : c.offset());
    }
    return lag;
  }

  @Test
  void shouldStoreABacklogOfRecords() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    int n = 2000;
    String prefix = "backlog-" + UUID.randomUUID() + "-";
    try (var serializer = FractalSerdes.value(io.fractalrmo.contracts.Task.class,
             stack.serdeConfig()).serializer();
         KafkaProducer<byte[], byte[]> producer = rawProducer(endpoints)) {
      String topic = endpoints.topics().tasks().name();
      for (int i = 0; i < n; i++) {
        producer.send(new ProducerRecord<>(topic, utf8(prefix + i), serializer.serialize(topic,
            Mothers.aTask().setTaskId(prefix + i).build())));
      }
      producer.flush();
    }
    long t0 = System.nanoTime();
    try (SinkRole sink = SinkRole.start(endpoints,
        SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID()))) {
      Databases.await(WAIT, n + " rows", () -> Databases.count(url,
          "SELECT count(*) FROM tasks WHERE task_id LIKE ?", prefix + "%") == n);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.err.printf("sink: %d task records -> rows in %d ms (%.0f rows/s, start included)%n",
        n, ms, n * 1000.0 / ms);
  }

  @Test
  void shouldSendAnUndeserializableRecordToTheDlqAndGoOn() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String good = "task-" + UUID.randomUUID();
    try (KafkaProducer<byte[], byte[]> raw = rawProducer(endpoints)) {
      raw.send(new ProducerRecord<>(endpoints.topics().tasks().name(),
          utf8("bad-key"), utf8("not avro at all"))).get();
    }
    produce(endpoints, endpoints.topics().tasks(), good, Mothers.aTask().setTaskId(good).build());

    try (SinkRole sink = SinkRole.start(endpoints,
        SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID()))) {
      Databases.await(WAIT, "the good task", () -> taskRows(good) == 1);
      Databases.await(WAIT, "the DLQ counter", () -> sink.deadLettered() >= 1);
      assertThat(sink.deadLettered()).isEqualTo(1);
    }
    ConsumerRecord<byte[], byte[]> dead = readOne(endpoints, endpoints.topics().dlq());
    assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo("bad-key");
    assertThat(new String(dead.value(), StandardCharsets.UTF_8)).isEqualTo("not avro at all");
    assertThat(header(dead, DlqHeaders.TOPIC)).isEqualTo(endpoints.topics().tasks().name());
    assertThat(header(dead, DlqHeaders.OFFSET)).isEqualTo("0");
    assertThat(header(dead, DlqHeaders.STAGE)).isEqualTo("sink");
    assertThat(header(dead, DlqHeaders.EXCEPTION_CLASS)).contains("SerializationException");
  }

  @Test
  void shouldSendARecordTheDatabaseRejectsToTheDlqAndKeepTheRestOfItsBatch() throws Exception {
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(url);
    String bad = "task-" + UUID.randomUUID();
    String good = "task-" + UUID.randomUUID();
    // PostgreSQL text cannot hold NUL: the upsert fails with SQLSTATE 22021 (a data error).
    produce(endpoints, endpoints.topics().tasks(), bad,
        Mothers.aTask().setTaskId(bad).setDescription("a\u0000b").build());
    produce(endpoints, endpoints.topics().tasks(), good, Mothers.aTask().setTaskId(good).build());

    try (SinkRole sink = SinkRole.start(endpoints,
        SinkRole.Options.defaults().withGroupId("sink-" + UUID.randomUUID()))) {
      Databases.await(WAIT, "the good task", () -> taskRows(good) == 1);
      Databases.await(WAIT, "the DLQ counter", () -> sink.deadLettered() >= 1);
    }
    assertThat(taskRows(bad)).isZero();
    ConsumerRecord<byte[], byte[]> dead = readOne(endpoints, endpoints.topics().dlq());
    assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo(bad);
    assertThat(header(dead, DlqHeaders.EXCEPTION_CLASS)).contains("PSQLException");
  }

  private static void produceAll(Endpoints e, String task, String rule) throws Exception {
    var topics = e.topics();
    produce(e, topics.tasks(), task, Mothers.aTask().setTaskId(task).build());
    produce(e, topics.actionItems(), task,
        Mothers.anActionItem().setTaskId(task).setActionId(task + ":1").build());
    produce(e, topics.validationOutcomes(), task, ValidationOutcome.newBuilder()
        .setTaskId(task).setActionId(task + ":1").setValidatorId("validator-test")
        .setSuccess(true).setLevelRequested(3).setLevelReached(3)
        .setChecks(List.of(ValidationCheck.newBuilder().setLevel(1).setName("syntax")
            .setPassed(true).setDurationMs(3L).build()))
        .setDurationMs(12L).setValidatedAt(Mothers.T0).build());
    produce(e, topics.errors(), task, Mothers.anErrorEvent().setTaskId(task)
        .setErrorId(task + ":err").build());
    produce(e, topics.errorPatterns(), "DEPENDENCY|NameError|" + task, ErrorPattern.newBuilder()
        .setPatternKey("DEPENDENCY|NameError|" + task).setCategory(ErrorCategory.DEPENDENCY)
        .setErrorType("NameError").setFixKey(task).setWindowStart(Mothers.T0)
        .setWindowEnd(Mothers.T0.plusSeconds(30)).setFrequency(4L).setConfidence(0.85)
        .setSuggestedAction(RuleActionKind.ADD_MISSING_IMPORTS).setEmittedAt(Mothers.T0)
        .build());
    produce(e, topics.protocolRules(), rule, Mothers.aRule().setRuleId(rule).build());
    produce(e, topics.protocolRules(), rule, Mothers.aRule().setRuleId(rule).setVersion(2)
        .setStatus(RuleStatus.ACTIVE).build());
    produce(e, topics.protocolRules(), rule + "-retired",
        Mothers.aRule().setRuleId(rule + "-retired").setStatus(RuleStatus.RETIRED).build());
    produce(e, topics.protocolRules(), rule + "-retired", null); // tombstone
    produce(e, topics.taskStatus(), task, TaskStatus.newBuilder().setTaskId(task)
        .setState(TaskState.SUCCEEDED).setPreviousState(TaskState.VALIDATING)
        .setTransitions(List.of(
            StateTransition.newBuilder().setState(TaskState.RECEIVED).setAt(Mothers.T0).build(),
            StateTransition.newBuilder().setState(TaskState.SUCCEEDED)
                .setAt(Mothers.T0.plusSeconds(2)).build()))
        .setUpdatedAt(Mothers.T0.plusSeconds(2)).build());
    produce(e, topics.agentStatus(), "agent-" + task, AgentStatus.newBuilder()
        .setAgentId("agent-" + task).setAgentType("executor").setNewState(AgentState.IDLE)
        .setUpdatedAt(Mothers.T0).build());
  }

  /** tasks, action_items, validation_outcomes, error_logs, patterns, 2 rules, status, agent. */
  private static long rowsFor(String task, String rule) {
    return Databases.count(url, """
        SELECT (SELECT count(*) FROM tasks WHERE task_id = ?)
             + (SELECT count(*) FROM action_items WHERE task_id = ?)
             + (SELECT count(*) FROM validation_outcomes WHERE task_id = ?)
             + (SELECT count(*) FROM error_logs WHERE task_id = ?)
             + (SELECT count(*) FROM patterns WHERE fix_key = ?)
             + (SELECT count(*) FROM protocol_rules WHERE rule_id IN (?, ?)
                  AND (rule_id = ? OR tombstoned_at IS NOT NULL))
             + (SELECT count(*) FROM task_status WHERE task_id = ?)
             + (SELECT count(*) FROM agents WHERE agent_id = ?)""",
        task, task, task, task, task, rule, rule + "-retired", rule, task, "agent-" + task);
  }

  private static long taskRows(String task) {
    return Databases.count(url, "SELECT count(*) FROM tasks WHERE task_id = ?", task);
  }

  /** Every column of every row about this task and rule, as text (recorded_at excluded). */
  private static Map<String, String> snapshot(String task, String rule) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> queries = new LinkedHashMap<>();
    queries.put("tasks", "SELECT * FROM tasks WHERE task_id = '" + task + "'");
    queries.put("action_items", "SELECT * FROM action_items WHERE task_id = '" + task + "'");
    queries.put("validation_outcomes",
        "SELECT * FROM validation_outcomes WHERE task_id = '" + task + "'");
    queries.put("error_logs", "SELECT * FROM error_logs WHERE task_id = '" + task + "'");
    queries.put("patterns", "SELECT * FROM patterns WHERE fix_key = '" + task + "'");
    queries.put("protocol_rules", "SELECT *, tombstoned_at IS NOT NULL AS tombstoned"
        + " FROM protocol_rules WHERE rule_id LIKE '" + rule + "%' ORDER BY rule_id");
    queries.put("task_status", "SELECT * FROM task_status WHERE task_id = '" + task + "'");
    queries.put("agents", "SELECT * FROM agents WHERE agent_id = 'agent-" + task + "'");
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      for (Map.Entry<String, String> q : queries.entrySet()) {
        StringBuilder text = new StringBuilder();
        try (ResultSet rs = s.executeQuery(q.getValue())) {
          while (rs.next()) {
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
              String column = rs.getMetaData().getColumnName(i);
              if (!column.equals("recorded_at")) {
                text.append(column).append('=').append(rs.getString(i)).append(';');
              }
            }
            text.append('\n');
          }
        }
        out.put(q.getKey(), text.toString());
      }
    }
    return out;
  }

  private static <T extends SpecificRecord> void produce(Endpoints e, TopicSpec topic, String key,
      T value) throws Exception {
    byte[] bytes = null;
    if (value != null) {
      @SuppressWarnings("unchecked")
      Class<T> type = (Class<T>) value.getClass();
      try (var serializer = FractalSerdes.value(type, stack.serdeConfig()).serializer()) {
        bytes = serializer.serialize(topic.name(), value);
      }
    }
    try (KafkaProducer<byte[], byte[]> producer = rawProducer(e)) {
      producer.send(new ProducerRecord<>(topic.name(), utf8(key), bytes)).get();
    }
  }

  private static KafkaProducer<byte[], byte[]> rawProducer(Endpoints e) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  static ConsumerRecord<byte[], byte[]> readOne(Endpoints e, TopicSpec topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<byte[], byte[]> consumer =
             new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic.name()));
      List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
      Databases.await(WAIT, "a record on " + topic.name(), () -> {
        consumer.poll(Duration.ofMillis(200)).forEach(got::add);
        return !got.isEmpty();
      });
      return got.get(0);
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
