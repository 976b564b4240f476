package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.patterns.FixCatalog;
import io.fractalrmo.streams.patterns.PatternKey;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The protocol updater on a TopologyTestDriver, with the vocabulary of its tests: failures of a
 * pattern (action items, then their error events), live successes (action items, then their
 * validation outcomes), the pattern, and verdicts on trial actions.
 */
final class UpdaterDriver {

  /** A pattern a rule is learnt from: key parts and the kind it suggests. */
  record Pattern(ErrorCategory category, String errorType, String fixKey) {
    String key() {
      return PatternKey.of(category.name(), errorType, fixKey);
    }

    RuleActionKind kind() {
      return FixCatalog.suggestedAction(category, errorType, fixKey);
    }

    String ruleId() {
      return RuleIds.ruleId(key(), kind());
    }
  }

  static final Pattern IMPORTS = new Pattern(ErrorCategory.DEPENDENCY, "NameError", "typing");
  static final Pattern TIMEOUT = new Pattern(ErrorCategory.PERFORMANCE, "TimeoutError", "timeout");
  static final Pattern SYNTAX = new Pattern(ErrorCategory.SYNTAX, "SyntaxError", null);
  static final Pattern SECURITY = new Pattern(ErrorCategory.SECURITY, "SecurityBlocked",
      "NETWORK_ACCESS");
  static final Pattern LOGIC = new Pattern(ErrorCategory.LOGIC, "AssertionError", null);

  static final Finding NETWORK = Finding.newBuilder().setType("NETWORK_ACCESS")
      .setSeverity(io.fractalrmo.contracts.Severity.MEDIUM).setLine(3)
      .setDescription("opens a socket").setAspect(io.fractalrmo.contracts.Aspect.SECURITY)
      .setBlocking(false).build();

  final TopologyTestDriver driver;
  final TestInputTopic<String, ActionItem> actions;
  final TestInputTopic<String, ErrorEvent> errors;
  final TestInputTopic<String, ErrorPattern> patterns;
  final TestInputTopic<String, ValidationOutcome> outcomes;
  final TestInputTopic<String, ExecutionResult> results;
  final TestOutputTopic<String, ProtocolRule> rules;
  final TestOutputTopic<String, RuleTrial> trials;
  final TestOutputTopic<String, ActionItem> trialActions;

  UpdaterDriver(TopologyFixture fixture, StreamsSettings settings, Instant wallClock) {
    driver = fixture.start((topics, serdes) -> ProtocolUpdaterTopology.build(topics, settings,
        serdes), wallClock);
    actions = fixture.input(TopicCatalog::actionItems, ActionItem.class);
    errors = fixture.input(TopicCatalog::errors, ErrorEvent.class);
    patterns = fixture.input(TopicCatalog::errorPatterns, ErrorPattern.class);
    outcomes = fixture.input(TopicCatalog::validationOutcomes, ValidationOutcome.class);
    results = fixture.input(TopicCatalog::executionResults, ExecutionResult.class);
    rules = fixture.output(TopicCatalog::protocolRules, ProtocolRule.class);
    trials = fixture.output(TopicCatalog::ruleTrials, RuleTrial.class);
    trialActions = fixture.output(TopicCatalog::actionItems, ActionItem.class);
  }

  static String failedTask(int i) {
    return "task-" + i;
  }

  static String okTask(int i) {
    return "ok-" + i;
  }

  static String planId(String taskId) {
    return taskId + ":plan:1";
  }

  /** Failures {@code from..to} of the pattern: their action items, then their error events. */
  void failures(Pattern p, int from, int to, Instant at) {
    failures(p, from, to, at, b -> b);
  }

  void failures(Pattern p, int from, int to, Instant at,
      Function<ActionItem.Builder, ActionItem.Builder> action) {
    for (int i = from; i <= to; i++) {
      String task = failedTask(i);
      actions.pipeInput(task, action.apply(anActionItem().setTaskId(task)
          .setActionId(planId(task))).build(), at);
    }
    for (int i = from; i <= to; i++) {
      String task = failedTask(i);
      errors.pipeInput(task, anErrorEvent().setErrorId("err-" + i).setTaskId(task)
          .setActionId(planId(task)).setCategory(p.category()).setErrorType(p.errorType())
          .setFixKey(p.fixKey()).setOccurredAt(at).build(), at.plusMillis(10));
    }
  }

  /** Live successes {@code from..to}: their action items, then their passing outcomes. */
  void successes(int from, int to, Instant at, long costMs) {
    successes(from, to, at, costMs, b -> b);
  }

  void successes(int from, int to, Instant at, long costMs,
      Function<ActionItem.Builder, ActionItem.Builder> action) {
    for (int i = from; i <= to; i++) {
      String task = okTask(i);
      actions.pipeInput(task, action.apply(anActionItem().setTaskId(task)
          .setActionId(planId(task))).build(), at);
      outcomes.pipeInput(task, outcome(task, planId(task), true, costMs, at).build(),
          at.plusMillis(10));
    }
  }

  static ValidationOutcome.Builder outcome(String task, String actionId, boolean ok, long costMs,
      Instant at) {
    return ValidationOutcome.newBuilder().setTaskId(task).setActionId(actionId)
        .setValidatorId("v").setSuccess(ok).setLevelRequested(3).setLevelReached(ok ? 3 : 2)
        .setDurationMs(5).setExecutionDurationMs(costMs).setTrial(null).setValidatedAt(at);
  }

  static ErrorPattern pattern(Pattern p, double confidence, Instant windowStart) {
    return ErrorPattern.newBuilder().setPatternKey(p.key()).setCategory(p.category())
        .setErrorType(p.errorType()).setFixKey(p.fixKey()).setWindowStart(windowStart)
        .setWindowEnd(windowStart.plusSeconds(30)).setFrequency(3).setConfidence(confidence)
        .setExamples(List.of(PatternExample.newBuilder().setErrorId("err-1")
            .setTaskId("task-1").setActionId("task-1:plan:1").setMessage("it failed")
            .setOccurredAt(windowStart).build()))
        .setSuggestedFix("fix it").setSuggestedAction(p.kind())
        .setLateEvents(0).setEmittedAt(windowStart).build();
  }

  void pattern(Pattern p, Instant at) {
    patterns.pipeInput(p.key(), pattern(p, 0.8, at), at.plusSeconds(1));
  }

  /** Each arm's verdict and cost on the trial's actions. */
  record Arms(boolean controlOk, long controlMs, boolean treatmentOk, long treatmentMs,
      boolean guardOk, long guardMs) {
  }

  void verdicts(List<ActionItem> items, Arms arms, Instant at) {
    verdicts(items, a -> {
      TrialArm arm = a.getTrial().getArm();
      return switch (arm) {
        case CONTROL -> new boolean[] {arms.controlOk()};
        case TREATMENT -> new boolean[] {arms.treatmentOk()};
        default -> new boolean[] {arms.guardOk()};
      };
    }, a -> switch (a.getTrial().getArm()) {
      case CONTROL -> arms.controlMs();
      case TREATMENT -> arms.treatmentMs();
      default -> arms.guardMs();
    }, at);
  }

  void verdicts(List<ActionItem> items, Function<ActionItem, boolean[]> ok,
      Function<ActionItem, Long> cost, Instant at) {
    for (ActionItem a : items) {
      outcomes.pipeInput(a.getTaskId(), outcome(a.getTaskId(), a.getActionId(), ok.apply(a)[0],
          cost.apply(a), at).setTrial(a.getTrial()).build(), at);
    }
  }

  /** Pipes failures and successes, then the pattern: the trial's items (asserting their count). */
  List<ActionItem> startTrial(Pattern p, int failed, int succeeded, Instant at, int expected) {
    successes(1, succeeded, at, 12);
    failures(p, 1, failed, at);
    pattern(p, at);
    List<ActionItem> items = trialActions.readValuesToList();
    assertThat(items).hasSize(expected);
    return items;
  }

  static List<ActionItem> arm(List<ActionItem> items, TrialArm arm) {
    return items.stream().filter(a -> a.getTrial().getArm() == arm).toList();
  }

  static Map<String, String> attributes(String... kv) {
    java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  static ActionItem.Builder generated(ActionItem.Builder b) {
    return b.setType(ActionType.GENERATE_CODE)
        .setInput(Mothers.anInput().setCode(null).setPrompt("add two numbers").build());
  }
}
