package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static io.fractalrmo.streams.rules.UpdaterDriver.IMPORTS;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.LiveEvidence;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An ACTIVE rule watched on live traffic: held-out actions (rules off) against treated ones,
 * counters on the rule record, retirement when the live evidence turns against it. Windows are
 * small here (3 per arm to judge harm, a window of 6, 2 hurts).
 */
class LiveWatchTopologyTest {

  static final String RULE_ID = IMPORTS.ruleId();
  static final Instant LIVE = T0.plusSeconds(30);
  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private UpdaterDriver d;
  private int next = 100;

  @BeforeEach
  void adoptARule() {
    StreamsSettings demo = StreamsSettings.demo();
    StreamsSettings.Rules r = demo.rules();
    StreamsSettings settings = demo.withRules(new StreamsSettings.Rules(r.confidenceBar(),
        r.trial(), new StreamsSettings.Live(0.05, 3, 6, 2, 0.05, Duration.ofSeconds(2)),
        r.retireAfter(), r.punctuateInterval(), r.failedActionsKept(), r.actionRetention()));
    d = new UpdaterDriver(fixture, settings, T0);
    List<ActionItem> items = d.startTrial(IMPORTS, 5, 5, T0, 15);
    d.verdicts(items, ProtocolUpdaterTopologyTest.HELPS, T0.plusSeconds(5));
    assertThat(d.rules.readValuesToList()).extracting(ProtocolRule::getStatus)
        .containsExactly(RuleStatus.CANDIDATE, RuleStatus.ACTIVE);
  }

  /** One live action: its plan, its executor error if it failed, its outcome. */
  private void live(boolean heldOut, boolean ok, ErrorCategory category, String errorType,
      String fixKey, boolean ruleApplied) {
    String task = "live-" + (next++);
    String actionId = task + ":plan:1";
    d.actions.pipeInput(task, anActionItem().setTaskId(task).setActionId(actionId)
        .setAttributes(heldOut ? Map.of(PlanPolicy.RULES_ATTRIBUTE, "off",
            Holdout.HOLDOUT_ATTRIBUTE, "true") : Map.of()).build(), LIVE);
    if (!ok) {
      d.errors.pipeInput(task, anErrorEvent().setErrorId("e-" + task).setTaskId(task)
          .setActionId(actionId).setCategory(category).setErrorType(errorType).setFixKey(fixKey)
          .setOccurredAt(LIVE).build(), LIVE.plusMillis(5));
    }
    d.outcomes.pipeInput(task, UpdaterDriver.outcome(task, actionId, ok, 15, LIVE.plusMillis(10))
        .setAppliedRuleIds(ruleApplied ? List.of(RULE_ID) : List.of()).build(), LIVE.plusMillis(10));
  }

  private void heldOutFailure() {
    live(true, false, ErrorCategory.DEPENDENCY, "NameError", "typing", false);
  }

  private void heldOutSuccess() {
    live(true, true, null, null, null, false);
  }

  private void fixed() {
    live(false, true, null, null, null, true);
  }

  @Test
  void shouldPublishTheCountersAndTheLiveComparisonOfAnActiveRule() {
    heldOutFailure();
    heldOutFailure();
    heldOutSuccess();
    fixed();
    fixed();
    fixed();
    live(false, true, null, null, null, false); // a treated action it did not touch
    d.driver.advanceWallClockTime(Duration.ofSeconds(3));

    ProtocolRule r = d.rules.readValue();
    assertThat(r.getStatus()).isEqualTo(RuleStatus.ACTIVE);
    assertThat(r.getVersion()).as("counters do not change the version").isEqualTo(2);
    assertThat(r.getTimesApplied()).isEqualTo(3);
    assertThat(r.getTimesHelped()).isEqualTo(3);
    assertThat(r.getTimesHurt()).isZero();
    LiveEvidence live = r.getLive();
    assertThat(live.getHoldoutActions()).isEqualTo(3);
    assertThat(live.getHoldoutFailures()).isEqualTo(2);
    assertThat(live.getTreatedActions()).isEqualTo(4);
    assertThat(live.getTreatedFailures()).isZero();
    assertThat(live.getBenefit()).isCloseTo(2 / 3.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(live.getVerdict()).startsWith("watching");
    // nothing changed: nothing republished
    d.driver.advanceWallClockTime(Duration.ofSeconds(3));
    assertThat(d.rules.isEmpty()).isTrue();
  }

  @Test
  void shouldRetireARuleWhoseLiveBenefitTurnedNegative() {
    for (int i = 0; i < 4; i++) {
      heldOutSuccess();
    }
    for (int i = 0; i < 3; i++) {
      // with the rule on, the pattern fails more often than without it
      live(false, false, ErrorCategory.DEPENDENCY, "NameError", "typing", true);
    }
    List<KeyValue<String, ProtocolRule>> out = d.rules.readKeyValuesToList();
    assertThat(out).hasSize(2);
    ProtocolRule retired = out.get(0).value;
    assertThat(retired.getStatus()).isEqualTo(RuleStatus.RETIRED);
    assertThat(retired.getVersion()).isEqualTo(3);
    assertThat(retired.getStatusReason()).startsWith("live benefit turned negative: failed with "
        + "its pattern 3/3 with rules vs 0/4 held out");
    assertThat(retired.getLive().getVerdict()).isEqualTo(retired.getStatusReason());
    assertThat(retired.getTimesApplied()).isEqualTo(3);
    assertThat(out.get(1).value).as("tombstone").isNull();
  }

  @Test
  void shouldRetireARuleWhoseLiveBenefitDisappeared() {
    // the fault is gone: a full window (6) of held-out actions without the pattern
    for (int i = 0; i < 5; i++) {
      heldOutSuccess();
      fixed();
    }
    assertThat(d.rules.isEmpty()).isTrue();
    heldOutSuccess();
    ProtocolRule retired = d.rules.readValuesToList().get(0);
    assertThat(retired.getStatus()).isEqualTo(RuleStatus.RETIRED);
    assertThat(retired.getStatusReason()).startsWith("live benefit disappeared: its pattern "
        + "failed 0/6 held out vs 0/5 with rules");
  }

  @Test
  void shouldRetireARuleThatHurtMoreThanItHelped() {
    heldOutFailure();
    // applied, then a failure that is not its pattern (an import that shadows a name)
    live(false, false, ErrorCategory.RUNTIME, "TypeError", null, true);
    assertThat(d.rules.isEmpty()).isTrue();
    live(false, false, ErrorCategory.RUNTIME, "TypeError", null, true);
    ProtocolRule retired = d.rules.readValuesToList().get(0);
    assertThat(retired.getStatus()).isEqualTo(RuleStatus.RETIRED);
    assertThat(retired.getStatusReason()).isEqualTo("hurt more than it helped live: applied 2, "
        + "helped 0, hurt 2");
    assertThat(retired.getTimesHurt()).isEqualTo(2);
  }

  @Test
  void shouldIgnoreLiveOutcomesValidatedBeforeTheRuleWasActive() {
    String task = "old-1";
    d.actions.pipeInput(task, anActionItem().setTaskId(task).setActionId(task + ":plan:1")
        .build(), T0);
    d.outcomes.pipeInput(task, UpdaterDriver.outcome(task, task + ":plan:1", true, 15,
        T0.minusSeconds(60)).setAppliedRuleIds(List.of(RULE_ID)).build(), T0);
    d.driver.advanceWallClockTime(Duration.ofSeconds(3));
    assertThat(d.rules.isEmpty()).isTrue();
  }
}
