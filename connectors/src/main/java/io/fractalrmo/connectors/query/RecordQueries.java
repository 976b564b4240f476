package io.fractalrmo.connectors.query;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What an operator asks the durable record: a task's history, a summary of recent tasks by
 * state, and the protocol rules with their evidence and trial figures. Read-only; each call uses
 * its own connection.
 */
public final class RecordQueries {

  private final String jdbcUrl;

  public RecordQueries(String jdbcUrl) {
    this.jdbcUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl");
  }

  /** One step in a task's history, in time order. */
  public record Event(Instant at, String kind, String detail) {
  }

  /** A task as recorded: its latest state and everything that happened to it. */
  public record TaskHistory(String taskId, Optional<String> description, Optional<String> state,
      Optional<String> failure, List<Event> events) {
  }

  /** Counts per state of tasks updated since a moment, and the latest few tasks. */
  public record Summary(Instant since, Map<String, Long> byState, List<RecentTask> recent) {
  }

  public record RecentTask(String taskId, String state, Instant updatedAt, String source,
      Optional<String> failure) {
  }

  /** A protocol rule with its evidence and trial figures. */
  public record RuleRow(String ruleId, int version, String status, String actionKind,
      String condition, double confidence, String description, String evidencePatternKey,
      long evidenceFrequency, Instant windowStart, Instant windowEnd,
      Optional<Trial> trial, Optional<String> statusReason, Instant updatedAt,
      boolean tombstoned) {
  }

  public record Trial(String trialId, int sampleSize, double errorRateWithout,
      double errorRateWith, double meanMsWithout, double meanMsWith, String verdict) {
  }

  /** The history of one task; empty when the record knows nothing of it. */
  public Optional<TaskHistory> history(String taskId) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl)) {
      c.setReadOnly(true);
      Optional<String> description = Optional.empty();
      List<Event> events = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT description, submitted_at, source, priority FROM tasks WHERE task_id = ?")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            description = Optional.of(rs.getString(1));
            events.add(new Event(instant(rs, 2), "submitted",
                "from " + rs.getString(3) + ", priority " + rs.getInt(4)));
          }
        }
      }
      Optional<String> state = Optional.empty();
      Optional<String> failure = Optional.empty();
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT state, failure_category, failure_reason,
                 t.value ->> 'state', (t.value ->> 'at')::timestamptz
          FROM task_status s LEFT JOIN LATERAL jsonb_array_elements(s.transitions) t ON true
          WHERE task_id = ?""")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            state = Optional.of(rs.getString(1));
            if (rs.getString(3) != null || rs.getString(2) != null) {
              failure = Optional.of(join(rs.getString(2), rs.getString(3)));
            }
            if (rs.getString(4) != null) {
              events.add(new Event(instant(rs, 5), "state", rs.getString(4)));
            }
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT created_at, action_id, type, attempt, applied_rule_ids, trial_id, trial_arm
          FROM action_items WHERE task_id = ?""")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String rules = rs.getString(5);
            String trial = rs.getString(6) == null ? ""
                : " trial " + rs.getString(6) + " " + rs.getString(7);
            events.add(new Event(instant(rs, 1), "action", rs.getString(3) + " " + rs.getString(2)
                + " attempt " + rs.getInt(4) + ("{}".equals(rules) ? "" : " rules " + rules)
                + trial));
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT validated_at, action_id, success, level_reached, level_requested, error_type,
                 error_message, duration_ms
          FROM validation_outcomes WHERE task_id = ?""")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String verdict = rs.getBoolean(3) ? "passed" : "failed";
            String error = rs.getString(6) == null ? ""
                : " " + rs.getString(6) + ": " + abbreviate(rs.getString(7), 80);
            events.add(new Event(instant(rs, 1), "validation", rs.getString(2) + " " + verdict
                + " level " + rs.getInt(4) + "/" + rs.getInt(5) + error + " in "
                + rs.getLong(8) + " ms"));
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT occurred_at, category, error_type, message, agent_type FROM error_logs
          WHERE task_id = ?""")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            events.add(new Event(instant(rs, 1), "error", rs.getString(2) + " " + rs.getString(3)
                + " (" + rs.getString(5) + "): " + abbreviate(rs.getString(4), 100)));
          }
        }
      }
      if (description.isEmpty() && state.isEmpty() && events.isEmpty()) {
        return Optional.empty();
      }
      events.sort((a, b) -> a.at().compareTo(b.at()));
      return Optional.of(new TaskHistory(taskId, description, state, failure, events));
    }
  }

  /** Tasks whose status changed since {@code since}, counted by state, and the latest {@code limit}. */
  public Summary summary(Instant since, int limit) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl)) {
      c.setReadOnly(true);
      Map<String, Long> byState = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT state, count(*) FROM task_status WHERE updated_at >= ?
          GROUP BY state ORDER BY count(*) DESC, state""")) {
        ps.setObject(1, java.time.OffsetDateTime.ofInstant(since, java.time.ZoneOffset.UTC));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            byState.put(rs.getString(1), rs.getLong(2));
          }
        }
      }
      List<RecentTask> recent = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT task_id, state, updated_at, source, failure_category, failure_reason
          FROM task_status ORDER BY updated_at DESC LIMIT ?""")) {
        ps.setInt(1, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            Optional<String> failure = rs.getString(5) == null && rs.getString(6) == null
                ? Optional.empty() : Optional.of(join(rs.getString(5), rs.getString(6)));
            recent.add(new RecentTask(rs.getString(1), rs.getString(2), instant(rs, 3),
                rs.getString(4), failure));
          }
        }
      }
      return new Summary(since, byState, recent);
    }
  }

  /**
   * Protocol rules, most recently changed first: the live ones (CANDIDATE, ACTIVE, not
   * tombstoned), or with {@code all} also REJECTED and RETIRED ones.
   */
  public List<RuleRow> rules(boolean all) throws SQLException {
    String where = all ? "" : "WHERE status IN ('ACTIVE', 'CANDIDATE') AND tombstoned_at IS NULL";
    try (Connection c = DriverManager.getConnection(jdbcUrl);
         PreparedStatement ps = c.prepareStatement("""
             SELECT rule_id, version, status, action_kind, condition_category,
                    condition_error_type, condition_fix_key, condition_action_type, confidence,
                    description, evidence_pattern_key, evidence_frequency, evidence_window_start,
                    evidence_window_end, trial_id, trial_sample_size, trial_error_rate_without,
                    trial_error_rate_with, trial_mean_ms_without, trial_mean_ms_with,
                    trial_verdict, status_reason, updated_at, tombstoned_at IS NOT NULL
             FROM protocol_rules %s
             ORDER BY CASE status WHEN 'ACTIVE' THEN 0 WHEN 'CANDIDATE' THEN 1 ELSE 2 END,
                      updated_at DESC""".formatted(where))) {
      List<RuleRow> rows = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          StringBuilder condition = new StringBuilder(rs.getString(5)).append('|')
              .append(rs.getString(6));
          if (rs.getString(7) != null) {
            condition.append('|').append(rs.getString(7));
          }
          if (rs.getString(8) != null) {
            condition.append(" on ").append(rs.getString(8));
          }
          Optional<Trial> trial = rs.getString(15) == null ? Optional.empty()
              : Optional.of(new Trial(rs.getString(15), rs.getInt(16), rs.getDouble(17),
                  rs.getDouble(18), rs.getDouble(19), rs.getDouble(20),
                  Objects.toString(rs.getString(21), "")));
          rows.add(new RuleRow(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4),
              condition.toString(), rs.getDouble(9), rs.getString(10), rs.getString(11),
              rs.getLong(12), instant(rs, 13), instant(rs, 14), trial,
              Optional.ofNullable(rs.getString(22)), instant(rs, 23), rs.getBoolean(24)));
        }
      }
      return rows;
    }
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    java.sql.Timestamp ts = rs.getTimestamp(column);
    return ts == null ? Instant.EPOCH : ts.toInstant();
  }

  private static String join(String category, String reason) {
    if (category == null) {
      return reason;
    }
    return reason == null ? category : category + ": " + reason;
  }

  static String abbreviate(String s, int max) {
    if (s == null) {
      return "";
    }
    String one = s.replace('\n', ' ');
    return one.length() <= max ? one : one.substring(0, max - 1) + "…";
  }
}
