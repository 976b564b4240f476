package io.fractalrmo.agentworkers.errors;

import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.Alert;
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
 * {@link Alert} for {@code fractal.alerts} when the category is SECURITY or RUNTIME. Ids are
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
        .setMessage(f.message() == null ? "" : f.message())
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
          .setMessage(c + " failure in " + agentType + ": " + event.getMessage())
          .setContext(context)
          .setRaisedAt(java.time.Instant.ofEpochMilli(now))
          .build();
      out.add(new Outgoing(catalog.alerts().name(), key, alert));
    }
    return out;
  }
}
