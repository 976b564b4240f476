package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Invariants of {@link TrialPolicy}, whatever the outcomes of a trial. */
class TrialPolicyPropertiesTest {

  static final StreamsSettings.Trial SETTINGS = StreamsSettings.demo().rules().trial();

  /** One outcome of a trial action: its arm, verdict and cost. */
  record Run(TrialArm arm, boolean ok, long costMs) {
  }

  @Provide
  Arbitrary<List<Run>> runs() {
    Arbitrary<Run> run = Combinators.combine(
        Arbitraries.of(TrialArm.CONTROL, TrialArm.TREATMENT, TrialArm.GUARD),
        Arbitraries.of(true, false), Arbitraries.longs().between(0, 3_000)).as(Run::new);
    return run.list().ofMaxSize(24);
  }

  @Provide
  Arbitrary<RuleActionKind> kinds() {
    return Arbitraries.of(RuleActionKind.ADD_MISSING_IMPORTS, RuleActionKind.INCREASE_TIMEOUT,
        RuleActionKind.PRE_VALIDATE_SYNTAX, RuleActionKind.BLOCK_AND_ALERT,
        RuleActionKind.PROMPT_GUIDELINE);
  }

  private static List<ValidationOutcome> outcomes(List<Run> runs, RuleAction action) {
    Map<TrialArm, Integer> n = new EnumMap<>(TrialArm.class);
    List<ValidationOutcome> out = new ArrayList<>();
    for (Run r : runs) {
      int i = n.merge(r.arm(), 1, Integer::sum);
      String id = RuleIds.trialActionId("t", r.arm().name(), i);
      out.add(ValidationOutcome.newBuilder().setTaskId("task-" + i).setActionId(id)
          .setValidatorId("v").setSuccess(r.ok()).setLevelRequested(3).setLevelReached(3)
          .setDurationMs(1).setExecutionDurationMs(r.costMs()).setValidatedAt(T0)
          .setTrial(TrialSpec.newBuilder().setTrialId("t").setRuleId("r").setArm(r.arm())
              .setRuleAction(action).setSourceActionId("s-" + i).build()).build());
    }
    return out;
  }

  @Property(tries = 2_000)
  void shouldNeverAdoptARuleThatRaisedTheGuardArmsErrorRate(@ForAll("runs") List<Run> runs,
      @ForAll("kinds") RuleActionKind kind) {
    RuleAction action = RuleAction.newBuilder().setKind(kind).build();
    // the guard arm's live baseline is a success each: any failure with the rule raised its rate
    boolean guardFailed = runs.stream().anyMatch(r -> r.arm() == TrialArm.GUARD && !r.ok());
    TrialPolicy.Verdict v = TrialPolicy.judge("t", action, outcomes(runs, action), 20, SETTINGS,
        T0.toEpochMilli(), false);
    if (guardFailed) {
      assertThat(v.adopt()).as(v.summary().getVerdict()).isFalse();
    }
  }

  @Property(tries = 2_000)
  void shouldAdoptOnlyOnASignificantTestAndEnoughOutcomes(@ForAll("runs") List<Run> runs,
      @ForAll("kinds") RuleActionKind kind) {
    RuleAction action = RuleAction.newBuilder().setKind(kind).build();
    TrialPolicy.Verdict v = TrialPolicy.judge("t", action, outcomes(runs, action), 20, SETTINGS,
        T0.toEpochMilli(), false);
    if (v.adopt()) {
      assertThat(v.summary().getPValue()).isLessThanOrEqualTo(SETTINGS.alpha());
      assertThat(v.summary().getControlSize()).isGreaterThanOrEqualTo(SETTINGS.minSampleSize());
      assertThat(v.summary().getTreatmentSize()).isGreaterThanOrEqualTo(SETTINGS.minSampleSize());
      assertThat(v.summary().getGuardSize()).isGreaterThanOrEqualTo(SETTINGS.minGuardSize());
      assertThat(v.summary().getGuardFailures()).isZero();
      if (RuleValue.of(kind) != RuleValue.LESS_COST) {
        assertThat(v.summary().getErrorRateWith()).isLessThan(v.summary().getErrorRateWithout());
      }
    }
    assertThat(v.summary().getVerdict()).contains("CONTROL", "TREATMENT", "GUARD");
  }
}
