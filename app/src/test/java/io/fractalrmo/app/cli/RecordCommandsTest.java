package io.fractalrmo.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.FractalCommand;
import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import java.time.Instant;
import java.util.Map;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fractal submit}, {@code status} and {@code rules} against a real stack. */
class RecordCommandsTest {

  private static TestStack stack;
  private static Endpoints endpoints;
  private static String jdbc;

  @BeforeAll
  static void stack() throws Exception {
    stack = TestStack.sharedWithPostgres();
    String base = stack.jdbcUrl().orElseThrow();
    String db = "cli_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + db);
    }
    jdbc = base.replace("/fractal?", "/" + db + "?");
    Migrations.apply(jdbc);
    endpoints = stack.newEndpoints().withJdbcUrl(jdbc);
  }

  @Test
  void shouldProduceASubmittedTaskKeyedByItsId(@TempDir Path dir) throws Exception {
    Path code = Files.writeString(dir.resolve("add.py"), "def add(a, b):\n    return a + b\n");
    Path test = Files.writeString(dir.resolve("test.py"),
        "def check(f):\n    assert f(1, 2) == 3\n");
    Result r = run("submit", "--description", "add two numbers", "--code-file", code.toString(),
        "--test-file", test.toString(), "--entry-point", "add", "--time-limit-ms", "3000");
    assertThat(r.code()).as(r.err()).isZero();
    String taskId = r.out().trim();

    ConsumerRecord<String, Task> record = readTask(taskId);
    assertThat(record.key()).isEqualTo(taskId);
    assertThat(record.value().getTestCode()).contains("assert f(1, 2) == 3");
    assertThat(record.value().getEntryPoint()).isEqualTo("add");
    assertThat(record.value().getTimeLimitMs()).isEqualTo(3000);
    assertThat(record.value().getSource()).isEqualTo("cli");
  }

  @Test
  void shouldWaitForTheFinalStatusAndPrintIt(@TempDir Path dir) throws Exception {
    // The pipeline is not running here: publish the final status the streams app would write.
    String taskId = "waited-" + UUID.randomUUID();
    String topic = endpoints.topics().taskStatus().name();
    try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, TaskStatus>(
        Map.<String, Object>of("bootstrap.servers", endpoints.bootstrapServers()),
        new org.apache.kafka.common.serialization.StringSerializer(),
        FractalSerdes.value(TaskStatus.class, stack.serdeConfig()).serializer())) {
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, taskId,
          TaskStatus.newBuilder().setTaskId(taskId).setState(TaskState.FAILED)
              .setFailureCategory(ErrorCategory.LOGIC).setFailureReason("AssertionError")
              .setUpdatedAt(Instant.now()).build())).get();
    }
    Result r = run("submit", "--description", "d", "--task-id", taskId, "--wait",
        "--wait-timeout", "PT30S");
    assertThat(r.out()).startsWith(taskId + System.lineSeparator())
        .contains("FAILED (LOGIC: AssertionError)");
    assertThat(r.code()).as("a failed task fails the command").isEqualTo(1);
  }

  @Test
  void shouldInsertIntoTheOutboxWithViaOutbox(@TempDir Path dir) throws Exception {
    Path json = Files.writeString(dir.resolve("task.json"),
        "{\"task_id\": \"from-json-1\", \"description\": \"d\", \"code\": \"x = 1\"}");
    Result r = run("submit", "--json", json.toString(), "--via-outbox");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out().trim()).isEqualTo("from-json-1");
    try (Connection c = DriverManager.getConnection(jdbc);
         PreparedStatement ps = c.prepareStatement(
             "SELECT aggregatetype, payload ->> 'code' FROM outbox WHERE aggregateid = ?")) {
      ps.setString(1, "from-json-1");
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("task");
        assertThat(rs.getString(2)).isEqualTo("x = 1");
      }
    }
  }

  @Test
  void shouldRejectAnInvalidJsonTaskWithTheReason(@TempDir Path dir) throws Exception {
    Path json = Files.writeString(dir.resolve("bad.json"), "{\"description\": \"d\", \"prio\": 1}");
    Result r = run("submit", "--json", json.toString());
    assertThat(r.code()).isNotZero();
    assertThat(r.err()).contains("unknown field 'prio'");
  }

  @Test
  void shouldAnswerStatusAndRulesFromTheRecord() {
    Result summary = run("status");
    assertThat(summary.code()).as(summary.err()).isZero();
    assertThat(summary.out()).contains("tasks updated since");

    Result unknown = run("status", "no-such-task");
    assertThat(unknown.code()).isNotZero();
    assertThat(unknown.err()).contains("no task no-such-task");

    Result rules = run("rules");
    assertThat(rules.code()).as(rules.err()).isZero();
    assertThat(rules.out()).contains("no live protocol rules");
  }

  private record Result(int code, String out, String err) {
  }

  private static Result run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--bootstrap-servers", endpoints.bootstrapServers(),
        "--schema-registry-url", endpoints.schemaRegistryUrl(), "--jdbc-url", jdbc,
        "--topic-prefix", endpoints.topics().prefix()));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cli = FractalCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(all.toArray(String[]::new));
    return new Result(code, out.toString(), err.toString());
  }

  private static ConsumerRecord<String, Task> readTask(String key) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, Task> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        FractalSerdes.value(Task.class, stack.serdeConfig()).deserializer())) {
      consumer.subscribe(List.of(endpoints.topics().tasks().name()));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Task> r : consumer.poll(Duration.ofMillis(200))) {
          if (key.equals(r.key())) {
            return r;
          }
        }
      }
      throw new AssertionError("no task " + key + " on " + endpoints.topics().tasks().name());
    }
  }
}
