package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleSample;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.patterns.FixCatalog;
import io.fractalrmo.streams.patterns.PatternKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * In the task-id key space (action items, execution results, validation outcomes and error
 * events are all keyed by task id, so co-partitioned), turns what happened to each live — not
 * trial — action into {@link RuleSample}s for the protocol updater:
 * <ul>
 *   <li><b>failed action</b>, keyed by the id of the rule its error's pattern suggests: the
 *       action (with the code a model generated for it, if any), so a trial can re-run it;</li>
 *   <li><b>live outcome</b>, keyed {@code live|<action id>} and broadcast to every partition of
 *       the updater: success, the failure's pattern key, whether rules were off, the rules
 *       applied, the cost; with the action itself when it succeeded (the GUARD arm's pool).
 *       A failure's pattern key is in its error event, which the executor writes before the
 *       outcome and the validator just after it: whichever of the two comes second emits the
 *       sample.</li>
 * </ul>
 * BLOCK actions (never run, no rule changes them) give no live outcome.
 */
final class OutcomeCollector implements Processor<String, SpecificRecord, String, RuleSample> {

  private static final Logger LOG = LoggerFactory.getLogger(OutcomeCollector.class);
  static final String LIVE_KEY_PREFIX = "live|";
  private static final Set<String> RUNNERS = Set.of("executor", "validator");
  /** The value of {@code fractal.rules} that switches rules off (any case), as the executor reads it. */
  static final String RULES_OFF = "off";

  private final long retention;
  private ProcessorContext<String, RuleSample> context;
  private WindowStore<String, ActionItem> actions;
  private WindowStore<String, String> generated;
  private WindowStore<String, ErrorEvent> errors;
  private WindowStore<String, ValidationOutcome> failedOutcomes;

  OutcomeCollector(StreamsSettings.Rules settings) {
    this.retention = settings.actionRetention().toMillis();
  }

  @Override
  public void init(ProcessorContext<String, RuleSample> context) {
    this.context = context;
    this.actions = context.getStateStore(ProtocolUpdaterTopology.RECENT_ACTIONS_STORE);
    this.generated = context.getStateStore(ProtocolUpdaterTopology.GENERATED_CODE_STORE);
    this.errors = context.getStateStore(ProtocolUpdaterTopology.RECENT_ERRORS_STORE);
    this.failedOutcomes = context.getStateStore(ProtocolUpdaterTopology.FAILED_OUTCOMES_STORE);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    long ts = record.timestamp();
    if (record.value() instanceof ActionItem item) {
      if (item.getTrial() == null) {
        actions.put(item.getActionId(), item, ts);
      }
    } else if (record.value() instanceof ExecutionResult result) {
      ActionItem a = result.getAction();
      if (a != null && a.getTrial() == null && a.getType() == ActionType.GENERATE_CODE
          && result.getCode() != null && !result.getCode().isBlank()) {
        generated.put(result.getActionId(), result.getCode(), ts);
      }
    } else if (record.value() instanceof ErrorEvent e) {
      onError(e, ts);
    } else if (record.value() instanceof ValidationOutcome o) {
      onOutcome(o, ts);
    }
  }

  private void onError(ErrorEvent e, long ts) {
    if (e.getTrialId() != null || e.getActionId() == null) {
      return;
    }
    ActionItem action = latest(actions, e.getActionId(), ts);
    RuleActionKind kind = FixCatalog.suggestedAction(e.getCategory(), e.getErrorType(),
        e.getFixKey());
    if (kind != RuleActionKind.UNKNOWN) {
      if (action == null) {
        LOG.debug("failed action {} of error {} is not known (older than {} ms?)",
            e.getActionId(), e.getErrorId(), retention);
      } else {
        RuleSample failed = sample(action, e.getActionId(), e.getTaskId(), false, e, null, ts);
        context.forward(new Record<>(RuleIds.ruleId(PatternKey.of(e), kind), failed, ts));
      }
    }
    if (!RUNNERS.contains(e.getAgentType())) {
      return;
    }
    KeyValue<Long, ValidationOutcome> outcome = latestEntry(failedOutcomes, e.getActionId(), ts);
    if (outcome != null) {
      failedOutcomes.put(e.getActionId(), null, outcome.key);
      emitLive(action, outcome.value, e, ts);
    } else {
      errors.put(e.getActionId(), e, ts);
    }
  }

  private void onOutcome(ValidationOutcome o, long ts) {
    if (o.getTrial() != null) {
      return;
    }
    ActionItem action = latest(actions, o.getActionId(), ts);
    if (o.getSuccess()) {
      emitLive(action, o, null, ts);
      return;
    }
    KeyValue<Long, ErrorEvent> error = latestEntry(errors, o.getActionId(), ts);
    if (error != null) {
      errors.put(o.getActionId(), null, error.key);
      emitLive(action, o, error.value, ts);
    } else {
      failedOutcomes.put(o.getActionId(), o, ts);
    }
  }

  private void emitLive(ActionItem action, ValidationOutcome o, ErrorEvent error, long ts) {
    if (action != null && action.getType() == ActionType.BLOCK) {
      return;
    }
    RuleSample.Builder s = RuleSample.newBuilder(sample(action, o.getActionId(), o.getTaskId(),
        o.getSuccess(), error, o, ts));
    if (action == null) {
      // too old to be known: still an outcome, without the action's findings and type
      s.setRulesOff(error != null && RULES_OFF.equalsIgnoreCase(
          error.getContext().getOrDefault(PlanPolicy.RULES_ATTRIBUTE, "")));
    } else {
      s.setFindings(action.getFindings());
    }
    if (!o.getSuccess()) {
      // only successes feed the GUARD arm's pool: a failure's action is not broadcast
      s.setAction(null).setGeneratedCode(null);
    }
    context.forward(new Record<>(LIVE_KEY_PREFIX + o.getActionId(), s.build(), ts));
  }

  private RuleSample sample(ActionItem action, String actionId, String taskId, boolean success,
      ErrorEvent error, ValidationOutcome outcome, long ts) {
    String code = action != null && action.getType() == ActionType.GENERATE_CODE
        ? latest(generated, actionId, ts) : null;
    List<String> applied = outcome != null ? outcome.getAppliedRuleIds() : List.of();
    return RuleSample.newBuilder()
        .setTaskId(taskId == null ? "" : taskId)
        .setActionId(actionId)
        .setActionType(action == null ? ActionType.UNKNOWN : action.getType())
        .setAction(action)
        .setGeneratedCode(code)
        .setRulesOff(action != null && rulesOff(action.getAttributes()))
        .setSuccess(success)
        .setPatternKey(error == null ? null : PatternKey.of(error))
        .setAppliedRuleIds(applied)
        .setFindings(List.of())
        .setDurationMs(outcome == null ? 0 : outcome.getExecutionDurationMs())
        .setOccurredAt(outcome != null ? outcome.getValidatedAt() : Instant.ofEpochMilli(ts))
        .build();
  }

  /** Whether an action ran without protocol rules (the executor's reading of the attribute). */
  static boolean rulesOff(Map<String, String> attributes) {
    String v = attributes == null ? null : attributes.get(PlanPolicy.RULES_ATTRIBUTE);
    return v != null && RULES_OFF.equalsIgnoreCase(v.strip());
  }

  private <V> V latest(WindowStore<String, V> store, String key, long ts) {
    KeyValue<Long, V> e = latestEntry(store, key, ts);
    return e == null ? null : e.value;
  }

  private <V> KeyValue<Long, V> latestEntry(WindowStore<String, V> store, String key, long ts) {
    KeyValue<Long, V> found = null;
    try (WindowStoreIterator<V> it = store.fetch(key, ts - retention, ts + retention)) {
      while (it.hasNext()) {
        KeyValue<Long, V> next = it.next();
        if (next.value != null) {
          found = next;
        }
      }
    }
    return found;
  }
}
