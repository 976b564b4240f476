package io.fractalrmo.app.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live state of the pipeline, read from its topics by one consumer (read_committed, by
 * assignment, no group, from the beginning): tasks per stage, recent outcomes, error events per
 * category over time, error patterns, the latest version of each rule, agent health, the DLQ and
 * sandbox runs. The dashboard, the metrics and the MCP tools all read this one view.
 *
 * <p>Changes are published as a JSON snapshot at most every {@link #PUBLISH_EVERY}; readers wait
 * for a newer one with {@link #awaitSnapshot}. Per-task detail is kept for the last
 * {@link #MAX_TASKS} tasks; counts cover everything read.
 */
public final class LiveView implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LiveView.class);

  public static final int MAX_TASKS = 20_000;
  static final Duration PUBLISH_EVERY = Duration.ofMillis(200);
  static final long ERROR_BUCKET_MS = 10_000;
  static final int ERROR_BUCKETS = 60;
  static final int RECENT = 25;
  /** An agent whose last heartbeat is older than this is shown as stale. */
  static final Duration AGENT_STALE = Duration.ofSeconds(35);
  private static final java.util.Set<TaskState> FINAL = java.util.Set.of(TaskState.SUCCEEDED,
      TaskState.FAILED, TaskState.REJECTED);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What is kept of one task. */
  public static final class TaskView {
    private final String taskId;
    private TaskStatus status;
    private ValidationOutcome validation;
    private ExecutionResult execution;
    private final List<ErrorEvent> errors = new ArrayList<>();
    private long finalAtMs = -1;
    private long seenFinalAtMs = -1;

    TaskView(String taskId) {
      this.taskId = taskId;
    }

    public String taskId() {
      return taskId;
    }

    public Optional<TaskStatus> status() {
      return Optional.ofNullable(status);
    }

    public Optional<ValidationOutcome> validation() {
      return Optional.ofNullable(validation);
    }

    public Optional<ExecutionResult> execution() {
      return Optional.ofNullable(execution);
    }

    public List<ErrorEvent> errors() {
      return List.copyOf(errors);
    }

    /** When the task reached its final state (its status transition), -1 while it has none. */
    public long finalAtMs() {
      return finalAtMs;
    }
  }

  private final Endpoints endpoints;
  private final Consumer<String, byte[]> consumer;
  private final Deserializer<TaskStatus> statuses;
  private final Deserializer<ValidationOutcome> validations;
  private final Deserializer<ExecutionResult> executions;
  private final Deserializer<ErrorEvent> errors;
  private final Deserializer<ErrorPattern> patterns;
  private final Deserializer<ProtocolRule> rules;
  private final Deserializer<AgentStatus> agents;
  private final Thread thread;
  private final Map<TopicPartition, Long> startEnds = new HashMap<>();

  // state, guarded by this
  private final LinkedHashMap<String, TaskView> tasks = new LinkedHashMap<>(1024, 0.75f, false);
  private final Map<String, TaskState> currentState = new HashMap<>();
  private final EnumMap<TaskState, Long> byState = new EnumMap<>(TaskState.class);
  private final Deque<String> recent = new ArrayDeque<>();
  private final TreeMap<Long, EnumMap<ErrorCategory, Long>> errorBuckets = new TreeMap<>();
  private final TreeMap<Long, Long> finishedBuckets = new TreeMap<>();
  private final EnumMap<ErrorCategory, Long> errorsTotal = new EnumMap<>(ErrorCategory.class);
  private final Map<String, ErrorPattern> patternsByKey = new TreeMap<>();
  private final Map<String, Long> patternSeenAt = new HashMap<>();
  private final Map<String, ProtocolRule> rulesById = new TreeMap<>();
  private final java.util.Set<String> tombstoned = new java.util.HashSet<>();
  private final Map<String, AgentStatus> agentsById = new TreeMap<>();
  private final Map<String, Long> dlqByStage = new TreeMap<>();
  private final EnumMap<Isolation, long[]> sandbox = new EnumMap<>(Isolation.class);
  private long dlqTotal;
  private long recordsRead;
  private boolean dirty = true;
  private boolean caughtUp;
  private boolean closed;
  private volatile Throwable failure;
  private long version;
  private String snapshot = "{}";
  private long lastPublish;
  private final Map<String, Long> shownPatterns = new HashMap<>();
  private volatile java.util.function.Consumer<String> events = line -> { };

  private LiveView(Endpoints endpoints, Consumer<String, byte[]> consumer,
      Map<String, Object> serdes) {
    this.endpoints = endpoints;
    this.consumer = consumer;
    this.statuses = FractalSerdes.value(TaskStatus.class, serdes).deserializer();
    this.validations = FractalSerdes.value(ValidationOutcome.class, serdes).deserializer();
    this.executions = FractalSerdes.value(ExecutionResult.class, serdes).deserializer();
    this.errors = FractalSerdes.value(ErrorEvent.class, serdes).deserializer();
    this.patterns = FractalSerdes.value(ErrorPattern.class, serdes).deserializer();
    this.rules = FractalSerdes.value(ProtocolRule.class, serdes).deserializer();
    this.agents = FractalSerdes.value(AgentStatus.class, serdes).deserializer();
    this.thread = new Thread(this::loop, "fractal-live-view");
    this.thread.setDaemon(true);
  }

  /** Starts following the endpoints' topics; {@link #caughtUp()} once it read what was there. */
  public static LiveView start(Endpoints endpoints, Map<String, Object> serdeConfig) {
    Map<String, Object> p = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        endpoints.topics().prefix() + "fractal-live-view");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        new ByteArrayDeserializer());
    try {
      LiveView view = new LiveView(endpoints, consumer, serdeConfig);
      view.assign();
      view.thread.start();
      return view;
    } catch (RuntimeException e) {
      consumer.close(Duration.ofSeconds(2));
      throw e;
    }
  }

  /**
   * Receives one line per new error pattern (or a pattern that grew) and per rule change, from
   * the moment the view caught up (what was there before is not news), on the view's thread.
   */
  public void onEvent(java.util.function.Consumer<String> listener) {
    this.events = listener;
  }

  /** The consumer, for binding its client metrics (read-only use). */
  public Consumer<String, byte[]> consumer() {
    return consumer;
  }

  private void assign() {
    var t = endpoints.topics();
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(t.taskStatus().name(), t.validationOutcomes().name(),
        t.executionResults().name(), t.errors().name(), t.errorPatterns().name(),
        t.protocolRules().name(), t.agentStatus().name(), t.dlq().name())) {
      consumer.partitionsFor(topic, Duration.ofSeconds(30))
          .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    startEnds.putAll(consumer.endOffsets(partitions, Duration.ofSeconds(30)));
  }

  private void loop() {
    try {
      while (!isClosed()) {
        var records = consumer.poll(Duration.ofMillis(100));
        synchronized (this) {
          for (ConsumerRecord<String, byte[]> r : records) {
            try {
              apply(r);
            } catch (RuntimeException e) {
              LOG.warn("live view: skipping a record it cannot read on {}-{}@{}: {}", r.topic(),
                  r.partition(), r.offset(), e.toString());
            }
          }
          recordsRead += records.count();
          if (!caughtUp && checkCaughtUp()) {
            caughtUp = true;
            dirty = true;
          }
          publishIfDue(false);
        }
      }
    } catch (WakeupException e) {
      if (!isClosed()) {
        failure = e;
      }
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("the live view stopped reading", e);
    } finally {
      consumer.close(Duration.ofSeconds(2));
      synchronized (this) {
        closed = true;
        notifyAll();
      }
    }
  }

  private boolean checkCaughtUp() {
    for (Map.Entry<TopicPartition, Long> e : startEnds.entrySet()) {
      if (consumer.position(e.getKey(), Duration.ofSeconds(5)) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void apply(ConsumerRecord<String, byte[]> r) {
    var t = endpoints.topics();
    String topic = r.topic();
    if (topic.equals(t.dlq().name())) {
      dlqTotal++;
      dlqByStage.merge(dlqStage(r), 1L, Long::sum);
      dirty = true;
      return;
    }
    if (topic.equals(t.protocolRules().name())) {
      if (r.value() == null) {
        if (r.key() != null && rulesById.containsKey(r.key())) {
          if (tombstoned.add(r.key()) && caughtUp) {
            emit("rule     " + r.key() + " tombstoned (retired)");
          }
          dirty = true;
        }
        return;
      }
      ProtocolRule rule = rules.deserialize(topic, r.value());
      ProtocolRule previous = rulesById.put(rule.getRuleId(), rule);
      tombstoned.remove(rule.getRuleId());
      dirty = true;
      if (caughtUp && (previous == null || previous.getStatus() != rule.getStatus()
          || previous.getVersion() != rule.getVersion())) {
        emit(describe(rule));
      }
      return;
    }
    if (r.value() == null) {
      return;
    }
    if (topic.equals(t.taskStatus().name())) {
      onStatus(statuses.deserialize(topic, r.value()));
    } else if (topic.equals(t.validationOutcomes().name())) {
      ValidationOutcome v = validations.deserialize(topic, r.value());
      task(v.getTaskId()).validation = v;
    } else if (topic.equals(t.executionResults().name())) {
      ExecutionResult x = executions.deserialize(topic, r.value());
      task(x.getTaskId()).execution = x;
      long[] counts = sandbox.computeIfAbsent(x.getIsolation(), k -> new long[3]);
      counts[0]++;
      counts[1] += x.getSuccess() ? 0 : 1;
      counts[2] += x.getTimedOut() ? 1 : 0;
      dirty = true;
    } else if (topic.equals(t.errors().name())) {
      ErrorEvent e = errors.deserialize(topic, r.value());
      if (e.getTaskId() != null) {
        List<ErrorEvent> list = task(e.getTaskId()).errors;
        if (list.size() < 20) {
          list.add(e);
        }
      }
      errorsTotal.merge(e.getCategory(), 1L, Long::sum);
      long bucket = e.getOccurredAt().toEpochMilli() / ERROR_BUCKET_MS * ERROR_BUCKET_MS;
      errorBuckets.computeIfAbsent(bucket, k -> new EnumMap<>(ErrorCategory.class))
          .merge(e.getCategory(), 1L, Long::sum);
      while (errorBuckets.size() > ERROR_BUCKETS) {
        errorBuckets.pollFirstEntry();
      }
      dirty = true;
    } else if (topic.equals(t.errorPatterns().name())) {
      ErrorPattern p = patterns.deserialize(topic, r.value());
      ErrorPattern known = patternsByKey.get(p.getPatternKey());
      if (known == null || !p.getWindowEnd().isBefore(known.getWindowEnd())
          || p.getFrequency() > known.getFrequency()) {
        patternsByKey.put(p.getPatternKey(), p);
        patternSeenAt.putIfAbsent(p.getPatternKey(), System.currentTimeMillis());
        dirty = true;
      }
      // Hopping windows report the same burst once per window: say it once per key and size.
      Long shown = shownPatterns.get(p.getPatternKey());
      if (shown == null || shown < p.getFrequency()) {
        shownPatterns.put(p.getPatternKey(), p.getFrequency());
        if (caughtUp) {
          emit(String.format(java.util.Locale.ROOT,
              "pattern  %-40s x%d in its window, confidence %.2f, suggests %s", p.getPatternKey(),
              p.getFrequency(), p.getConfidence(), p.getSuggestedAction()));
        }
      }
    } else if (topic.equals(t.agentStatus().name())) {
      AgentStatus a = agents.deserialize(topic, r.value());
      agentsById.put(a.getAgentId(), a);
      dirty = true;
    }
  }

  private void emit(String line) {
    try {
      events.accept(line);
    } catch (RuntimeException e) {
      LOG.debug("event listener failed: {}", e.toString());
    }
  }

  /** A rule change as one line (the demo's format). */
  static String describe(ProtocolRule r) {
    TrialSummary t = r.getTrial();
    String trial = t == null ? "" : String.format(java.util.Locale.ROOT,
        " | trial on %d actions: error rate %.0f%% without -> %.0f%% with, mean %.0f ms -> %.0f ms (%s)",
        t.getSampleSize(), t.getErrorRateWithout() * 100, t.getErrorRateWith() * 100,
        t.getMeanDurationMsWithout(), t.getMeanDurationMsWith(), t.getVerdict());
    return String.format(java.util.Locale.ROOT, "rule     %-40s v%d %-9s %s confidence %.2f%s",
        r.getRuleId(), r.getVersion(), r.getStatus(), r.getAction().getKind(), r.getConfidence(), trial);
  }

  /** One line of what the pipeline is doing, for a terminal's progress line. */
  public synchronized String statusLine() {
    long inFlight = 0;
    for (TaskState s : List.of(TaskState.RECEIVED, TaskState.ANALYZING, TaskState.PLANNED,
        TaskState.EXECUTING, TaskState.VALIDATING)) {
      inFlight += byState.getOrDefault(s, 0L);
    }
    long active = rulesById.values().stream().filter(r -> !tombstoned.contains(r.getRuleId())
        && r.getStatus() == io.fractalrmo.contracts.RuleStatus.ACTIVE).count();
    long candidates = rulesById.values().stream().filter(r -> !tombstoned.contains(r.getRuleId())
        && r.getStatus() == io.fractalrmo.contracts.RuleStatus.CANDIDATE).count();
    long errorsSeen = errorsTotal.values().stream().mapToLong(Long::longValue).sum();
    return String.format(java.util.Locale.ROOT,
        "tasks: %d in flight, %d ok, %d failed, %d rejected | errors %d | patterns %d | rules %d active, %d on trial | DLQ %d",
        inFlight, byState.getOrDefault(TaskState.SUCCEEDED, 0L),
        byState.getOrDefault(TaskState.FAILED, 0L), byState.getOrDefault(TaskState.REJECTED, 0L),
        errorsSeen, patternsByKey.size(), active, candidates, dlqTotal);
  }

  private static String dlqStage(ConsumerRecord<String, byte[]> r) {
    Header stage = r.headers().lastHeader(DlqHeaders.STAGE);
    if (stage != null && stage.value() != null) {
      return new String(stage.value(), StandardCharsets.UTF_8);
    }
    for (Header h : r.headers()) {
      if (h.key().startsWith("__streams.errors.")) {
        return "streams";
      }
    }
    return "unknown";
  }

  private void onStatus(TaskStatus s) {
    TaskView view = task(s.getTaskId());
    TaskState before = currentState.put(s.getTaskId(), s.getState());
    if (before == s.getState() && view.status != null
        && !s.getUpdatedAt().isAfter(view.status.getUpdatedAt())) {
      return;
    }
    if (before != null) {
      byState.merge(before, -1L, Long::sum);
    }
    byState.merge(s.getState(), 1L, Long::sum);
    view.status = s;
    if (FINAL.contains(s.getState()) && (before == null || !FINAL.contains(before))) {
      long at = s.getUpdatedAt().toEpochMilli();
      for (StateTransition tr : s.getTransitions()) {
        if (tr.getState() == s.getState()) {
          at = tr.getAt().toEpochMilli();
        }
      }
      view.finalAtMs = at;
      view.seenFinalAtMs = System.currentTimeMillis();
      finishedBuckets.merge(at / ERROR_BUCKET_MS * ERROR_BUCKET_MS, 1L, Long::sum);
      while (finishedBuckets.size() > ERROR_BUCKETS) {
        finishedBuckets.pollFirstEntry();
      }
      recent.remove(s.getTaskId());
      recent.addFirst(s.getTaskId());
      while (recent.size() > RECENT) {
        recent.removeLast();
      }
    }
    dirty = true;
  }

  private TaskView task(String taskId) {
    TaskView view = tasks.get(taskId);
    if (view == null) {
      view = new TaskView(taskId);
      tasks.put(taskId, view);
      if (tasks.size() > MAX_TASKS) {
        String eldest = tasks.keySet().iterator().next();
        tasks.remove(eldest);
        recent.remove(eldest);
      }
    }
    return view;
  }

  private void publishIfDue(boolean force) {
    long now = System.currentTimeMillis();
    if (!dirty || (!force && now - lastPublish < PUBLISH_EVERY.toMillis())) {
      return;
    }
    snapshot = buildSnapshot(now).toString();
    version++;
    dirty = false;
    lastPublish = now;
    notifyAll();
  }

  /**
   * Waits until a snapshot newer than {@code seenVersion} is published (or {@code timeout}
   * passes, or the view closes) and returns the latest one.
   */
  public synchronized Snapshot awaitSnapshot(long seenVersion, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (version <= seenVersion && !closed) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return new Snapshot(version, snapshot);
  }

  /** A published state: its version and its JSON. */
  public record Snapshot(long version, String json) {
  }

  private ObjectNode buildSnapshot(long now) {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", version + 1);
    root.put("generated_at", now);
    root.put("caught_up", caughtUp);
    root.put("records_read", recordsRead);
    root.put("topic_prefix", endpoints.topics().prefix());
    ObjectNode stages = root.putObject("stages");
    for (TaskState s : TaskState.values()) {
      if (s != TaskState.UNKNOWN) {
        stages.put(s.name(), byState.getOrDefault(s, 0L));
      }
    }
    ArrayNode throughput = root.putArray("finished_per_bucket");
    finishedBuckets.forEach((t, n) -> throughput.addObject().put("t", t).put("n", n));
    ObjectNode errorsNode = root.putObject("errors");
    errorsNode.put("bucket_ms", ERROR_BUCKET_MS);
    ObjectNode totals = errorsNode.putObject("total");
    errorsTotal.forEach((c, n) -> totals.put(c.name(), n));
    ArrayNode series = errorsNode.putArray("series");
    errorBuckets.forEach((t, counts) -> {
      ObjectNode b = series.addObject().put("t", t);
      ObjectNode c = b.putObject("counts");
      counts.forEach((k, n) -> c.put(k.name(), n));
    });
    ArrayNode patternsNode = root.putArray("patterns");
    patternsByKey.values().stream()
        .sorted(Comparator.comparing((ErrorPattern p) -> p.getWindowEnd()).reversed())
        .forEach(p -> patternsNode.add(patternJson(p)));
    ArrayNode rulesNode = root.putArray("rules");
    rulesById.values().forEach(r -> rulesNode.add(ruleJson(r, tombstoned.contains(r.getRuleId()))));
    ArrayNode agentsNode = root.putArray("agents");
    for (AgentStatus a : agentsById.values()) {
      long updated = a.getUpdatedAt().toEpochMilli();
      boolean stopped = a.getNewState() == io.fractalrmo.contracts.AgentState.STOPPED;
      agentsNode.addObject()
          .put("agent_id", a.getAgentId())
          .put("agent_type", a.getAgentType())
          .put("state", a.getNewState().name())
          .put("processed", a.getProcessed())
          .put("updated_at", updated)
          .put("stale", !stopped && now - updated > AGENT_STALE.toMillis());
    }
    ObjectNode dlq = root.putObject("dlq");
    dlq.put("total", dlqTotal);
    ObjectNode stagesDlq = dlq.putObject("by_stage");
    dlqByStage.forEach(stagesDlq::put);
    ObjectNode sandboxNode = root.putObject("sandbox");
    sandbox.forEach((iso, c) -> sandboxNode.putObject(iso.name()).put("runs", c[0])
        .put("failed", c[1]).put("timed_out", c[2]));
    ArrayNode recentNode = root.putArray("recent");
    for (String id : recent) {
      TaskView v = tasks.get(id);
      if (v == null || v.status == null) {
        continue;
      }
      ObjectNode n = recentNode.addObject()
          .put("task_id", id)
          .put("state", v.status.getState().name())
          .put("final_at", v.finalAtMs)
          .put("seen_at", v.seenFinalAtMs);
      if (v.status.getFailureCategory() != null) {
        n.put("failure_category", v.status.getFailureCategory().name());
      }
      if (v.status.getFailureReason() != null) {
        n.put("failure_reason", abbreviate(v.status.getFailureReason(), 160));
      }
      ArrayNode applied = n.putArray("applied_rule_ids");
      v.status.getAppliedRuleIds().forEach(applied::add);
    }
    return root;
  }

  static ObjectNode patternJson(ErrorPattern p) {
    return JSON.createObjectNode()
        .put("pattern_key", p.getPatternKey())
        .put("category", p.getCategory().name())
        .put("error_type", p.getErrorType())
        .put("frequency", p.getFrequency())
        .put("confidence", p.getConfidence())
        .put("window_start", p.getWindowStart().toEpochMilli())
        .put("window_end", p.getWindowEnd().toEpochMilli())
        .put("suggested_action", p.getSuggestedAction().name())
        .put("suggested_fix", p.getSuggestedFix());
  }

  static ObjectNode ruleJson(ProtocolRule r, boolean tombstoned) {
    ObjectNode n = JSON.createObjectNode()
        .put("rule_id", r.getRuleId())
        .put("version", r.getVersion())
        .put("status", tombstoned ? "TOMBSTONED" : r.getStatus().name())
        .put("description", r.getDescription())
        .put("action", r.getAction().getKind().name())
        .put("confidence", r.getConfidence())
        .put("updated_at", r.getUpdatedAt().toEpochMilli());
    if (r.getStatusReason() != null) {
      n.put("status_reason", r.getStatusReason());
    }
    ObjectNode condition = n.putObject("condition")
        .put("category", r.getCondition().getCategory().name())
        .put("error_type", r.getCondition().getErrorType());
    if (r.getCondition().getFixKey() != null) {
      condition.put("fix_key", r.getCondition().getFixKey());
    }
    ObjectNode params = n.putObject("parameters");
    r.getAction().getParameters().forEach(params::put);
    ObjectNode evidence = n.putObject("evidence")
        .put("pattern_key", r.getEvidence().getPatternKey())
        .put("frequency", r.getEvidence().getFrequency())
        .put("window_start", r.getEvidence().getWindowStart().toEpochMilli())
        .put("window_end", r.getEvidence().getWindowEnd().toEpochMilli());
    ArrayNode examples = evidence.putArray("examples");
    r.getEvidence().getExamples().forEach(e -> examples.add(abbreviate(e.getMessage(), 200)));
    TrialSummary t = r.getTrial();
    if (t == null) {
      n.putNull("trial");
    } else {
      n.putObject("trial")
          .put("trial_id", t.getTrialId())
          .put("sample_size", t.getSampleSize())
          .put("error_rate_without", t.getErrorRateWithout())
          .put("error_rate_with", t.getErrorRateWith())
          .put("mean_ms_without", t.getMeanDurationMsWithout())
          .put("mean_ms_with", t.getMeanDurationMsWith())
          .put("verdict", t.getVerdict());
    }
    return n;
  }

  static String abbreviate(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  // ---- queries (MCP tools, metrics) ----

  public synchronized boolean caughtUp() {
    return caughtUp;
  }

  /** Waits until the view read what the topics held when it started. */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (!caughtUp && !closed) {
        if (failure != null) {
          throw new IllegalStateException("the live view cannot read the topics", failure);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, 100_000_000L));
      }
      return caughtUp;
    }
  }

  /** Why reading stopped, or null while it runs. */
  public Throwable failure() {
    return failure;
  }

  /** The view of one task (a copy), empty when it never appeared or was evicted. */
  public synchronized Optional<TaskView> task(String taskId, boolean copy) {
    TaskView v = tasks.get(taskId);
    if (v == null) {
      return Optional.empty();
    }
    TaskView c = new TaskView(taskId);
    c.status = v.status;
    c.validation = v.validation;
    c.execution = v.execution;
    c.errors.addAll(v.errors);
    c.finalAtMs = v.finalAtMs;
    c.seenFinalAtMs = v.seenFinalAtMs;
    return Optional.of(c);
  }

  /** The latest version of every rule (tombstoned ones excluded). */
  public synchronized List<ProtocolRule> rules() {
    return rulesById.values().stream().filter(r -> !tombstoned.contains(r.getRuleId())).toList();
  }

  public synchronized List<ErrorPattern> patterns() {
    return List.copyOf(patternsByKey.values());
  }

  public synchronized long dlqTotal() {
    return dlqTotal;
  }

  public synchronized long tasksIn(TaskState state) {
    return byState.getOrDefault(state, 0L);
  }

  public synchronized long errorsOf(ErrorCategory category) {
    return errorsTotal.getOrDefault(category, 0L);
  }

  /** Sandbox runs seen in execution results with this isolation: runs, failed, timed out. */
  public synchronized long[] sandboxRuns(Isolation isolation) {
    long[] c = sandbox.get(isolation);
    return c == null ? new long[3] : c.clone();
  }

  /** The checks of a validation as plain maps (for JSON answers). */
  static List<Map<String, Object>> checks(ValidationOutcome v) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ValidationCheck c : v.getChecks()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("level", c.getLevel());
      m.put("name", c.getName());
      m.put("passed", c.getPassed());
      m.put("details", abbreviate(c.getDetails(), 500));
      m.put("duration_ms", c.getDurationMs());
      out.add(m);
    }
    return out;
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      notifyAll();
    }
    consumer.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
