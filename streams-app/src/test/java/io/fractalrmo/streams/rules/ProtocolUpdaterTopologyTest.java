package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ProtocolUpdaterTopologyTest {

  static final String KEY = "DEPENDENCY|NameError|typing";
  static final String RULE_ID = RuleIds.ruleId(KEY, RuleActionKind.ADD_MISSING_IMPORTS);
  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private TopologyTestDriver driver;
  private TestInputTopic<String, ActionItem> actions;
  private TestInputTopic<String, ErrorEvent> errors;
  private TestInputTopic<String, ErrorPattern> patterns;
  private TestInputTopic<String, ValidationOutcome> outcomes;
  private TestOutputTopic<String, ProtocolRule> rules;
  private TestOutputTopic<String, RuleTrial> trials;
  private TestOutputTopic<String, ActionItem> trialActions;

  @BeforeEach
  void setUp() {
    driver = fixture.start((topics, serdes) -> ProtocolUpdaterTopology.build(topics,
        StreamsSettings.demo(), serdes), T0);
    actions = fixture.input(TopicCatalog::actionItems, ActionItem.class);
    errors = fixture.input(TopicCatalog::errors, ErrorEvent.class);
    patterns = fixture.input(TopicCatalog::errorPatterns, ErrorPattern.class);
    outcomes = fixture.input(TopicCatalog::validationOutcomes, ValidationOutcome.class);
    rules = fixture.output(TopicCatalog::protocolRules, ProtocolRule.class);
    trials = fixture.output(TopicCatalog::ruleTrials, RuleTrial.class);
    trialActions = fixture.output(TopicCatalog::actionItems, ActionItem.class);
  }

  /** n failed actions of the pattern: the action items, then their error events. */
  private void failures(int from, int to, Instant at) {
    for (int i = from; i <= to; i++) {
      actions.pipeInput("task-" + i, anActionItem().setTaskId("task-" + i)
          .setActionId("task-" + i + ":plan:1").build(), at);
    }
    for (int i = from; i <= to; i++) {
      errors.pipeInput("task-" + i, anErrorEvent().setErrorId("err-" + i).setTaskId("task-" + i)
          .setActionId("task-" + i + ":plan:1").setOccurredAt(at).build(), at.plusMillis(10));
    }
  }

  static ErrorPattern pattern(double confidence, Instant windowStart) {
    return ErrorPattern.newBuilder().setPatternKey(KEY).setCategory(ErrorCategory.DEPENDENCY)
        .setErrorType("NameError").setFixKey("typing").setWindowStart(windowStart)
        .setWindowEnd(windowStart.plusSeconds(30)).setFrequency(3).setConfidence(confidence)
        .setExamples(List.of(PatternExample.newBuilder().setErrorId("err-1").setTaskId("task-1")
            .setActionId("task-1:plan:1").setMessage("name 'List' is not defined")
            .setOccurredAt(windowStart).build()))
        .setSuggestedFix("add `import typing`").setSuggestedAction(RuleActionKind.ADD_MISSING_IMPORTS)
        .setLateEvents(0).setEmittedAt(windowStart).build();
  }

  /** The validator's verdict on each trial action, success by arm. */
  private void verdicts(List<ActionItem> trialItems, boolean controlOk, boolean treatmentOk,
      long controlMs, long treatmentMs, Instant at) {
    for (ActionItem a : trialItems) {
      boolean control = a.getTrial().getArm() == TrialArm.CONTROL;
      boolean ok = control ? controlOk : treatmentOk;
      outcomes.pipeInput(a.getTaskId(), ValidationOutcome.newBuilder().setTaskId(a.getTaskId())
          .setActionId(a.getActionId()).setValidatorId("v").setSuccess(ok).setLevelRequested(3)
          .setLevelReached(ok ? 3 : 2).setDurationMs(5)
          .setExecutionDurationMs(control ? controlMs : treatmentMs).setTrial(a.getTrial())
          .setValidatedAt(at).build(), at);
    }
  }

  private List<ActionItem> startTrial() {
    failures(1, 3, T0);
    patterns.pipeInput(KEY, pattern(0.8, T0), T0.plusSeconds(1));
    List<ActionItem> items = trialActions.readValuesToList();
    assertThat(items).hasSize(6);
    return items;
  }

  @Test
  void shouldProposeACandidateAndStartATrialThroughKafka() {
    List<ActionItem> items = startTrial();

    ProtocolRule candidate = rules.readValue();
    assertThat(candidate.getRuleId()).isEqualTo(RULE_ID);
    assertThat(candidate.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(candidate.getVersion()).isEqualTo(1);
    assertThat(candidate.getAction().getKind()).isEqualTo(RuleActionKind.ADD_MISSING_IMPORTS);
    assertThat(candidate.getAction().getParameters()).containsEntry(RuleParameters.IMPORTS, "typing");
    assertThat(candidate.getCondition().getFixKey()).isEqualTo("typing");
    assertThat(candidate.getEvidence().getPatternKey()).isEqualTo(KEY);

    String trialId = RuleIds.trialId(RULE_ID, 1);
    assertThat(items).extracting(ActionItem::getActionId).containsExactly(
        trialId + ":CONTROL:1", trialId + ":CONTROL:2", trialId + ":CONTROL:3",
        trialId + ":TREATMENT:1", trialId + ":TREATMENT:2", trialId + ":TREATMENT:3");
    assertThat(items).allSatisfy(a -> {
      assertThat(a.getTrial().getRuleId()).isEqualTo(RULE_ID);
      assertThat(a.getTrial().getRuleAction()).isEqualTo(candidate.getAction());
      assertThat(a.getTaskId()).isEqualTo(a.getTrial().getSourceActionId().replace(":plan:1", ""));
    });
    assertThat(trialActions.isEmpty()).isTrue();

    KeyValue<String, RuleTrial> started = trials.readKeyValue();
    assertThat(started.key).isEqualTo(trialId);
    assertThat(started.value.getPhase()).isEqualTo(TrialPhase.STARTED);
    assertThat(started.value.getSampleActionIds()).containsExactly("task-1:plan:1",
        "task-2:plan:1", "task-3:plan:1");
  }

  @Test
  void shouldKeepTheSourceAttributesOnTrialItemsButNeverSwitchRulesOff() {
    // task-1 ran with rules off (a measured comparison), task-2 and task-3 normally
    actions.pipeInput("task-1", anActionItem().setTaskId("task-1").setActionId("task-1:plan:1")
        .setAttributes(Map.of(PlanPolicy.RULES_ATTRIBUTE, "off", "demo.arm", "RULES_OFF"))
        .build(), T0);
    actions.pipeInput("task-2", anActionItem().setTaskId("task-2").setActionId("task-2:plan:1")
        .setAttributes(Map.of("demo.arm", "LEARN")).build(), T0);
    actions.pipeInput("task-3", anActionItem().setTaskId("task-3").setActionId("task-3:plan:1")
        .build(), T0);
    for (int i = 1; i <= 3; i++) {
      errors.pipeInput("task-" + i, anErrorEvent().setErrorId("err-" + i).setTaskId("task-" + i)
          .setActionId("task-" + i + ":plan:1").setOccurredAt(T0).build(), T0.plusMillis(10));
    }
    patterns.pipeInput(KEY, pattern(0.8, T0), T0.plusSeconds(1));

    List<ActionItem> items = trialActions.readValuesToList();
    assertThat(items).hasSize(6).allSatisfy(a ->
        assertThat(a.getAttributes()).doesNotContainKey(PlanPolicy.RULES_ATTRIBUTE));
    assertThat(items).filteredOn(a -> a.getTaskId().equals("task-1"))
        .hasSize(2).allSatisfy(a -> assertThat(a.getAttributes())
            .containsExactlyEntriesOf(Map.of("demo.arm", "RULES_OFF")));
    assertThat(items).filteredOn(a -> a.getTaskId().equals("task-2"))
        .hasSize(2).allSatisfy(a -> assertThat(a.getAttributes())
            .containsExactlyEntriesOf(Map.of("demo.arm", "LEARN")));
    assertThat(items).filteredOn(a -> a.getTaskId().equals("task-3"))
        .hasSize(2).allSatisfy(a -> assertThat(a.getAttributes()).isEmpty());
  }

  @Test
  void shouldNotProposeBelowTheBarNorTwiceForTheSameRule() {
    failures(1, 3, T0);
    patterns.pipeInput(KEY, pattern(0.79, T0), T0.plusSeconds(1));
    assertThat(rules.isEmpty()).isTrue();
    patterns.pipeInput(KEY, pattern(0.8, T0), T0.plusSeconds(1));
    patterns.pipeInput(KEY, pattern(0.8, T0.minusSeconds(10)), T0.plusSeconds(1));
    assertThat(rules.readValuesToList()).hasSize(1);
    assertThat(trials.readValuesToList()).hasSize(1);
  }

  @Test
  void shouldActivateARuleThatLowersTheErrorRate() {
    List<ActionItem> items = startTrial();
    rules.readValuesToList();
    trials.readValuesToList();
    verdicts(items, false, true, 30, 70, T0.plusSeconds(5));

    ProtocolRule active = rules.readValue();
    assertThat(active.getStatus()).isEqualTo(RuleStatus.ACTIVE);
    assertThat(active.getVersion()).isEqualTo(2);
    assertThat(active.getTrial().getErrorRateWithout()).isEqualTo(1.0);
    assertThat(active.getTrial().getErrorRateWith()).isEqualTo(0.0);
    assertThat(active.getTrial().getMeanDurationMsWithout()).isEqualTo(30.0);
    assertThat(active.getTrial().getMeanDurationMsWith()).isEqualTo(70.0);
    assertThat(active.getTrial().getSampleSize()).isEqualTo(3);
    RuleTrial completed = trials.readValue();
    assertThat(completed.getPhase()).isEqualTo(TrialPhase.COMPLETED);
    assertThat(completed.getSummary()).isEqualTo(active.getTrial());
    assertThat(rules.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectARuleThatDoesNotHelpAndNotProposeItAgainOnTheSameEvidence() {
    List<ActionItem> items = startTrial();
    rules.readValuesToList();
    verdicts(items, false, false, 30, 30, T0.plusSeconds(5));
    ProtocolRule rejected = rules.readValue();
    assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
    assertThat(rejected.getVersion()).isEqualTo(2);
    assertThat(rejected.getStatusReason()).startsWith("does not help");

    // the other hopping windows of the same burst: same evidence
    patterns.pipeInput(KEY, pattern(0.9, T0.minusSeconds(10)), T0.plusSeconds(6));
    assertThat(rules.isEmpty()).isTrue();

    // new failures after the rejection, in a window reaching past it: proposed again (v3)
    driver.advanceWallClockTime(Duration.ofSeconds(60));
    Instant later = T0.plusSeconds(120);
    failures(4, 6, later);
    patterns.pipeInput(KEY, pattern(0.8, later), later.plusSeconds(1));
    ProtocolRule again = rules.readValue();
    assertThat(again.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(again.getVersion()).isEqualTo(3);
    assertThat(trialActions.readValuesToList()).extracting(a -> a.getTrial().getSourceActionId())
        .containsOnly("task-4:plan:1", "task-5:plan:1", "task-6:plan:1");
  }

  @Test
  void shouldRejectARuleThatCostsTooMuch() {
    List<ActionItem> items = startTrial();
    rules.readValuesToList();
    // 30 ms without; the bound is 1.5 x 30 + 500 = 545 ms
    verdicts(items, false, true, 30, 600, T0.plusSeconds(5));
    ProtocolRule rejected = rules.readValue();
    assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
    assertThat(rejected.getStatusReason()).startsWith("too costly");
  }

  @Test
  void shouldDecideFromWhatArrivedWhenTheTrialTimesOut() {
    List<ActionItem> items = startTrial();
    rules.readValuesToList();
    trials.readValuesToList();
    // one run per arm arrives; the others never do
    verdicts(List.of(items.get(0), items.get(3)), false, true, 30, 40, T0.plusSeconds(5));
    assertThat(rules.isEmpty()).isTrue();
    driver.advanceWallClockTime(Duration.ofSeconds(61));

    ProtocolRule decided = rules.readValue();
    assertThat(decided.getStatus()).isEqualTo(RuleStatus.ACTIVE);
    assertThat(decided.getStatusReason()).contains("trial timed out");
    assertThat(trials.readValue().getPhase()).isEqualTo(TrialPhase.COMPLETED);
  }

  @Test
  void shouldRetireAndTombstoneAnActiveRuleWhosePatternStopped() {
    List<ActionItem> items = startTrial();
    verdicts(items, false, true, 30, 40, T0.plusSeconds(5));
    rules.readValuesToList();

    // the pattern recurs after 20 minutes: the clock restarts
    driver.advanceWallClockTime(Duration.ofMinutes(20));
    patterns.pipeInput(KEY, pattern(0.9, T0.plusSeconds(1200)), T0.plusSeconds(1200));
    driver.advanceWallClockTime(Duration.ofMinutes(20));
    assertThat(rules.isEmpty()).isTrue();

    driver.advanceWallClockTime(Duration.ofMinutes(11));
    List<KeyValue<String, ProtocolRule>> out = rules.readKeyValuesToList();
    assertThat(out).hasSize(2);
    assertThat(out.get(0).key).isEqualTo(RULE_ID);
    assertThat(out.get(0).value.getStatus()).isEqualTo(RuleStatus.RETIRED);
    assertThat(out.get(0).value.getVersion()).isEqualTo(3);
    assertThat(out.get(1).key).isEqualTo(RULE_ID);
    assertThat(out.get(1).value).isNull();

    // once retired, a recurring pattern starts over with a new candidate
    failures(7, 9, T0.plusSeconds(4000));
    patterns.pipeInput(KEY, pattern(0.8, T0.plusSeconds(4000)), T0.plusSeconds(4001));
    ProtocolRule again = rules.readValue();
    assertThat(again.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(again.getVersion()).isEqualTo(4);
  }

  @Test
  void shouldRejectACandidateThatCannotBeTriedForWantOfFailedActions() {
    patterns.pipeInput(KEY, pattern(0.9, T0), T0);   // no failed action of the pattern is known
    assertThat(rules.readValue().getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(trials.isEmpty()).isTrue();
    driver.advanceWallClockTime(Duration.ofSeconds(61));
    ProtocolRule rejected = rules.readValue();
    assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
    assertThat(rejected.getStatusReason()).startsWith("no failed action");
  }

  @Test
  void shouldStartTheTrialWhenTheFailedActionsArriveAfterThePattern() {
    patterns.pipeInput(KEY, pattern(0.9, T0), T0);
    assertThat(trialActions.isEmpty()).isTrue();
    failures(1, 2, T0);
    // the first failed action starts the trial with what is known then
    assertThat(trials.readValue().getSampleActionIds()).containsExactly("task-1:plan:1");
    assertThat(trialActions.readValuesToList()).hasSize(2);
  }

  @Test
  void shouldIgnoreTrialFailuresAndPatternsWithoutAFix() {
    ErrorPattern noFix = ErrorPattern.newBuilder(pattern(0.95, T0)).setPatternKey("RUNTIME|ValueError|")
        .setCategory(ErrorCategory.RUNTIME).setErrorType("ValueError").setFixKey(null)
        .setSuggestedAction(RuleActionKind.UNKNOWN).build();
    patterns.pipeInput(noFix.getPatternKey(), noFix, T0);
    assertThat(rules.isEmpty()).isTrue();
  }
}
