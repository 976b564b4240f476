package io.fractalrmo.app.chaos;

import io.fractalrmo.app.chaos.ChaosTasks.ChaosTask;
import io.fractalrmo.app.chaos.TopicReader.Read;
import io.fractalrmo.connectors.sink.SinkRole;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.patterns.PatternKey;
import io.fractalrmo.streams.rules.RuleIds;
import io.fractalrmo.streams.rules.TrialPolicy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The independent judge of a chaos run: reads every topic from the start as a downstream
 * read_committed consumer would, and the PostgreSQL record once the sink has caught up, and
 * checks against what was submitted:
 * <ul>
 *   <li>every task has exactly one final status, and it is the right one
 *       ({@link ChaosTask#expected}): its final status records (a final status may be refined,
 *       e.g. a blocked task's reason once its outcome is in) all carry the same state, and no
 *       record is published twice;</li>
 *   <li>every action (plan or trial; a BLOCK too, which is answered without running) has exactly
 *       one ExecutionResult and one ValidationOutcome; no result of an unknown action; no task
 *       planned twice; no failure reported twice (same action, agent type, error type);</li>
 *   <li>PostgreSQL holds one row per task, per validated action and per error event, the same
 *       final state as Kafka, and no failure twice;</li>
 *   <li>rules: see {@link #checkRules}.</li>
 * </ul>
 */
final class Verifier {

  private static final Duration READ_TIMEOUT = Duration.ofMinutes(3);

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final String jdbcUrl;
  private final StreamsSettings settings;

  Verifier(Endpoints endpoints, Map<String, Object> serdeConfig, String jdbcUrl,
      StreamsSettings settings) {
    this.endpoints = endpoints;
    this.serdeConfig = Map.copyOf(serdeConfig);
    this.jdbcUrl = jdbcUrl;
    this.settings = settings;
  }

  /** What the verifier found; {@link #passed()} when nothing is lost, doubled or wrong. */
  static final class Findings {
    int tasks;
    final Map<TaskState, Integer> finals = new LinkedHashMap<>();
    final List<String> lost = new ArrayList<>();
    final List<String> wrong = new ArrayList<>();
    final List<String> multipleFinals = new ArrayList<>();
    int tasksTopicDuplicates;
    int actionsCounted;
    int blocked;
    int trialActions;
    final List<String> missingResults = new ArrayList<>();
    final List<String> duplicateResults = new ArrayList<>();
    final List<String> missingOutcomes = new ArrayList<>();
    final List<String> duplicateOutcomes = new ArrayList<>();
    final List<String> orphanResults = new ArrayList<>();
    final List<String> duplicatePlans = new ArrayList<>();
    final List<String> duplicateErrors = new ArrayList<>();
    int errorEvents;
    final List<String> postgres = new ArrayList<>();
    int patterns;
    final List<String> rules = new ArrayList<>();
    final Set<String> activeLive = new TreeSet<>();
    final Set<String> activeRecomputed = new TreeSet<>();
    int rulesTotal;
    int unreadable;

    int lostCount() {
      return lost.size() + missingResults.size() + missingOutcomes.size();
    }

    int duplicatedCount() {
      return multipleFinals.size() + duplicateResults.size() + duplicateOutcomes.size()
          + duplicatePlans.size() + duplicateErrors.size();
    }

    boolean passed() {
      return lostCount() == 0 && duplicatedCount() == 0 && wrong.isEmpty()
          && orphanResults.isEmpty() && postgres.isEmpty() && rules.isEmpty()
          && activeLive.equals(activeRecomputed);
    }
  }

  Findings verify(List<ChaosTask> submitted) throws SQLException {
    Findings f = new Findings();
    Map<String, ChaosTask> byId = submitted.stream()
        .collect(Collectors.toMap(ChaosTask::taskId, Function.identity(), (a, b) -> a,
            LinkedHashMap::new));
    f.tasks = byId.size();

    // tasks as they entered: the outbox ingest is at least once, downstream must not care
    Map<String, Integer> taskRecords = count(read(endpoints.topics().tasks(), Task.class, f),
        r -> r.key());
    f.tasksTopicDuplicates = (int) byId.keySet().stream()
        .filter(id -> taskRecords.getOrDefault(id, 0) > 1).count();

    // final states
    Map<String, List<TaskStatus>> finals = new HashMap<>();
    for (Read<TaskStatus> r : read(endpoints.topics().taskStatus(), TaskStatus.class, f)) {
      if (r.value() != null && StatusFollower.FINAL.contains(r.value().getState())) {
        finals.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
      }
    }
    for (ChaosTask t : byId.values()) {
      List<TaskStatus> fs = finals.getOrDefault(t.taskId(), List.of());
      if (fs.isEmpty()) {
        f.lost.add(t.taskId());
        continue;
      }
      // A final status may be refined (a blocked task's reason, once its outcome arrives);
      // it may not change its state, nor be published twice as it was.
      if (fs.stream().map(TaskStatus::getState).distinct().count() > 1) {
        f.multipleFinals.add(t.taskId() + " " + fs.stream().map(s -> s.getState().name())
            .toList());
      } else if (fs.stream().distinct().count() < fs.size()) {
        f.multipleFinals.add(t.taskId() + " the same final status published twice");
      }
      TaskStatus last = fs.get(fs.size() - 1);
      f.finals.merge(last.getState(), 1, Integer::sum);
      TaskState expected = t.expected(last.getAppliedRuleIds());
      if (last.getState() != expected) {
        f.wrong.add(t.taskId() + " (" + t.fault() + "): " + last.getState() + ", expected "
            + expected + (last.getFailureReason() == null ? "" : " — "
            + bounded(last.getFailureReason())));
      }
    }

    // actions, results, outcomes
    List<Read<ActionItem>> actions = read(endpoints.topics().actionItems(), ActionItem.class, f);
    Map<String, Integer> results = count(read(endpoints.topics().executionResults(),
        ExecutionResult.class, f), r -> r.value() == null ? null : r.value().getActionId());
    Map<String, Integer> outcomes = new HashMap<>();
    List<ValidationOutcome> outcomeValues = new ArrayList<>();
    for (Read<ValidationOutcome> r : read(endpoints.topics().validationOutcomes(),
        ValidationOutcome.class, f)) {
      if (r.value() != null) {
        outcomes.merge(r.value().getActionId(), 1, Integer::sum);
        outcomeValues.add(r.value());
      }
    }
    Set<String> actionIds = new HashSet<>();
    Map<String, Integer> plans = new HashMap<>();
    for (Read<ActionItem> r : actions) {
      ActionItem a = r.value();
      if (a == null || !actionIds.add(a.getActionId())) {
        if (a != null) {
          f.duplicatePlans.add("action " + a.getActionId() + " planned twice");
        }
        continue;
      }
      if (a.getTrial() == null) {
        plans.merge(a.getTaskId() + "#" + a.getSequence() + "#" + a.getAttempt(), 1,
            Integer::sum);
      } else {
        f.trialActions++;
      }
      if (a.getType() == ActionType.BLOCK) {
        f.blocked++; // runs nothing, yet is answered: a result saying so, and its outcome
      }
      f.actionsCounted++;
      int res = results.getOrDefault(a.getActionId(), 0);
      int out = outcomes.getOrDefault(a.getActionId(), 0);
      if (res == 0) {
        f.missingResults.add(a.getActionId());
      } else if (res > 1) {
        f.duplicateResults.add(a.getActionId() + " x" + res);
      }
      if (out == 0) {
        f.missingOutcomes.add(a.getActionId());
      } else if (out > 1) {
        f.duplicateOutcomes.add(a.getActionId() + " x" + out);
      }
    }
    plans.forEach((k, n) -> {
      if (n > 1) {
        f.duplicatePlans.add(k + " x" + n);
      }
    });
    results.keySet().stream().filter(Objects::nonNull).filter(id -> !actionIds.contains(id))
        .forEach(id -> f.orphanResults.add("result of unknown action " + id));

    // errors: the same failure of the same action by the same kind of agent, reported twice
    List<ErrorEvent> errors = read(endpoints.topics().errors(), ErrorEvent.class, f).stream()
        .map(Read::value).filter(Objects::nonNull).toList();
    f.errorEvents = errors.size();
    Map<String, Integer> failures = new HashMap<>();
    Set<String> errorIds = new HashSet<>();
    for (ErrorEvent e : errors) {
      if (!errorIds.add(e.getErrorId())) {
        f.duplicateErrors.add("error id " + e.getErrorId() + " twice");
      }
      failures.merge(failureKey(e), 1, Integer::sum);
    }
    failures.forEach((k, n) -> {
      if (n > 1) {
        f.duplicateErrors.add(k + " x" + n);
      }
    });

    checkPostgres(f, byId, finals, outcomes.keySet(), errorIds);
    checkRules(f, errors, outcomeValues);
    return f;
  }

  private static String failureKey(ErrorEvent e) {
    return e.getActionId() + "|" + e.getAgentType() + "|" + e.getErrorType() + "|"
        + (e.getTrialId() == null ? "" : e.getTrialId());
  }

  /**
   * Once the sink has stored every partition up to its end: one row per task, the same final
   * state as on Kafka, one row per validated action and per error event, no failure twice.
   */
  private void checkPostgres(Findings f, Map<String, ChaosTask> tasks,
      Map<String, List<TaskStatus>> finals, Set<String> validatedActions, Set<String> errorIds)
      throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl)) {
      Set<String> ids = tasks.keySet();
      Map<String, String> stateRows = new HashMap<>();
      int taskRows = 0;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT t.task_id, s.state FROM tasks t LEFT JOIN task_status s USING (task_id)"
              + " WHERE t.task_id = ANY(?)")) {
        ps.setArray(1, c.createArrayOf("text", ids.toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            taskRows++;
            stateRows.put(rs.getString(1), rs.getString(2));
          }
        }
      }
      if (taskRows != ids.size()) {
        f.postgres.add("tasks: " + taskRows + " rows for " + ids.size() + " tasks");
      }
      int mismatched = 0;
      for (String id : ids) {
        List<TaskStatus> fs = finals.get(id);
        String kafka = fs == null ? null : fs.get(fs.size() - 1).getState().name();
        if (!Objects.equals(kafka, stateRows.get(id))) {
          mismatched++;
          if (mismatched <= 5) {
            f.postgres.add("task_status of " + id + ": " + stateRows.get(id) + " in PostgreSQL, "
                + kafka + " on Kafka");
          }
        }
      }
      long outcomeRows = count(c, "SELECT count(*) FROM validation_outcomes"
          + " WHERE action_id = ANY(?)", validatedActions);
      if (outcomeRows != validatedActions.size()) {
        f.postgres.add("validation_outcomes: " + outcomeRows + " rows for "
            + validatedActions.size() + " validated actions");
      }
      long errorRows = count(c, "SELECT count(*) FROM error_logs WHERE error_id = ANY(?)",
          errorIds);
      if (errorRows != errorIds.size()) {
        f.postgres.add("error_logs: " + errorRows + " rows for " + errorIds.size()
            + " error events");
      }
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT action_id, agent_type, error_type, coalesce(trial_id, ''), count(*)
          FROM error_logs WHERE task_id = ANY(?)
          GROUP BY 1, 2, 3, 4 HAVING count(*) > 1""")) {
        ps.setArray(1, c.createArrayOf("text", ids.toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            f.postgres.add("error_logs: " + rs.getString(1) + "|" + rs.getString(2) + "|"
                + rs.getString(3) + " x" + rs.getLong(5));
          }
        }
      }
    }
  }

  /**
   * The rules, recomputed from what the pipeline recorded — as far as a recomputation outside
   * the streams app can go (a rule's trial re-runs actions in executors, which no replay can
   * redo). Compared:
   * <ol>
   *   <li>every pattern on {@code fractal.error-patterns} is borne out by the error history:
   *       at least {@code frequency} (and at least the minimum) distinct non-trial error
   *       events with its pattern key occurred inside its window;</li>
   *   <li>the rule ids on {@code fractal.protocol-rules} are exactly those of the patterns
   *       with a fix and a confidence at or above the bar ({@link RuleIds#ruleId});</li>
   *   <li>the ACTIVE set: every rule whose trial was decided is judged again with the streams
   *       app's own {@link TrialPolicy} over the trial's validation outcomes as recorded on
   *       {@code fractal.validation-outcomes} (each action once, those validated before the
   *       decision); the rules so adopted must be exactly the rules whose latest status is
   *       ACTIVE.</li>
   * </ol>
   */
  private void checkRules(Findings f, List<ErrorEvent> errors, List<ValidationOutcome> outcomes) {
    StreamsSettings.Patterns p = settings.patterns();
    StreamsSettings.Rules r = settings.rules();
    List<ErrorPattern> patterns = read(endpoints.topics().errorPatterns(), ErrorPattern.class, f)
        .stream().map(Read::value).filter(Objects::nonNull).toList();
    f.patterns = patterns.size();
    Map<String, ErrorEvent> distinct = new LinkedHashMap<>();
    errors.stream().filter(e -> e.getTrialId() == null)
        .forEach(e -> distinct.putIfAbsent(e.getErrorId(), e));
    Set<String> expectedRules = new TreeSet<>();
    for (ErrorPattern pattern : patterns) {
      long start = pattern.getWindowStart().toEpochMilli();
      long end = pattern.getWindowEnd().toEpochMilli();
      long recount = distinct.values().stream()
          .filter(e -> PatternKey.of(e).equals(pattern.getPatternKey()))
          .filter(e -> e.getOccurredAt().toEpochMilli() >= start
              && e.getOccurredAt().toEpochMilli() < end)
          .count();
      if (recount < Math.max(p.minOccurrences(), pattern.getFrequency())) {
        f.rules.add("pattern " + pattern.getPatternKey() + " @" + pattern.getWindowStart()
            + " says " + pattern.getFrequency() + " events; the error history has " + recount);
      }
      if (pattern.getSuggestedAction() != RuleActionKind.UNKNOWN
          && pattern.getConfidence() >= r.confidenceBar()) {
        expectedRules.add(RuleIds.ruleId(pattern.getPatternKey(), pattern.getSuggestedAction()));
      }
    }
    Map<String, ProtocolRule> latest = new LinkedHashMap<>();
    for (Read<ProtocolRule> rr : read(endpoints.topics().protocolRules(), ProtocolRule.class,
        f)) {
      if (rr.value() != null) {
        latest.put(rr.key(), rr.value()); // the compacted topic's view: the last record wins
      }
    }
    f.rulesTotal = latest.size();
    if (!expectedRules.equals(latest.keySet())) {
      Set<String> missing = new TreeSet<>(expectedRules);
      missing.removeAll(latest.keySet());
      Set<String> unexpected = new TreeSet<>(latest.keySet());
      unexpected.removeAll(expectedRules);
      f.rules.add("rules expected from the patterns but absent: " + missing
          + "; rules without such a pattern: " + unexpected);
    }
    Map<String, List<ValidationOutcome>> byTrial = new HashMap<>();
    Map<String, ValidationOutcome> once = new LinkedHashMap<>();
    outcomes.stream().filter(o -> o.getTrial() != null)
        .forEach(o -> once.putIfAbsent(o.getActionId(), o));
    once.values().forEach(o -> byTrial.computeIfAbsent(o.getTrial().getTrialId(),
        k -> new ArrayList<>()).add(o));
    for (ProtocolRule rule : latest.values()) {
      if (rule.getStatus() == RuleStatus.ACTIVE) {
        f.activeLive.add(rule.getRuleId());
      }
      if (rule.getTrial() == null || rule.getTrial().getDecidedAt() == null
          || (rule.getStatus() != RuleStatus.ACTIVE && rule.getStatus() != RuleStatus.REJECTED)) {
        continue;
      }
      long decidedAt = rule.getTrial().getDecidedAt().toEpochMilli();
      List<ValidationOutcome> evidence = byTrial.getOrDefault(rule.getTrial().getTrialId(),
          List.of()).stream().filter(o -> o.getValidatedAt().toEpochMilli() <= decidedAt)
          .toList();
      boolean timedOut = rule.getTrial().getVerdict() != null
          && rule.getTrial().getVerdict().contains("timed out");
      TrialPolicy.Verdict again = TrialPolicy.judge(rule.getTrial().getTrialId(),
          rule.getAction(), evidence, rule.getTrial().getMeanDurationMsGuardLive(), r.trial(),
          decidedAt, timedOut);
      if (again.adopt()) {
        f.activeRecomputed.add(rule.getRuleId());
      }
    }
  }

  private <T extends org.apache.avro.specific.SpecificRecord> List<Read<T>> read(TopicSpec topic,
      Class<T> type, Findings f) {
    List<Read<T>> all = TopicReader.readAll(endpoints, serdeConfig, topic.name(), type,
        READ_TIMEOUT);
    f.unreadable += (int) all.stream().filter(r -> r.value() == null).count();
    return all;
  }

  private static <T> Map<String, Integer> count(List<T> items, Function<T, String> key) {
    Map<String, Integer> out = new HashMap<>();
    for (T item : items) {
      String k = key.apply(item);
      if (k != null) {
        out.merge(k, 1, Integer::sum);
      }
    }
    return out;
  }

  private static long count(Connection c, String sql, Set<String> ids) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", ids.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Waits until the sink's stored offsets reach the end of every partition it stores. */
  boolean awaitSinkCaughtUp(String groupId, Duration timeout) throws Exception {
    List<String> topics = SinkRole.sunkTopics(endpoints.topics()).stream().map(TopicSpec::name)
        .toList();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Map<String, Long> ends = Offsets.lastStable(endpoints, topics);
      Map<String, Long> stored = new HashMap<>();
      try (Connection c = DriverManager.getConnection(jdbcUrl);
           PreparedStatement ps = c.prepareStatement("SELECT topic || '-' || kafka_partition,"
               + " next_offset FROM sink_offsets WHERE consumer_group = ?")) {
        ps.setString(1, groupId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            stored.put(rs.getString(1), rs.getLong(2));
          }
        }
      } catch (SQLException e) {
        // not answering yet
      }
      boolean caughtUp = ends.entrySet().stream().allMatch(e -> e.getValue() == 0
          || stored.getOrDefault(e.getKey(), 0L) >= e.getValue() - 1);
      if (caughtUp) {
        return true;
      }
      Thread.sleep(500); // polling interval of a deadline-bounded wait
    }
    return false;
  }

  private static String bounded(String s) {
    return s.length() <= 120 ? s : s.substring(0, 120) + "…";
  }
}
