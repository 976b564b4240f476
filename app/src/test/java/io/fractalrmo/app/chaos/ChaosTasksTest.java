package io.fractalrmo.app.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.chaos.ChaosTasks.ChaosTask;
import io.fractalrmo.app.demo.Fault;
import io.fractalrmo.app.demo.FaultedCode;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.streams.rules.RuleIds;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The final state the chaos verifier demands of a faulted task: a missing import or a slow
 * solution succeeds only when a rule that repairs it was applied, not when any rule was (a chaos
 * recovery run once failed a MISSING_IMPORT task that only had pre-validate-syntax applied).
 */
class ChaosTasksTest {

  private static final String ADD_IMPORTS = RuleIds.ruleId("DEPENDENCY|NameError|typing",
      RuleActionKind.ADD_MISSING_IMPORTS);
  private static final String TIMEOUT = RuleIds.ruleId("PERFORMANCE|TimeoutError|timeout",
      RuleActionKind.INCREASE_TIMEOUT);
  private static final String SYNTAX = RuleIds.ruleId("SYNTAX|SyntaxError",
      RuleActionKind.PRE_VALIDATE_SYNTAX);

  private static ChaosTask task(Fault fault) {
    return new ChaosTask("t", new FaultedCode(null, fault, "", ""), ChaosTasks.Via.KAFKA);
  }

  @Test
  void aMissingImportMustSucceedOnlyWhenARuleThatAddsImportsWasApplied() {
    assertThat(task(Fault.MISSING_IMPORT).expected(List.of())).isEqualTo(TaskState.FAILED);
    assertThat(task(Fault.MISSING_IMPORT).expected(List.of(SYNTAX))).isEqualTo(TaskState.FAILED);
    assertThat(task(Fault.MISSING_IMPORT).expected(List.of(TIMEOUT))).isEqualTo(TaskState.FAILED);
    assertThat(task(Fault.MISSING_IMPORT).expected(List.of(SYNTAX, ADD_IMPORTS)))
        .isEqualTo(TaskState.SUCCEEDED);
  }

  @Test
  void aSlowSolutionMustSucceedOnlyWhenARuleThatRaisesTheTimeLimitWasApplied() {
    assertThat(task(Fault.SLOW).expected(List.of(SYNTAX, ADD_IMPORTS))).isEqualTo(TaskState.FAILED);
    assertThat(task(Fault.SLOW).expected(List.of(TIMEOUT))).isEqualTo(TaskState.SUCCEEDED);
  }

  @Test
  void otherFaultsDoNotDependOnTheRulesApplied() {
    List<String> all = List.of(SYNTAX, ADD_IMPORTS, TIMEOUT);
    assertThat(task(Fault.NONE).expected(all)).isEqualTo(TaskState.SUCCEEDED);
    assertThat(task(Fault.WRONG_RESULT).expected(all)).isEqualTo(TaskState.FAILED);
    assertThat(task(Fault.FORBIDDEN_CALL).expected(all)).isEqualTo(TaskState.REJECTED);
  }
}
