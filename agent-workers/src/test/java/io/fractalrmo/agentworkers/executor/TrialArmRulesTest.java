package io.fractalrmo.agentworkers.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.rules.RuleBook;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialRule;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.testing.Mothers;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which rules each kind of trial action gets (issue 16): GUARD like TREATMENT, REPLAY exactly its set. */
class TrialArmRulesTest {

  static final RuleAction TIMEOUT = RuleAction.newBuilder().setKind(RuleActionKind.INCREASE_TIMEOUT)
      .setParameters(Map.of("factor", "2.0")).build();
  static final ProtocolRule ACTIVE = Mothers.aRule().setRuleId("active-imports")
      .setStatus(RuleStatus.ACTIVE).build();
  static final RuleBook BOOK = () -> List.of(ACTIVE);

  private static ActionItem trialAction(TrialArm arm, List<TrialRule> ruleSet) {
    return Mothers.anActionItem().setTrial(TrialSpec.newBuilder().setTrialId("t").setRuleId("cand")
        .setArm(arm).setRuleAction(TIMEOUT).setSourceActionId("task-1:plan:1").setRuleSet(ruleSet)
        .build()).build();
  }

  private static List<String> ids(AppliedRules rules) {
    return rules.all().stream().map(AppliedRules.Rule::ruleId).toList();
  }

  @Test
  void shouldApplyTheCandidateFirstInTheTreatmentAndGuardArmsAndNeverInControl() {
    assertThat(ids(AppliedRules.forAction(trialAction(TrialArm.TREATMENT, null), BOOK)))
        .containsExactly("cand", "active-imports");
    assertThat(ids(AppliedRules.forAction(trialAction(TrialArm.GUARD, null), BOOK)))
        .containsExactly("cand", "active-imports");
    assertThat(ids(AppliedRules.forAction(trialAction(TrialArm.CONTROL, null), BOOK)))
        .containsExactly("active-imports");
  }

  @Test
  void shouldApplyExactlyAReplaysRuleSet() {
    TrialRule syntax = TrialRule.newBuilder().setRuleId("what-if-syntax")
        .setCondition(RuleCondition.newBuilder().setCategory(ErrorCategory.SYNTAX)
            .setErrorType("SyntaxError").build())
        .setAction(RuleAction.newBuilder().setKind(RuleActionKind.PRE_VALIDATE_SYNTAX).build())
        .build();
    assertThat(ids(AppliedRules.forAction(trialAction(TrialArm.REPLAY, List.of(syntax)), BOOK)))
        .containsExactly("what-if-syntax");
    assertThat(AppliedRules.forAction(trialAction(TrialArm.REPLAY, List.of()), BOOK).all())
        .as("--rules none").isEmpty();
  }
}
