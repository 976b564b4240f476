package io.fractalrmo.connectors.outbox;

import io.fractalrmo.contracts.Task;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Inserts a task into the {@code outbox} table in the caller's transaction, as an upstream system
 * does: the row commits or rolls back with the caller's own work.
 */
public final class OutboxWriter {

  public static final String AGGREGATE_TYPE = "task";
  public static final String EVENT_TYPE = "TaskSubmitted";
  private static final String INSERT = """
      INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
      VALUES (?, ?, ?, ?, CAST(? AS jsonb))""";

  private OutboxWriter() {
  }

  /** Inserts the task; returns the outbox row id (the event id). Does not commit. */
  public static UUID insert(Connection c, Task task) throws SQLException {
    return insertRaw(c, task.getTaskId(), TaskJson.toJson(task));
  }

  /** Inserts any payload for the aggregate (tests use it for a payload that is not a task). */
  public static UUID insertRaw(Connection c, String aggregateId, String payloadJson)
      throws SQLException {
    UUID id = UUID.randomUUID();
    try (PreparedStatement ps = c.prepareStatement(INSERT)) {
      ps.setObject(1, id);
      ps.setString(2, AGGREGATE_TYPE);
      ps.setString(3, aggregateId);
      ps.setString(4, EVENT_TYPE);
      ps.setString(5, payloadJson);
      ps.executeUpdate();
    }
    return id;
  }
}
