package io.fractalrmo.agentworkers.errors;

import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.Alert;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Turns an agent's failure into one {@link ErrorEvent} for {@code fractal.errors}, plus an
 * {@link Alert} for {@code fractal.alerts} when the category is SECURITY or RUNTIME (messages
 * bounded: they quote what untrusted code raised). Ids are
 * derived from the agent type and action id, so a re-processed record yields the same event id
 * (idempotent downstream).
 */
public final class ErrorLogger {

  private final String agentId;
  private final String agentType;
  private final TopicCatalog catalog;
  private final Clock clock;

  public ErrorLogger(String agentId, String agentType, TopicCatalog catalog, Clock clock) {
    this.agentId = agentId;
    this.agentType = agentType;
    this.catalog = catalog;
    this.clock = clock;
  }

  /** What went wrong, where. {@code context} may hold e.g. line, traceback excerpt, rule ids. */
  public record Failure(Categorized categorized, String message, String taskId, String actionId,
      String trialId, Map<String, String> context) {}

  /**
   * An alert that is not a failure: a signal an operator should see although the work went on
   * (e.g. a finding the policy lets run when the sandbox confines it). One per action and kind
   * ({@code UUID} from both), so a re-processed record yields the same alert id.
   */
  public Outgoing signal(String taskId, String actionId, String kind, Severity severity,
      ErrorCategory category, String message, Map<String, String> context) {
    String id = UUID.nameUUIDFromBytes(("signal|" + agentType + "|" + kind + "|" + actionId)
        .getBytes(StandardCharsets.UTF_8)).toString();
    Alert alert = Alert.newBuilder()
        .setAlertId(id)
        .setTaskId(taskId)
        .setSeverity(severity)
        .setCategory(category)
        .setSourceAgentId(agentId)
        .setErrorId(null)
        .setMessage(Bounded.text(message, Bounded.MESSAGE_CHARS))
        .setContext(context == null ? Map.of() : context)
        .setRaisedAt(java.time.Instant.ofEpochMilli(clock.millis()))
        .build();
    return new Outgoing(catalog.alerts().name(), taskId != null ? taskId : id, alert);
  }

  public List<Outgoing> log(Failure f) {
    String errorId = f.actionId() == null
        ? UUID.randomUUID().toString()
        : UUID.nameUUIDFromBytes((agentType + "|" + f.actionId()).getBytes(StandardCharsets.UTF_8)).toString();
    long now = clock.millis();
    Map<String, String> context = new HashMap<>(f.context() == null ? Map.of() : f.context());
    context.put("pattern_key", f.categorized().patternKey());
    ErrorEvent event = ErrorEvent.newBuilder()
        .setErrorId(errorId)
        .setAgentId(agentId)
        .setAgentType(agentType)
        .setTaskId(f.taskId())
        .setActionId(f.actionId())
        .setCategory(f.categorized().category())
        .setErrorType(f.categorized().errorType())
        .setMessage(Bounded.text(f.message() == null ? "" : f.message(), Bounded.MESSAGE_CHARS))
        .setFixKey(f.categorized().fixKey())
        .setTrialId(f.trialId())
        .setContext(context)
        .setOccurredAt(java.time.Instant.ofEpochMilli(now))
        .build();
    String key = f.taskId() != null ? f.taskId() : errorId;
    List<Outgoing> out = new ArrayList<>();
    out.add(new Outgoing(catalog.errors().name(), key, event));
    ErrorCategory c = f.categorized().category();
    if (c == ErrorCategory.SECURITY || c == ErrorCategory.RUNTIME) {
      Alert alert = Alert.newBuilder()
          .setAlertId(UUID.nameUUIDFromBytes(("alert|" + errorId).getBytes(StandardCharsets.UTF_8)).toString())
          .setTaskId(f.taskId())
          .setSeverity(c == ErrorCategory.SECURITY ? Severity.HIGH : Severity.MEDIUM)
          .setCategory(c)
          .setSourceAgentId(agentId)
          .setErrorId(errorId)
          .setMessage(Bounded.text(c + " failure in " + agentType + ": " + event.getMessage(),
              Bounded.MESSAGE_CHARS))
          .setContext(context)
          .setRaisedAt(java.time.Instant.ofEpochMilli(now))
          .build();
      out.add(new Outgoing(catalog.alerts().name(), key, alert));
    }
    return out;
  }
}
