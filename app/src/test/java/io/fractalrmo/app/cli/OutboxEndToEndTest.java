package io.fractalrmo.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.roles.AnalyzerRole;
import io.fractalrmo.agentworkers.roles.ExecutorRole;
import io.fractalrmo.agentworkers.roles.RoleOptions;
import io.fractalrmo.agentworkers.roles.ValidatorRole;
import io.fractalrmo.app.FractalCommand;
import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.outbox.OutboxIngest;
import io.fractalrmo.connectors.sink.SinkRole;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upstream path end to end: a row inserted into the outbox in a user transaction becomes a
 * Task (outbox ingest), runs through the whole pipeline, and its final status lands in PostgreSQL
 * (sink), where {@code fractal status} reads it. A rolled-back row leaves no trace.
 */
class OutboxEndToEndTest {

  private static final String CODE = "def add(a, b):\n    return a + b\n";
  private static final String TEST = "def check(f):\n    assert f(2, 3) == 5\n";

  @Test
  void shouldCarryACommittedOutboxRowToAFinalStatusInPostgres(@TempDir Path dir)
      throws Exception {
    TestStack stack = TestStack.sharedWithPostgres();
    String base = stack.jdbcUrl().orElseThrow();
    String db = "e2e_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + db);
    }
    String jdbc = base.replace("/fractal?", "/" + db + "?");
    Migrations.apply(jdbc);
    Endpoints endpoints = stack.newEndpoints().withJdbcUrl(jdbc);
    String slot = "e2e_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

    String committed = "outbox-e2e-" + UUID.randomUUID();
    String rolledBack = "outbox-e2e-" + UUID.randomUUID();
    Deque<AutoCloseable> roles = new ArrayDeque<>();
    try {
      roles.push(SinkRole.start(endpoints, SinkRole.Options.defaults()));
      roles.push(StreamsRole.start(endpoints, StreamsOptions.defaults(dir.resolve("streams"))));
      roles.push(AnalyzerRole.start(endpoints, RoleOptions.defaults()));
      roles.push(ExecutorRole.start(endpoints, RoleOptions.defaults()));
      roles.push(ValidatorRole.start(endpoints, RoleOptions.defaults()));
      roles.push(OutboxIngest.start(endpoints,
          OutboxIngest.Options.defaults(dir.resolve("outbox")).withSlotName(slot)));

      long t0 = System.nanoTime();
      try (Connection c = DriverManager.getConnection(jdbc);
           PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (id, aggregatetype,"
               + " aggregateid, type, payload) VALUES (?, 'task', ?, 'TaskSubmitted',"
               + " CAST(? AS jsonb))")) {
        c.setAutoCommit(false);
        insert(ps, rolledBack);
        c.rollback();
        insert(ps, committed);
        c.commit();
      }
      String state = awaitFinalState(jdbc, committed, Duration.ofSeconds(120));
      System.err.printf("outbox row -> final status in PostgreSQL: %d ms%n",
          (System.nanoTime() - t0) / 1_000_000);
      assertThat(state).isEqualTo("SUCCEEDED");
      assertThat(count(jdbc, "SELECT count(*) FROM tasks WHERE task_id = ?", committed))
          .isEqualTo(1);
      assertThat(count(jdbc, "SELECT count(*) FROM tasks WHERE task_id = ?", rolledBack))
          .isZero();
      assertThat(count(jdbc, "SELECT count(*) FROM task_status WHERE task_id = ?", rolledBack))
          .isZero();

      StringWriter out = new StringWriter();
      var cli = FractalCommand.commandLine();
      cli.setOut(new PrintWriter(out, true));
      int code = cli.execute("status", committed, "--jdbc-url", jdbc,
          "--bootstrap-servers", endpoints.bootstrapServers(),
          "--schema-registry-url", endpoints.schemaRegistryUrl());
      assertThat(code).isZero();
      assertThat(out.toString()).contains("task " + committed + ": SUCCEEDED")
          .contains("submitted").contains("validation");
    } finally {
      while (!roles.isEmpty()) {
        try {
          roles.pop().close();
        } catch (Exception e) {
          // keep stopping the rest
        }
      }
      try (Connection c = DriverManager.getConnection(jdbc); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE slot_name = '" + slot + "' AND NOT active");
      }
    }
  }

  private static void insert(PreparedStatement ps, String taskId) throws Exception {
    ps.setObject(1, UUID.randomUUID());
    ps.setString(2, taskId);
    ps.setString(3, "{\"description\": \"add two numbers\", \"code\": " + json(CODE)
        + ", \"test_code\": " + json(TEST) + ", \"entry_point\": \"add\"}");
    ps.executeUpdate();
  }

  private static String json(String s) {
    return new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(s).toString();
  }

  private static String awaitFinalState(String jdbc, String taskId, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try (Connection c = DriverManager.getConnection(jdbc);
           PreparedStatement ps = c.prepareStatement(
               "SELECT state FROM task_status WHERE task_id = ?")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && java.util.Set.of("SUCCEEDED", "FAILED", "REJECTED")
              .contains(rs.getString(1))) {
            return rs.getString(1);
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no final status for " + taskId + " within " + timeout);
  }

  private static long count(String jdbc, String sql, String arg) throws Exception {
    try (Connection c = DriverManager.getConnection(jdbc);
         PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
