package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static io.fractalrmo.streams.rules.UpdaterDriver.IMPORTS;
import static io.fractalrmo.streams.rules.UpdaterDriver.arm;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleSample;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The rule life cycle: proposal, trial through Kafka, decision, re-proposal, retirement. */
class ProtocolUpdaterTopologyTest {

  static final String RULE_ID = IMPORTS.ruleId();
  static final UpdaterDriver.Arms HELPS = new UpdaterDriver.Arms(false, 30, true, 70, true, 12);
  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private UpdaterDriver d;

  @BeforeEach
  void setUp() {
    d = new UpdaterDriver(fixture, StreamsSettings.demo(), T0);
  }

  @Test
  void shouldProposeACandidateAndStartATrialWithControlTreatmentAndGuardArms() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);

    ProtocolRule candidate = d.rules.readValue();
    assertThat(candidate.getRuleId()).isEqualTo(RULE_ID);
    assertThat(candidate.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(candidate.getVersion()).isEqualTo(1);
    assertThat(candidate.getAction().getKind()).isEqualTo(RuleActionKind.ADD_MISSING_IMPORTS);
    assertThat(candidate.getAction().getParameters()).containsEntry(RuleParameters.IMPORTS, "typing");
    assertThat(candidate.getCondition().getFixKey()).isEqualTo("typing");
    assertThat(candidate.getEvidence().getPatternKey()).isEqualTo(IMPORTS.key());
    assertThat(candidate.getFirstFailureAt()).isEqualTo(T0.plusMillis(10));

    String trialId = RuleIds.trialId(RULE_ID, 1);
    assertThat(arm(items, TrialArm.CONTROL)).extracting(ActionItem::getActionId).containsExactly(
        trialId + ":CONTROL:1", trialId + ":CONTROL:2", trialId + ":CONTROL:3",
        trialId + ":CONTROL:4", trialId + ":CONTROL:5");
    // the same failed actions in both arms, in the same order: pair n is one source action
    assertThat(arm(items, TrialArm.TREATMENT)).extracting(a -> a.getTrial().getSourceActionId())
        .containsExactlyElementsOf(arm(items, TrialArm.CONTROL).stream()
            .map(a -> a.getTrial().getSourceActionId()).toList());
    // the guard arm: recently succeeded actions, with the rule
    assertThat(arm(items, TrialArm.GUARD)).hasSize(5).extracting(a -> a.getTrial()
        .getSourceActionId()).allMatch(id -> id.startsWith("ok-"));
    assertThat(items).allSatisfy(a -> {
      assertThat(a.getTrial().getRuleId()).isEqualTo(RULE_ID);
      assertThat(a.getTrial().getRuleAction()).isEqualTo(candidate.getAction());
      assertThat(a.getTaskId()).isEqualTo(a.getTrial().getSourceActionId().replace(":plan:1", ""));
    });

    KeyValue<String, RuleTrial> started = d.trials.readKeyValue();
    assertThat(started.key).isEqualTo(trialId);
    assertThat(started.value.getPhase()).isEqualTo(TrialPhase.STARTED);
    assertThat(started.value.getSampleActionIds()).hasSize(5).allMatch(id -> id.startsWith("task-"));
    assertThat(started.value.getGuardActionIds()).hasSize(5).allMatch(id -> id.startsWith("ok-"));
    assertThat(started.value.getGuardLiveMeanDurationMs()).isEqualTo(12.0);
  }

  @Test
  void shouldWaitForTheSampleAndThenTryTheRuleOnWhatIsKnown() {
    d.successes(1, 3, T0, 12);
    d.failures(IMPORTS, 1, 3, T0);
    d.pattern(IMPORTS, T0);
    assertThat(d.rules.readValue().getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(d.trialActions.isEmpty()).as("waits for 5 + 5").isTrue();

    d.driver.advanceWallClockTime(Duration.ofSeconds(21));
    List<ActionItem> items = d.trialActions.readValuesToList();
    assertThat(items).hasSize(9);
    assertThat(arm(items, TrialArm.GUARD)).hasSize(3);
  }

  @Test
  void shouldKeepTheSourceAttributesOnTrialItemsButNeverSwitchRulesOff() {
    d.successes(1, 5, T0, 12, b -> b.setAttributes(Map.of(PlanPolicy.RULES_ATTRIBUTE, "off",
        Holdout.HOLDOUT_ATTRIBUTE, "true", "team", "a")));
    d.failures(IMPORTS, 1, 5, T0, b -> b.setAttributes(b.getTaskId().equals("task-1")
        ? Map.of(PlanPolicy.RULES_ATTRIBUTE, "off", "demo.arm", "RULES_OFF")
        : Map.of("demo.arm", "LEARN")));
    d.pattern(IMPORTS, T0);

    List<ActionItem> items = d.trialActions.readValuesToList();
    assertThat(items).hasSize(15).allSatisfy(a -> assertThat(a.getAttributes())
        .doesNotContainKeys(PlanPolicy.RULES_ATTRIBUTE, Holdout.HOLDOUT_ATTRIBUTE));
    assertThat(items).filteredOn(a -> a.getTaskId().equals("task-1")).hasSize(2)
        .allSatisfy(a -> assertThat(a.getAttributes())
            .containsExactlyEntriesOf(Map.of("demo.arm", "RULES_OFF")));
    assertThat(arm(items, TrialArm.GUARD)).allSatisfy(a -> assertThat(a.getAttributes())
        .containsExactlyEntriesOf(Map.of("team", "a")));
  }

  @Test
  void shouldNotProposeBelowTheBarNorTwiceForTheSameRule() {
    d.successes(1, 5, T0, 12);
    d.failures(IMPORTS, 1, 5, T0);
    d.patterns.pipeInput(IMPORTS.key(), UpdaterDriver.pattern(IMPORTS, 0.79, T0), T0);
    assertThat(d.rules.isEmpty()).isTrue();
    d.pattern(IMPORTS, T0);
    d.pattern(IMPORTS, T0.minusSeconds(10));
    assertThat(d.rules.readValuesToList()).hasSize(1);
    assertThat(d.trials.readValuesToList()).hasSize(1);
  }

  @Test
  void shouldActivateARuleThatLowersTheErrorRateWithoutHurtingTheGuardArm() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    d.rules.readValuesToList();
    d.trials.readValuesToList();
    d.verdicts(items, HELPS, T0.plusSeconds(5));

    ProtocolRule active = d.rules.readValue();
    assertThat(active.getStatus()).isEqualTo(RuleStatus.ACTIVE);
    assertThat(active.getVersion()).isEqualTo(2);
    assertThat(active.getTrial().getDecision()).isEqualTo(TrialPolicy.ADOPTED);
    assertThat(active.getTrial().getErrorRateWithout()).isEqualTo(1.0);
    assertThat(active.getTrial().getErrorRateWith()).isEqualTo(0.0);
    assertThat(active.getTrial().getControlSize()).isEqualTo(5);
    assertThat(active.getTrial().getTreatmentSize()).isEqualTo(5);
    assertThat(active.getTrial().getGuardSize()).isEqualTo(5);
    assertThat(active.getTrial().getGuardFailures()).isZero();
    assertThat(active.getTrial().getMeanDurationMsWithout()).isEqualTo(30.0);
    assertThat(active.getTrial().getMeanDurationMsWith()).isEqualTo(70.0);
    assertThat(active.getTrial().getPValue()).isCloseTo(1 / 252.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(active.getTrial().getAlpha()).isEqualTo(0.05);
    assertThat(active.getTrial().getVerdict()).contains("CONTROL 5/5 failed", "TREATMENT 0/5",
        "GUARD 0/5", "Fisher p = 0.0040", "alpha = 0.05");
    assertThat(active.getTimesApplied()).isZero();
    RuleTrial completed = d.trials.readValue();
    assertThat(completed.getPhase()).isEqualTo(TrialPhase.COMPLETED);
    assertThat(completed.getSummary()).isEqualTo(active.getTrial());
    assertThat(d.rules.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectARuleThatDoesNotHelpAndNotProposeItAgainOnTheSameEvidence() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    d.rules.readValuesToList();
    d.verdicts(items, new UpdaterDriver.Arms(false, 30, false, 30, true, 12), T0.plusSeconds(5));
    ProtocolRule rejected = d.rules.readValue();
    assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
    assertThat(rejected.getVersion()).isEqualTo(2);
    assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.NOT_SIGNIFICANT);

    // the other hopping windows of the same burst: same evidence
    d.patterns.pipeInput(IMPORTS.key(), UpdaterDriver.pattern(IMPORTS, 0.9, T0.minusSeconds(10)),
        T0.plusSeconds(6));
    assertThat(d.rules.isEmpty()).isTrue();

    // new failures after the rejection, in a window reaching past it: proposed again (v3)
    d.driver.advanceWallClockTime(Duration.ofSeconds(60));
    Instant later = T0.plusSeconds(120);
    d.failures(IMPORTS, 6, 10, later);
    d.pattern(IMPORTS, later);
    ProtocolRule again = d.rules.readValue();
    assertThat(again.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(again.getVersion()).isEqualTo(3);
    assertThat(arm(d.trialActions.readValuesToList(), TrialArm.CONTROL))
        .extracting(a -> a.getTrial().getSourceActionId())
        .containsOnly("task-6:plan:1", "task-7:plan:1", "task-8:plan:1", "task-9:plan:1",
            "task-10:plan:1");
  }

  @Test
  void shouldDecideFromWhatArrivedWhenTheTrialTimesOut() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    d.rules.readValuesToList();
    d.trials.readValuesToList();
    // four of five per arm arrive; the others never do
    d.verdicts(items.stream().filter(a -> !a.getActionId().endsWith(":5")).toList(), HELPS,
        T0.plusSeconds(5));
    assertThat(d.rules.isEmpty()).isTrue();
    d.driver.advanceWallClockTime(Duration.ofSeconds(61));

    ProtocolRule decided = d.rules.readValue();
    assertThat(decided.getStatus()).isEqualTo(RuleStatus.ACTIVE);
    assertThat(decided.getTrial().getControlSize()).isEqualTo(4);
    assertThat(decided.getStatusReason()).contains("trial timed out");
    assertThat(d.trials.readValue().getPhase()).isEqualTo(TrialPhase.COMPLETED);
  }

  @Test
  void shouldRetireAndTombstoneAnActiveRuleWhosePatternStopped() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    d.verdicts(items, HELPS, T0.plusSeconds(5));
    d.rules.readValuesToList();

    // the pattern recurs after 20 minutes: the clock restarts
    d.driver.advanceWallClockTime(Duration.ofMinutes(20));
    d.patterns.pipeInput(IMPORTS.key(), UpdaterDriver.pattern(IMPORTS, 0.9, T0.plusSeconds(1200)),
        T0.plusSeconds(1200));
    d.driver.advanceWallClockTime(Duration.ofMinutes(20));
    assertThat(d.rules.isEmpty()).isTrue();

    d.driver.advanceWallClockTime(Duration.ofMinutes(11));
    List<KeyValue<String, ProtocolRule>> out = d.rules.readKeyValuesToList();
    assertThat(out).hasSize(2);
    assertThat(out.get(0).key).isEqualTo(RULE_ID);
    assertThat(out.get(0).value.getStatus()).isEqualTo(RuleStatus.RETIRED);
    assertThat(out.get(0).value.getVersion()).isEqualTo(3);
    assertThat(out.get(0).value.getStatusReason()).startsWith("pattern has not recurred");
    assertThat(out.get(1).key).isEqualTo(RULE_ID);
    assertThat(out.get(1).value).isNull();

    // once retired, a recurring pattern starts over with a new candidate
    Instant later = T0.plusSeconds(4000);
    d.failures(IMPORTS, 11, 15, later);
    d.pattern(IMPORTS, later);
    ProtocolRule again = d.rules.readValue();
    assertThat(again.getStatus()).isEqualTo(RuleStatus.CANDIDATE);
    assertThat(again.getVersion()).isEqualTo(4);
  }

  @Test
  void shouldStartTheTrialWhenTheFailedActionsArriveAfterThePattern() {
    d.successes(1, 5, T0, 12);
    d.pattern(IMPORTS, T0);
    assertThat(d.trialActions.isEmpty()).isTrue();
    d.failures(IMPORTS, 1, 4, T0);
    assertThat(d.trialActions.isEmpty()).as("4 < 5 failures known").isTrue();
    d.failures(IMPORTS, 5, 5, T0);
    assertThat(d.trials.readValue().getSampleActionIds()).hasSize(5);
    assertThat(d.trialActions.readValuesToList()).hasSize(15);
  }

  @Test
  void shouldIgnoreTrialFailuresAndPatternsWithoutAFix() {
    ErrorPattern noFix = ErrorPattern.newBuilder(UpdaterDriver.pattern(IMPORTS, 0.95, T0))
        .setPatternKey("RUNTIME|ValueError|").setCategory(ErrorCategory.RUNTIME)
        .setErrorType("ValueError").setFixKey(null).setSuggestedAction(RuleActionKind.UNKNOWN)
        .build();
    d.patterns.pipeInput(noFix.getPatternKey(), noFix, T0);
    // a trial's failure is no evidence for a new rule
    d.actions.pipeInput("task-1", anActionItem().setTaskId("task-1").setActionId("t:CONTROL:1")
        .setTrial(io.fractalrmo.contracts.TrialSpec.newBuilder().setTrialId("t").setRuleId("r")
            .setArm(TrialArm.CONTROL).setRuleAction(Mothers.aRule().build().getAction())
            .setSourceActionId("task-1:plan:1").build()).build(), T0);
    d.errors.pipeInput("task-1", anErrorEvent().setActionId("t:CONTROL:1").setTrialId("t")
        .build(), T0);
    d.driver.advanceWallClockTime(Duration.ofSeconds(30));
    assertThat(d.rules.isEmpty()).isTrue();
    assertThat(d.trialActions.isEmpty()).isTrue();
  }

  @Test
  void shouldRerunTheCodeTheLiveRunGeneratedInEveryArm() {
    // generate once, run twice: a GENERATE_CODE action's trial arms run the live run's code
    String code = "from typing import List\ndef add(a, b):\n    return a + b\n";
    d.failures(IMPORTS, 1, 5, T0, b -> {
      UpdaterDriver.generated(b);
      ActionItem a = b.build();
      d.results.pipeInput(a.getTaskId(), Mothers.anExecutionResult().setActionId(a.getActionId())
          .setTaskId(a.getTaskId()).setAction(a).setSuccess(false).setCode(code).build(), T0);
      return b;
    });
    for (int i = 1; i <= 5; i++) {
      ActionItem a = UpdaterDriver.generated(anActionItem().setTaskId("ok-" + i)
          .setActionId("ok-" + i + ":plan:1")).build();
      d.actions.pipeInput(a.getTaskId(), a, T0);
      d.results.pipeInput(a.getTaskId(), Mothers.anExecutionResult().setActionId(a.getActionId())
          .setTaskId(a.getTaskId()).setAction(a).setCode(code + "# ok\n").build(), T0);
      d.outcomes.pipeInput(a.getTaskId(), UpdaterDriver.outcome(a.getTaskId(), a.getActionId(),
          true, 12, T0).build(), T0);
    }
    d.pattern(IMPORTS, T0);
    List<ActionItem> items = d.trialActions.readValuesToList();
    assertThat(arm(items, TrialArm.CONTROL)).allSatisfy(a ->
        assertThat(a.getInput().getCode()).isEqualTo(code));
    assertThat(arm(items, TrialArm.TREATMENT)).allSatisfy(a ->
        assertThat(a.getInput().getCode()).isEqualTo(code));
    assertThat(arm(items, TrialArm.GUARD)).hasSize(5).allSatisfy(a ->
        assertThat(a.getInput().getCode()).isEqualTo(code + "# ok\n"));
  }

  @Test
  void shouldKeepOnlyTheNewestSucceededActionsOfEachTypeInTheGuardPool() {
    int size = StreamsSettings.demo().rules().trial().guardPoolSize();
    for (int i = 1; i <= size + 7; i++) {
      d.successes(i, i, T0.plusSeconds(i), 5);
    }
    d.successes(1_000, 1_001, T0.plusSeconds(1), 5, b -> b.setType(ActionType.GENERATE_CODE));

    List<String> pooled = new ArrayList<>();
    try (KeyValueIterator<String, RuleSample> it = d.driver.<String, RuleSample>getKeyValueStore(
        ProtocolUpdaterTopology.GUARD_POOL_STORE).all()) {
      it.forEachRemaining(kv -> pooled.add(kv.value.getActionId()));
    }
    List<String> expected = new ArrayList<>();
    expected.add(UpdaterDriver.planId(UpdaterDriver.okTask(1_000)));
    expected.add(UpdaterDriver.planId(UpdaterDriver.okTask(1_001)));
    for (int i = 8; i <= size + 7; i++) {
      expected.add(UpdaterDriver.planId(UpdaterDriver.okTask(i)));
    }
    // the oldest seven of the type were evicted; the other type keeps its own two
    assertThat(pooled).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void shouldOrderGuardPoolKeysAsTheStoreDoesByTheirUtf8Bytes() {
    // a character above U+FFFF is a surrogate pair in Java (0xD8..) but 0xF0.. in UTF-8, which
    // sorts after U+E000..U+FFFF there; String.compareTo would put it first
    String astral = new String(Character.toChars(0x1F600));
    assertThat(ProtocolUpdater.UTF8_ORDER.compare("a" + astral, "a\uE000")).isPositive();
    assertThat(("a" + astral).compareTo("a\uE000")).isNegative();
    assertThat(ProtocolUpdater.UTF8_ORDER.compare("EXECUTE|1", "EXECUTE|2")).isNegative();
  }
}
