package io.fractalrmo.connectors.sink;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationOutcome;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writes one record as one row, upserting by the record's id, so that writing the same record
 * twice leaves the same row, and a record never replaces a row written from a later offset of its
 * partition (an evicted sink instance that commits late cannot put older data over newer).
 * Knows nothing of Kafka consumers: the sink hands it a connection in a transaction and the
 * record's position.
 */
final class RowWriter {

  private static final String UPSERT_TASK = """
      INSERT INTO tasks (task_id, description, priority, language, code, entry_point, test_code,
        time_limit_ms, memory_limit_mb, validation_level, source, submitted_at, attributes,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?)
      ON CONFLICT (task_id) DO UPDATE SET description = EXCLUDED.description,
        priority = EXCLUDED.priority, language = EXCLUDED.language, code = EXCLUDED.code,
        entry_point = EXCLUDED.entry_point, test_code = EXCLUDED.test_code,
        time_limit_ms = EXCLUDED.time_limit_ms, memory_limit_mb = EXCLUDED.memory_limit_mb,
        validation_level = EXCLUDED.validation_level, source = EXCLUDED.source,
        submitted_at = EXCLUDED.submitted_at, attributes = EXCLUDED.attributes
      """ + fencedUpdate("tasks");

  private static final String UPSERT_ACTION = """
      INSERT INTO action_items (action_id, task_id, sequence, type, priority, attempt,
        validation_level, timeout_ms, memory_mb, applied_rule_ids, missing_aspects, findings,
        trial_id, trial_rule_id, trial_arm, created_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?, ?, ?)
      ON CONFLICT (action_id) DO UPDATE SET task_id = EXCLUDED.task_id,
        sequence = EXCLUDED.sequence, type = EXCLUDED.type, priority = EXCLUDED.priority,
        attempt = EXCLUDED.attempt, validation_level = EXCLUDED.validation_level,
        timeout_ms = EXCLUDED.timeout_ms, memory_mb = EXCLUDED.memory_mb,
        applied_rule_ids = EXCLUDED.applied_rule_ids, missing_aspects = EXCLUDED.missing_aspects,
        findings = EXCLUDED.findings, trial_id = EXCLUDED.trial_id,
        trial_rule_id = EXCLUDED.trial_rule_id, trial_arm = EXCLUDED.trial_arm,
        created_at = EXCLUDED.created_at
      """ + fencedUpdate("action_items");

  private static final String UPSERT_OUTCOME = """
      INSERT INTO validation_outcomes (action_id, task_id, validator_id, success, level_requested,
        level_reached, failed_level, error_type, error_message, error_category, applied_rule_ids,
        checks, trial_id, trial_rule_id, trial_arm, duration_ms, execution_duration_ms,
        validated_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (action_id) DO UPDATE SET task_id = EXCLUDED.task_id,
        validator_id = EXCLUDED.validator_id, success = EXCLUDED.success,
        level_requested = EXCLUDED.level_requested, level_reached = EXCLUDED.level_reached,
        failed_level = EXCLUDED.failed_level, error_type = EXCLUDED.error_type,
        error_message = EXCLUDED.error_message, error_category = EXCLUDED.error_category,
        applied_rule_ids = EXCLUDED.applied_rule_ids, checks = EXCLUDED.checks,
        trial_id = EXCLUDED.trial_id, trial_rule_id = EXCLUDED.trial_rule_id,
        trial_arm = EXCLUDED.trial_arm, duration_ms = EXCLUDED.duration_ms,
        execution_duration_ms = EXCLUDED.execution_duration_ms,
        validated_at = EXCLUDED.validated_at
      """ + fencedUpdate("validation_outcomes");

  private static final String UPSERT_ERROR = """
      INSERT INTO error_logs (error_id, agent_id, agent_type, task_id, action_id, category,
        error_type, message, fix_key, trial_id, context, occurred_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?)
      ON CONFLICT (error_id) DO UPDATE SET agent_id = EXCLUDED.agent_id,
        agent_type = EXCLUDED.agent_type, task_id = EXCLUDED.task_id,
        action_id = EXCLUDED.action_id, category = EXCLUDED.category,
        error_type = EXCLUDED.error_type, message = EXCLUDED.message, fix_key = EXCLUDED.fix_key,
        trial_id = EXCLUDED.trial_id, context = EXCLUDED.context,
        occurred_at = EXCLUDED.occurred_at
      """ + fencedUpdate("error_logs");

  private static final String UPSERT_PATTERN = """
      INSERT INTO patterns (pattern_key, window_start, window_end, category, error_type, fix_key,
        frequency, confidence, examples, suggested_fix, suggested_action, late_events, emitted_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?, ?, ?)
      ON CONFLICT (pattern_key, window_start) DO UPDATE SET window_end = EXCLUDED.window_end,
        category = EXCLUDED.category, error_type = EXCLUDED.error_type,
        fix_key = EXCLUDED.fix_key, frequency = EXCLUDED.frequency,
        confidence = EXCLUDED.confidence, examples = EXCLUDED.examples,
        suggested_fix = EXCLUDED.suggested_fix, suggested_action = EXCLUDED.suggested_action,
        late_events = EXCLUDED.late_events, emitted_at = EXCLUDED.emitted_at
      """ + fencedUpdate("patterns");

  private static final String UPSERT_RULE = """
      INSERT INTO protocol_rules (rule_id, version, description, condition_category,
        condition_error_type, condition_action_type, condition_fix_key, action_kind,
        action_parameters, confidence, status, status_reason, evidence_pattern_key,
        evidence_frequency, evidence_window_start, evidence_window_end, evidence_examples,
        trial_id, trial_sample_size, trial_error_rate_without, trial_error_rate_with,
        trial_mean_ms_without, trial_mean_ms_with, trial_verdict, trial_decided_at, created_at,
        updated_at, tombstoned_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb),
        ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
      ON CONFLICT (rule_id) DO UPDATE SET version = EXCLUDED.version,
        description = EXCLUDED.description, condition_category = EXCLUDED.condition_category,
        condition_error_type = EXCLUDED.condition_error_type,
        condition_action_type = EXCLUDED.condition_action_type,
        condition_fix_key = EXCLUDED.condition_fix_key, action_kind = EXCLUDED.action_kind,
        action_parameters = EXCLUDED.action_parameters, confidence = EXCLUDED.confidence,
        status = EXCLUDED.status, status_reason = EXCLUDED.status_reason,
        evidence_pattern_key = EXCLUDED.evidence_pattern_key,
        evidence_frequency = EXCLUDED.evidence_frequency,
        evidence_window_start = EXCLUDED.evidence_window_start,
        evidence_window_end = EXCLUDED.evidence_window_end,
        evidence_examples = EXCLUDED.evidence_examples, trial_id = EXCLUDED.trial_id,
        trial_sample_size = EXCLUDED.trial_sample_size,
        trial_error_rate_without = EXCLUDED.trial_error_rate_without,
        trial_error_rate_with = EXCLUDED.trial_error_rate_with,
        trial_mean_ms_without = EXCLUDED.trial_mean_ms_without,
        trial_mean_ms_with = EXCLUDED.trial_mean_ms_with, trial_verdict = EXCLUDED.trial_verdict,
        trial_decided_at = EXCLUDED.trial_decided_at, created_at = EXCLUDED.created_at,
        updated_at = EXCLUDED.updated_at, tombstoned_at = NULL
      """ + fencedUpdate("protocol_rules");

  /** A tombstone follows a RETIRED record: keep the row as the durable record, stamp it. */
  private static final String TOMBSTONE_RULE = """
      UPDATE protocol_rules SET tombstoned_at = COALESCE(tombstoned_at, ?),
        src_partition = ?, src_offset = ?
      WHERE rule_id = ? AND """ + newer("protocol_rules", "?", "?");

  private static final String UPSERT_STATUS = """
      INSERT INTO task_status (task_id, state, previous_state, transitions, failure_category,
        failure_reason, action_id, applied_rule_ids, missing_aspects, source, updated_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (task_id) DO UPDATE SET state = EXCLUDED.state,
        previous_state = EXCLUDED.previous_state, transitions = EXCLUDED.transitions,
        failure_category = EXCLUDED.failure_category, failure_reason = EXCLUDED.failure_reason,
        action_id = EXCLUDED.action_id, applied_rule_ids = EXCLUDED.applied_rule_ids,
        missing_aspects = EXCLUDED.missing_aspects, source = EXCLUDED.source,
        updated_at = EXCLUDED.updated_at
      """ + fencedUpdate("task_status");

  private static final String UPSERT_AGENT = """
      INSERT INTO agents (agent_id, agent_type, state, previous_state, task_id, progress,
        processed, host, updated_at,
        src_partition, src_offset)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (agent_id) DO UPDATE SET agent_type = EXCLUDED.agent_type,
        state = EXCLUDED.state, previous_state = EXCLUDED.previous_state,
        task_id = EXCLUDED.task_id, progress = EXCLUDED.progress,
        processed = EXCLUDED.processed, host = EXCLUDED.host, updated_at = EXCLUDED.updated_at
      """ + fencedUpdate("agents");

  private RowWriter() {
  }

  /**
   * Where a record sits in its topic: the partition and offset the row remembers. A row is only
   * replaced by a record from a later offset of the same partition.
   */
  record Position(int partition, long offset) {
  }

  /** The tail of every upsert: remember the position, and only move it forward. */
  private static String fencedUpdate(String table) {
    return ", src_partition = EXCLUDED.src_partition, src_offset = EXCLUDED.src_offset\n"
        + "      WHERE " + newer(table, "EXCLUDED.src_partition", "EXCLUDED.src_offset");
  }

  /**
   * Whether a record at ({@code partition}, {@code offset}) may replace the row: the row has no
   * position (written before positions were kept), came from another partition (the topic was
   * repartitioned: offsets are not comparable, the newer write wins), or from an earlier offset.
   */
  private static String newer(String table, String partition, String offset) {
    return "(" + table + ".src_offset IS NULL OR " + table + ".src_partition IS DISTINCT FROM "
        + partition + " OR " + table + ".src_offset < " + offset + ")";
  }

  /**
   * Upserts {@code value} into the table of its record type, unless the row holds data from the
   * same or a later offset.
   *
   * @return whether the row was inserted or replaced (false: it already held this record or a
   *     later one)
   * @throws IllegalArgumentException for a record type the sink does not store
   */
  static boolean write(Connection c, SpecificRecord value, Position at) throws SQLException {
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(at, "at");
    if (value instanceof Task t) {
      return task(c, t, at);
    } else if (value instanceof ActionItem a) {
      return action(c, a, at);
    } else if (value instanceof ValidationOutcome o) {
      return outcome(c, o, at);
    } else if (value instanceof ErrorEvent e) {
      return error(c, e, at);
    } else if (value instanceof ErrorPattern p) {
      return pattern(c, p, at);
    } else if (value instanceof ProtocolRule r) {
      return rule(c, r, at);
    } else if (value instanceof TaskStatus s) {
      return status(c, s, at);
    } else if (value instanceof AgentStatus a) {
      return agent(c, a, at);
    }
    throw new IllegalArgumentException("no table for " + value.getClass().getName());
  }

  /**
   * Marks the rule with this id as tombstoned (it left the compacted topic), unless the row
   * holds a later record.
   */
  static boolean tombstoneRule(Connection c, String ruleId, Instant when, Position at)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(TOMBSTONE_RULE)) {
      int i = 0;
      ps.setObject(++i, ts(when));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      ps.setString(++i, ruleId);
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean task(Connection c, Task t, Position at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_TASK)) {
      int i = 0;
      ps.setString(++i, t.getTaskId());
      ps.setString(++i, t.getDescription());
      ps.setInt(++i, t.getPriority());
      ps.setString(++i, name(t.getLanguage()));
      ps.setString(++i, t.getCode());
      ps.setString(++i, t.getEntryPoint());
      ps.setString(++i, t.getTestCode());
      ps.setLong(++i, t.getTimeLimitMs());
      ps.setObject(++i, t.getMemoryLimitMb());
      ps.setInt(++i, t.getValidationLevel());
      ps.setString(++i, t.getSource());
      ps.setObject(++i, ts(t.getSubmittedAt()));
      ps.setString(++i, AvroJson.json(t.getAttributes()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean action(Connection c, ActionItem a, Position at) throws SQLException {
    TrialSpec trial = a.getTrial();
    try (PreparedStatement ps = c.prepareStatement(UPSERT_ACTION)) {
      int i = 0;
      ps.setString(++i, a.getActionId());
      ps.setString(++i, a.getTaskId());
      ps.setInt(++i, a.getSequence());
      ps.setString(++i, name(a.getType()));
      ps.setInt(++i, a.getPriority());
      ps.setInt(++i, a.getAttempt());
      ps.setInt(++i, a.getValidationLevel());
      ps.setLong(++i, a.getConstraints().getTimeoutMs());
      ps.setInt(++i, a.getConstraints().getMemoryMb());
      ps.setArray(++i, textArray(c, a.getAppliedRuleIds()));
      ps.setArray(++i, textArray(c, a.getMissingAspects()));
      ps.setString(++i, AvroJson.json(a.getFindings()));
      ps.setString(++i, trial == null ? null : trial.getTrialId());
      ps.setString(++i, trial == null ? null : trial.getRuleId());
      ps.setString(++i, trial == null ? null : name(trial.getArm()));
      ps.setObject(++i, ts(a.getCreatedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean outcome(Connection c, ValidationOutcome o, Position at) throws SQLException {
    TrialSpec trial = o.getTrial();
    try (PreparedStatement ps = c.prepareStatement(UPSERT_OUTCOME)) {
      int i = 0;
      ps.setString(++i, o.getActionId());
      ps.setString(++i, o.getTaskId());
      ps.setString(++i, o.getValidatorId());
      ps.setBoolean(++i, o.getSuccess());
      ps.setInt(++i, o.getLevelRequested());
      ps.setInt(++i, o.getLevelReached());
      ps.setObject(++i, o.getFailedLevel());
      ps.setString(++i, o.getError() == null ? null : o.getError().getType());
      ps.setString(++i, o.getError() == null ? null : o.getError().getMessage());
      ps.setString(++i, name(o.getErrorCategory()));
      ps.setArray(++i, textArray(c, o.getAppliedRuleIds()));
      ps.setString(++i, AvroJson.json(o.getChecks()));
      ps.setString(++i, trial == null ? null : trial.getTrialId());
      ps.setString(++i, trial == null ? null : trial.getRuleId());
      ps.setString(++i, trial == null ? null : name(trial.getArm()));
      ps.setLong(++i, o.getDurationMs());
      ps.setLong(++i, o.getExecutionDurationMs());
      ps.setObject(++i, ts(o.getValidatedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean error(Connection c, ErrorEvent e, Position at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_ERROR)) {
      int i = 0;
      ps.setString(++i, e.getErrorId());
      ps.setString(++i, e.getAgentId());
      ps.setString(++i, e.getAgentType());
      ps.setString(++i, e.getTaskId());
      ps.setString(++i, e.getActionId());
      ps.setString(++i, name(e.getCategory()));
      ps.setString(++i, e.getErrorType());
      ps.setString(++i, e.getMessage());
      ps.setString(++i, e.getFixKey());
      ps.setString(++i, e.getTrialId());
      ps.setString(++i, AvroJson.json(e.getContext()));
      ps.setObject(++i, ts(e.getOccurredAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean pattern(Connection c, ErrorPattern p, Position at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_PATTERN)) {
      int i = 0;
      ps.setString(++i, p.getPatternKey());
      ps.setObject(++i, ts(p.getWindowStart()));
      ps.setObject(++i, ts(p.getWindowEnd()));
      ps.setString(++i, name(p.getCategory()));
      ps.setString(++i, p.getErrorType());
      ps.setString(++i, p.getFixKey());
      ps.setLong(++i, p.getFrequency());
      ps.setDouble(++i, p.getConfidence());
      ps.setString(++i, AvroJson.json(p.getExamples()));
      ps.setString(++i, p.getSuggestedFix());
      ps.setString(++i, name(p.getSuggestedAction()));
      ps.setLong(++i, p.getLateEvents());
      ps.setObject(++i, ts(p.getEmittedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean rule(Connection c, ProtocolRule r, Position at) throws SQLException {
    TrialSummary trial = r.getTrial();
    try (PreparedStatement ps = c.prepareStatement(UPSERT_RULE)) {
      int i = 0;
      ps.setString(++i, r.getRuleId());
      ps.setInt(++i, r.getVersion());
      ps.setString(++i, r.getDescription());
      ps.setString(++i, name(r.getCondition().getCategory()));
      ps.setString(++i, r.getCondition().getErrorType());
      ps.setString(++i, name(r.getCondition().getActionType()));
      ps.setString(++i, r.getCondition().getFixKey());
      ps.setString(++i, name(r.getAction().getKind()));
      ps.setString(++i, AvroJson.json(r.getAction().getParameters()));
      ps.setDouble(++i, r.getConfidence());
      ps.setString(++i, name(r.getStatus()));
      ps.setString(++i, r.getStatusReason());
      ps.setString(++i, r.getEvidence().getPatternKey());
      ps.setLong(++i, r.getEvidence().getFrequency());
      ps.setObject(++i, ts(r.getEvidence().getWindowStart()));
      ps.setObject(++i, ts(r.getEvidence().getWindowEnd()));
      ps.setString(++i, AvroJson.json(r.getEvidence().getExamples()));
      ps.setString(++i, trial == null ? null : trial.getTrialId());
      ps.setObject(++i, trial == null ? null : trial.getSampleSize());
      ps.setObject(++i, trial == null ? null : trial.getErrorRateWithout());
      ps.setObject(++i, trial == null ? null : trial.getErrorRateWith());
      ps.setObject(++i, trial == null ? null : trial.getMeanDurationMsWithout());
      ps.setObject(++i, trial == null ? null : trial.getMeanDurationMsWith());
      ps.setString(++i, trial == null ? null : trial.getVerdict());
      ps.setObject(++i, trial == null ? null : ts(trial.getDecidedAt()));
      ps.setObject(++i, ts(r.getCreatedAt()));
      ps.setObject(++i, ts(r.getUpdatedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean status(Connection c, TaskStatus s, Position at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_STATUS)) {
      int i = 0;
      ps.setString(++i, s.getTaskId());
      ps.setString(++i, name(s.getState()));
      ps.setString(++i, name(s.getPreviousState()));
      ps.setString(++i, AvroJson.json(s.getTransitions()));
      ps.setString(++i, name(s.getFailureCategory()));
      ps.setString(++i, s.getFailureReason());
      ps.setString(++i, s.getActionId());
      ps.setArray(++i, textArray(c, s.getAppliedRuleIds()));
      ps.setArray(++i, textArray(c, s.getMissingAspects()));
      ps.setString(++i, s.getSource());
      ps.setObject(++i, ts(s.getUpdatedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static boolean agent(Connection c, AgentStatus a, Position at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPSERT_AGENT)) {
      int i = 0;
      ps.setString(++i, a.getAgentId());
      ps.setString(++i, a.getAgentType());
      ps.setString(++i, name(a.getNewState()));
      ps.setString(++i, name(a.getOldState()));
      ps.setString(++i, a.getTaskId());
      ps.setObject(++i, a.getProgress());
      ps.setLong(++i, a.getProcessed());
      ps.setString(++i, a.getHost());
      ps.setObject(++i, ts(a.getUpdatedAt()));
      ps.setInt(++i, at.partition());
      ps.setLong(++i, at.offset());
      return ps.executeUpdate() > 0;
    }
  }

  private static java.sql.Array textArray(Connection c, Collection<?> values)
      throws SQLException {
    List<?> list = values == null ? List.of() : List.copyOf(values);
    return c.createArrayOf("text", list.stream().map(String::valueOf).toArray());
  }

  private static String name(Enum<?> value) {
    return value == null ? null : value.name();
  }

  static OffsetDateTime ts(Instant instant) {
    return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
  }
}
