package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.streams.rules.UpdaterDriver.IMPORTS;
import static io.fractalrmo.streams.rules.UpdaterDriver.LOGIC;
import static io.fractalrmo.streams.rules.UpdaterDriver.NETWORK;
import static io.fractalrmo.streams.rules.UpdaterDriver.SECURITY;
import static io.fractalrmo.streams.rules.UpdaterDriver.SYNTAX;
import static io.fractalrmo.streams.rules.UpdaterDriver.TIMEOUT;
import static io.fractalrmo.streams.rules.UpdaterDriver.arm;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every edge of {@link TrialPolicy} through the topology (demo settings: 5 per arm, minimum 3,
 * alpha 0.05, cost ratio 1.5 + 500 ms).
 */
class TrialDecisionTest {

  static final Instant DONE = T0.plusSeconds(5);
  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private UpdaterDriver d;

  @BeforeEach
  void setUp() {
    d = new UpdaterDriver(fixture, StreamsSettings.demo(), T0);
  }

  private ProtocolRule decision() {
    List<ProtocolRule> out = d.rules.readValuesToList();
    assertThat(out).isNotEmpty();
    ProtocolRule last = out.get(out.size() - 1);
    assertThat(last.getStatus()).isIn(RuleStatus.ACTIVE, RuleStatus.REJECTED);
    return last;
  }

  /** Fails the CONTROL arm, the first {@code failing} TREATMENT actions, and no GUARD one. */
  private void verdicts(List<ActionItem> items, int treatmentFailures, long controlMs,
      long treatmentMs, long guardMs) {
    d.verdicts(items, a -> new boolean[] {switch (a.getTrial().getArm()) {
      case CONTROL -> false;
      case TREATMENT -> RuleIds.trialActionIndex(a.getActionId()) > treatmentFailures;
      default -> true;
    }}, a -> switch (a.getTrial().getArm()) {
      case CONTROL -> controlMs;
      case TREATMENT -> treatmentMs;
      default -> guardMs;
    }, DONE);
  }

  @Nested
  class SampleTooSmall {

    @Test
    void shouldRejectACandidateWithTooFewFailedActionsToTry() {
      d.successes(1, 5, T0, 12);
      d.failures(IMPORTS, 1, 2, T0);
      d.pattern(IMPORTS, T0);
      d.driver.advanceWallClockTime(Duration.ofSeconds(21));
      ProtocolRule rejected = decision();
      assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
      assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.SAMPLE_TOO_SMALL);
      assertThat(rejected.getStatusReason()).contains("2 failed action(s)", "at least 3");
      assertThat(d.trialActions.isEmpty()).as("never tried").isTrue();
    }

    @Test
    void shouldRejectACandidateWithTooFewSucceededActionsForTheGuardArm() {
      d.successes(1, 2, T0, 12);
      d.failures(IMPORTS, 1, 5, T0);
      d.pattern(IMPORTS, T0);
      d.driver.advanceWallClockTime(Duration.ofSeconds(21));
      ProtocolRule rejected = decision();
      assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.SAMPLE_TOO_SMALL);
      assertThat(rejected.getStatusReason()).contains("2 recently succeeded action(s)");
    }

    @Test
    void shouldRejectATrialWhoseOutcomesDidNotArriveInTime() {
      List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
      // two per arm arrive: below the minimum of three
      verdicts(items.stream().filter(a -> RuleIds.trialActionIndex(a.getActionId()) <= 2)
          .toList(), 0, 30, 30, 12);
      d.driver.advanceWallClockTime(Duration.ofSeconds(61));
      ProtocolRule rejected = decision();
      assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.SAMPLE_TOO_SMALL);
      assertThat(rejected.getStatusReason()).contains("trial timed out");
    }
  }

  @Test
  void shouldRejectARuleThatHurtsTheGuardArmWhateverItDoesForTheFailures() {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    String hurt = arm(items, TrialArm.GUARD).get(2).getActionId();
    d.verdicts(items, a -> new boolean[] {a.getTrial().getArm() != TrialArm.CONTROL
        && !a.getActionId().equals(hurt)}, a -> 20L, DONE);
    ProtocolRule rejected = decision();
    assertThat(rejected.getStatus()).isEqualTo(RuleStatus.REJECTED);
    TrialSummary t = rejected.getTrial();
    assertThat(t.getDecision()).isEqualTo(TrialPolicy.GUARD_HURT);
    assertThat(t.getErrorRateWith()).as("it fixed every failure").isZero();
    assertThat(t.getGuardFailures()).isEqualTo(1);
    assertThat(rejected.getStatusReason()).startsWith("guard arm hurt: 1 of 5");
  }

  /** Fisher exact, one-sided, 5 per arm, CONTROL 5/5 failed. */
  @ParameterizedTest(name = "TREATMENT {0}/5 failed: p = {1} -> {2}")
  @CsvSource({
      // 0 failures left: p = 1/252
      "0, 0.0040, ADOPTED",
      // 1 failure left: p = 6/252, just below alpha = 0.05
      "1, 0.0238, ADOPTED",
      // 2 failures left: p = 21/252, just above alpha
      "2, 0.0833, NOT_SIGNIFICANT",
      // no change at all
      "5, 1.0000, NOT_SIGNIFICANT"})
  void shouldAdoptOnlyWhenTheOneSidedFisherTestIsSignificant(int treatmentFailures, double p,
      String decision) {
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    verdicts(items, treatmentFailures, 30, 30, 12);
    TrialSummary t = decision().getTrial();
    assertThat(t.getDecision()).isEqualTo(decision);
    assertThat(t.getPValue()).isCloseTo(p, org.assertj.core.data.Offset.offset(5e-5));
    assertThat(t.getTest()).contains("Fisher");
  }

  @ParameterizedTest(name = "{0}: treatment {1} ms vs control 30 ms, guard {2} ms vs 12 live -> {3}")
  @CsvSource({
      // bound 1.5 x 30 + 500 = 545 ms
      "ADD_MISSING_IMPORTS, 545, 12, ADOPTED",
      "ADD_MISSING_IMPORTS, 546, 12, TOO_COSTLY",
      // guard bound 1.5 x 12 + 500 = 518 ms
      "ADD_MISSING_IMPORTS, 40, 519, GUARD_TOO_COSTLY",
      // INCREASE_TIMEOUT's bound is (1 + factor 2) x 30 + 500 = 590 ms
      "INCREASE_TIMEOUT, 590, 12, ADOPTED",
      "INCREASE_TIMEOUT, 591, 12, TOO_COSTLY"})
  void shouldHoldTheRuleToItsCostBound(String kind, long treatmentMs, long guardMs,
      String decision) {
    UpdaterDriver.Pattern p = kind.equals("INCREASE_TIMEOUT") ? TIMEOUT : IMPORTS;
    List<ActionItem> items = d.startTrial(p, 5, 5, T0, 15);
    verdicts(items, 0, 30, treatmentMs, guardMs);
    assertThat(decision().getTrial().getDecision()).isEqualTo(decision);
  }

  @Nested
  class CostSavingKinds {

    @Test
    void shouldAdoptPreValidateSyntaxThatReachesTheSameVerdictsCheaper() {
      List<ActionItem> items = d.startTrial(SYNTAX, 5, 5, T0, 15);
      // both arms fail every syntax slip; the rule does it without the sandbox run
      verdicts(items, 5, 25, 1, 13);
      ProtocolRule active = decision();
      assertThat(active.getStatus()).isEqualTo(RuleStatus.ACTIVE);
      TrialSummary t = active.getTrial();
      assertThat(t.getCriterion()).isEqualTo("the same verdicts with less cost");
      assertThat(t.getTest()).contains("sign test");
      // 5 of 5 untied pairs cheaper: p = 1/32
      assertThat(t.getPValue()).isEqualTo(1 / 32.0);
      assertThat(t.getErrorRateWith()).isEqualTo(t.getErrorRateWithout());
    }

    @Test
    void shouldRejectACostSavingRuleThatSavesNothing() {
      List<ActionItem> items = d.startTrial(SYNTAX, 5, 5, T0, 15);
      verdicts(items, 5, 25, 25, 13);
      TrialSummary t = decision().getTrial();
      assertThat(t.getDecision()).isEqualTo(TrialPolicy.NO_COST_SAVING);
      assertThat(t.getPValue()).isEqualTo(1.0);
    }

    @Test
    void shouldRejectACostSavingRuleThatChangesAVerdict() {
      List<ActionItem> items = d.startTrial(SYNTAX, 5, 5, T0, 15);
      // every pair passes with the rule: not what a cost-saving rule may do
      verdicts(items, 0, 25, 1, 13);
      assertThat(decision().getTrial().getDecision()).isEqualTo(TrialPolicy.VERDICTS_DIFFER);
    }

    @Test
    void shouldNotAdoptACostSavingRuleOnThreePairs() {
      // with 3 pairs the sign test cannot go below 1/8: never significant at 0.05
      d.successes(1, 3, T0, 12);
      d.failures(SYNTAX, 1, 3, T0);
      d.pattern(SYNTAX, T0);
      d.driver.advanceWallClockTime(Duration.ofSeconds(21));
      List<ActionItem> items = d.trialActions.readValuesToList();
      verdicts(items, 3, 25, 1, 13);
      TrialSummary t = decision().getTrial();
      assertThat(t.getDecision()).isEqualTo(TrialPolicy.NO_COST_SAVING);
      assertThat(t.getPValue()).isEqualTo(0.125);
    }

    @Test
    void shouldAdoptBlockAndAlertThatBlocksWhatFailsAndNothingThatPasses() {
      // code with a (non-plan-blocking) network finding runs and fails; blocked, it costs nothing
      d.successes(1, 5, T0, 12);
      d.failures(SECURITY, 1, 5, T0, b -> b.setFindings(List.of(NETWORK)));
      d.pattern(SECURITY, T0);
      List<ActionItem> items = d.trialActions.readValuesToList();
      assertThat(items).hasSize(15);
      verdicts(items, 5, 40, 0, 12);
      ProtocolRule active = decision();
      assertThat(active.getStatus()).isEqualTo(RuleStatus.ACTIVE);
      assertThat(active.getTrial().getPValue()).isEqualTo(1 / 32.0);
    }

    @Test
    void shouldRejectBlockAndAlertThatBlocksWhatTheGuardArmShowsHarmless() {
      // two succeeded actions carry the same finding: the guard arm tries them first
      d.successes(1, 5, T0, 12);
      d.successes(6, 7, T0.plusSeconds(1), 12, b -> b.setFindings(List.of(NETWORK)));
      d.failures(SECURITY, 1, 5, T0, b -> b.setFindings(List.of(NETWORK)));
      d.pattern(SECURITY, T0);
      List<ActionItem> items = d.trialActions.readValuesToList();
      List<ActionItem> guard = arm(items, TrialArm.GUARD);
      assertThat(guard.subList(0, 2)).extracting(a -> a.getTrial().getSourceActionId())
          .containsExactlyInAnyOrder("ok-6:plan:1", "ok-7:plan:1");
      // the rule blocks those two (they fail), everything else as before
      Set<String> blocked = Set.of(guard.get(0).getActionId(), guard.get(1).getActionId());
      d.verdicts(items, a -> new boolean[] {a.getTrial().getArm() == TrialArm.GUARD
          && !blocked.contains(a.getActionId())}, a -> 0L, DONE);
      ProtocolRule rejected = decision();
      assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.GUARD_HURT);
      assertThat(rejected.getStatusReason()).contains("harmless");
    }

    @Test
    void shouldRejectBlockAndAlertAtOnceWhenThePlanBlocksEveryFailure() {
      d.successes(1, 5, T0, 12);
      d.failures(SECURITY, 1, 3, T0, b -> b.setType(ActionType.BLOCK));
      d.pattern(SECURITY, T0);
      ProtocolRule rejected = decision();
      assertThat(rejected.getTrial().getDecision()).isEqualTo(ProtocolUpdater.PLAN_BLOCKS);
      assertThat(d.trialActions.isEmpty()).isTrue();
    }
  }

  @Nested
  class PromptGuideline {

    @Test
    void shouldRejectAGuidelineAtOnceWhenNoFailureGeneratedCode() {
      d.successes(1, 5, T0, 12);
      d.failures(LOGIC, 1, 3, T0);
      d.pattern(LOGIC, T0);
      ProtocolRule rejected = decision();
      assertThat(rejected.getTrial().getDecision()).isEqualTo(TrialPolicy.NO_GENERATED_CODE);
      assertThat(rejected.getStatusReason()).startsWith("cannot show its value");
      assertThat(d.trialActions.isEmpty()).isTrue();
    }

    @Test
    void shouldTryAGuidelineOnGeneratedCodeWithEveryArmGenerating() {
      d.successes(1, 5, T0, 12, UpdaterDriver::generated);
      d.failures(LOGIC, 1, 5, T0, UpdaterDriver::generated);
      d.pattern(LOGIC, T0);
      List<ActionItem> items = d.trialActions.readValuesToList();
      assertThat(items).hasSize(15).allSatisfy(a -> {
        assertThat(a.getType()).isEqualTo(ActionType.GENERATE_CODE);
        assertThat(a.getInput().getCode()).as("the arms must generate").isNull();
      });
      verdicts(items, 1, 900, 950, 12);
      ProtocolRule active = decision();
      assertThat(active.getStatus()).isEqualTo(RuleStatus.ACTIVE);
      assertThat(active.getTrial().getCriterion()).isEqualTo("better generated code");
    }
  }
}
