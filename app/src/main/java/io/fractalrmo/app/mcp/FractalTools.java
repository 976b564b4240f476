package io.fractalrmo.app.mcp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.app.dashboard.LiveView;
import io.fractalrmo.connectors.outbox.InvalidTaskException;
import io.fractalrmo.connectors.outbox.TaskJson;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What the MCP server's tools and resources do, without MCP: each returns a JSON document or
 * throws {@link ToolException} with a message for the caller. Reads come from the {@link LiveView}
 * of the topics; {@link #submit} validates the arguments like every other way in (the same rules
 * as {@code fractal submit --json} and the outbox) and writes one Task to {@code fractal.tasks}.
 */
public final class FractalTools implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<TaskState> FINAL = Set.of(TaskState.SUCCEEDED, TaskState.FAILED,
      TaskState.REJECTED);

  /** A failure the caller should read (a tool error, not a protocol error). */
  public static final class ToolException extends Exception {
    public ToolException(String message) {
      super(message);
    }
  }

  private final Endpoints endpoints;
  private final LiveView view;
  private final KafkaProducer<String, Task> producer;

  public FractalTools(Endpoints endpoints, LiveView view, Map<String, Object> serdeConfig) {
    this.endpoints = endpoints;
    this.view = view;
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, endpoints.topics().prefix() + "fractal-mcp");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
    this.producer = new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(Task.class, serdeConfig).serializer());
  }

  /** Validates {@code arguments} as a task and writes it to {@code fractal.tasks}. */
  public ObjectNode submit(Map<String, Object> arguments) throws ToolException {
    String json;
    try {
      json = JSON.writeValueAsString(arguments == null ? Map.of() : arguments);
    } catch (JsonProcessingException e) {
      throw new ToolException("arguments are not a JSON object: " + e.getOriginalMessage());
    }
    Task task;
    try {
      task = TaskJson.parseSubmission(json, "mcp", Instant.now());
    } catch (InvalidTaskException e) {
      throw new ToolException("invalid task, nothing submitted: " + e.getMessage());
    }
    RecordMetadata meta;
    try {
      // the task's trace starts here
      org.apache.kafka.common.header.Headers headers =
          new org.apache.kafka.common.header.internals.RecordHeaders();
      io.fractalrmo.runtime.trace.Tracing.process().start("submit", "mcp",
          (org.apache.kafka.common.header.Headers) null).writeTo(headers);
      meta = producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), null,
          task.getTaskId(), task, headers)).get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ToolException("interrupted before Kafka acknowledged the task");
    } catch (ExecutionException | TimeoutException e) {
      throw new ToolException("Kafka did not accept the task: "
          + (e.getCause() == null ? e : e.getCause()).getMessage());
    }
    return JSON.createObjectNode().put("task_id", task.getTaskId())
        .put("topic", meta.topic()).put("partition", meta.partition()).put("offset", meta.offset())
        .put("next", "call get_task_status with this task_id to follow it");
  }

  /** The latest status of a task, its transitions and (once final) its outcome. */
  public ObjectNode status(String taskId) throws ToolException {
    LiveView.TaskView v = taskView(taskId);
    TaskStatus s = v.status().orElseThrow(() -> new ToolException("task " + taskId
        + " has no status yet on " + endpoints.topics().taskStatus().name()));
    ObjectNode n = JSON.createObjectNode().put("task_id", taskId).put("state", s.getState().name())
        .put("final", FINAL.contains(s.getState()))
        .put("updated_at", s.getUpdatedAt().toString());
    ArrayNode transitions = n.putArray("transitions");
    for (StateTransition t : s.getTransitions()) {
      transitions.addObject().put("state", t.getState().name()).put("at", t.getAt().toString());
    }
    if (s.getFailureCategory() != null) {
      n.put("failure_category", s.getFailureCategory().name());
    }
    if (s.getFailureReason() != null) {
      n.put("failure_reason", s.getFailureReason());
    }
    ArrayNode applied = n.putArray("applied_rule_ids");
    s.getAppliedRuleIds().forEach(applied::add);
    ArrayNode missing = n.putArray("missing_aspects");
    s.getMissingAspects().forEach(a -> missing.add(a.name()));
    v.validation().ifPresent(o -> n.putObject("outcome").put("success", o.getSuccess())
        .put("level_requested", o.getLevelRequested()).put("level_reached", o.getLevelReached())
        .put("validator_id", o.getValidatorId()));
    return n;
  }

  /** Why a task failed: its status, the validator's checks, the execution's error, the errors, the rules applied. */
  public ObjectNode explain(String taskId) throws ToolException {
    LiveView.TaskView v = taskView(taskId);
    ObjectNode n = status(taskId);
    TaskStatus s = v.status().orElseThrow();
    StringBuilder summary = new StringBuilder();
    switch (s.getState()) {
      case SUCCEEDED -> summary.append("the task succeeded: nothing failed");
      case FAILED, REJECTED -> summary.append("the task ").append(s.getState().name())
          .append(s.getFailureCategory() == null ? "" : " (" + s.getFailureCategory() + ")")
          .append(s.getFailureReason() == null ? "" : ": " + s.getFailureReason());
      default -> summary.append("the task has not finished; it is ").append(s.getState().name());
    }
    Optional<ValidationOutcome> validation = v.validation();
    ArrayNode checks = n.putArray("checks");
    if (validation.isPresent()) {
      ValidationOutcome o = validation.get();
      for (ValidationCheck c : o.getChecks()) {
        checks.addObject().put("level", c.getLevel()).put("name", c.getName())
            .put("passed", c.getPassed()).put("details", cut(c.getDetails(), 600))
            .put("duration_ms", c.getDurationMs());
      }
      if (o.getFailedLevel() != null) {
        n.put("failed_level", o.getFailedLevel());
        o.getChecks().stream().filter(c -> !c.getPassed()).findFirst().ifPresent(c ->
            summary.append("; first failed check: level ").append(c.getLevel()).append(' ')
                .append(c.getName()).append(" — ").append(cut(c.getDetails(), 200)));
      }
    }
    Optional<ExecutionResult> execution = v.execution();
    execution.ifPresent(x -> {
      ObjectNode e = n.putObject("execution").put("success", x.getSuccess())
          .put("timed_out", x.getTimedOut()).put("duration_ms", x.getDurationMs())
          .put("effective_timeout_ms", x.getEffectiveTimeoutMs())
          .put("isolation", x.getIsolation().name()).put("executor_id", x.getExecutorId());
      if (x.getExitCode() != null) {
        e.put("exit_code", x.getExitCode());
      }
      if (x.getError() != null) {
        e.putObject("error").put("type", x.getError().getType())
            .put("message", cut(x.getError().getMessage(), 600));
      }
      e.put("stderr", cut(x.getStderr(), 1_000));
    });
    ArrayNode errors = n.putArray("errors");
    for (ErrorEvent e : v.errors()) {
      errors.addObject().put("category", e.getCategory().name()).put("error_type", e.getErrorType())
          .put("message", cut(e.getMessage(), 600)).put("agent_type", e.getAgentType())
          .put("occurred_at", e.getOccurredAt().toString());
    }
    Set<String> appliedIds = new HashSet<>(s.getAppliedRuleIds());
    execution.ifPresent(x -> appliedIds.addAll(x.getAppliedRuleIds()));
    ArrayNode rules = n.putArray("applied_rules");
    Map<String, ProtocolRule> known = new HashMap<>();
    view.rules().forEach(r -> known.put(r.getRuleId(), r));
    for (String id : appliedIds) {
      ProtocolRule r = known.get(id);
      ObjectNode rn = rules.addObject().put("rule_id", id);
      if (r != null) {
        rn.put("status", r.getStatus().name()).put("action", r.getAction().getKind().name())
            .put("description", r.getDescription());
      }
    }
    if (!appliedIds.isEmpty()) {
      summary.append("; rules applied: ").append(String.join(", ", appliedIds));
    }
    n.put("summary", summary.toString());
    return n;
  }

  /** The rules with their evidence and trial: ACTIVE ones, or every live one with {@code all}. */
  public ObjectNode rules(boolean all) {
    ObjectNode n = JSON.createObjectNode();
    ArrayNode list = n.putArray("rules");
    for (ProtocolRule r : view.rules()) {
      if (all || r.getStatus() == RuleStatus.ACTIVE) {
        list.add(ruleJson(r));
      }
    }
    n.put("count", list.size());
    return n;
  }

  /** The error patterns seen: the latest window of each pattern key, with examples. */
  public ObjectNode patterns() {
    ObjectNode n = JSON.createObjectNode();
    ArrayNode list = n.putArray("patterns");
    for (ErrorPattern p : view.patterns()) {
      ObjectNode pn = list.addObject().put("pattern_key", p.getPatternKey())
          .put("category", p.getCategory().name()).put("error_type", p.getErrorType())
          .put("frequency", p.getFrequency()).put("confidence", p.getConfidence())
          .put("window_start", p.getWindowStart().toString())
          .put("window_end", p.getWindowEnd().toString())
          .put("suggested_action", p.getSuggestedAction().name())
          .put("suggested_fix", p.getSuggestedFix());
      ArrayNode examples = pn.putArray("examples");
      for (PatternExample e : p.getExamples()) {
        examples.addObject().put("task_id", e.getTaskId()).put("message", cut(e.getMessage(), 300));
      }
    }
    n.put("count", list.size());
    return n;
  }

  /** The topic catalogue: name, partitions, cleanup policy, value record, who writes and reads. */
  public ObjectNode topics() {
    ObjectNode n = JSON.createObjectNode().put("prefix", endpoints.topics().prefix());
    ArrayNode list = n.putArray("topics");
    for (TopicSpec t : endpoints.topics().all()) {
      ObjectNode tn = list.addObject().put("name", t.name()).put("partitions", t.partitions())
          .put("cleanup_policy", t.cleanupPolicy()).put("key", t.key())
          .put("written_by", t.writtenBy()).put("read_by", t.readBy());
      t.retention().ifPresent(r -> tn.put("retention", r.toString()));
      t.valueSchema().ifPresent(schema -> tn.put("value_record", schema.getFullName())
          .put("value_subject", t.valueSubject()));
    }
    return n;
  }

  /** Every rule the topic holds now (any status), as the {@code fractal://rules} resource. */
  public ObjectNode ruleSet() {
    return rules(true);
  }

  private LiveView.TaskView taskView(String taskId) throws ToolException {
    if (taskId == null || taskId.isBlank()) {
      throw new ToolException("task_id is required");
    }
    return view.task(taskId, true).orElseThrow(() -> new ToolException("no task " + taskId
        + " seen on the pipeline's topics (the view keeps the last " + LiveView.MAX_TASKS
        + " tasks; a task just submitted appears once fractal.task-status has its first status)"));
  }

  private static ObjectNode ruleJson(ProtocolRule r) {
    ObjectNode n = JSON.createObjectNode().put("rule_id", r.getRuleId())
        .put("version", r.getVersion()).put("status", r.getStatus().name())
        .put("description", r.getDescription()).put("action", r.getAction().getKind().name())
        .put("confidence", r.getConfidence());
    n.putObject("condition").put("category", r.getCondition().getCategory().name())
        .put("error_type", r.getCondition().getErrorType());
    ObjectNode params = n.putObject("parameters");
    r.getAction().getParameters().forEach(params::put);
    ObjectNode evidence = n.putObject("evidence").put("pattern_key", r.getEvidence().getPatternKey())
        .put("frequency", r.getEvidence().getFrequency())
        .put("window_start", r.getEvidence().getWindowStart().toString())
        .put("window_end", r.getEvidence().getWindowEnd().toString());
    ArrayNode examples = evidence.putArray("examples");
    r.getEvidence().getExamples().forEach(e -> examples.add(cut(e.getMessage(), 300)));
    if (r.getTrial() == null) {
      n.putNull("trial");
    } else {
      var t = r.getTrial();
      n.putObject("trial").put("trial_id", t.getTrialId()).put("sample_size", t.getSampleSize())
          .put("error_rate_without", t.getErrorRateWithout())
          .put("error_rate_with", t.getErrorRateWith())
          .put("mean_ms_without", t.getMeanDurationMsWithout())
          .put("mean_ms_with", t.getMeanDurationMsWith()).put("verdict", t.getVerdict());
    }
    if (r.getStatusReason() != null) {
      n.put("status_reason", r.getStatusReason());
    }
    return n;
  }

  private static String cut(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  @Override
  public void close() {
    producer.close(java.time.Duration.ofSeconds(5));
  }

  static List<String> names() {
    return List.of("submit_task", "get_task_status", "list_active_rules", "list_error_patterns",
        "explain_task_failure");
  }
}
