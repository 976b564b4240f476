package io.fractalrmo.agentworkers.validator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.executor.Actions;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ValidatorHandlerTest {

  static PythonSandbox sandbox;
  static PythonAnalysisHelper helper;
  static ValidatorHandler validator;
  static final TopicCatalog catalog = TopicCatalog.withPrefix("t-val.");

  static final String ADD = "def add(a, b):\n    return a + b\n";
  static final String CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\n";

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create();
    helper = new PythonAnalysisHelper();
    validator = new ValidatorHandler("validator-test", catalog, sandbox, helper, Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    sandbox.close();
    helper.close();
  }

  static ExecutionResult executed(ActionItem a, String code, boolean success) {
    return ExecutionResult.newBuilder().setActionId(a.getActionId()).setTaskId(a.getTaskId())
        .setExecutorId("e").setSuccess(success).setDurationMs(12).setIsolation(Isolation.BUBBLEWRAP)
        .setCode(code).setEffectiveTimeoutMs(a.getConstraints().getTimeoutMs()).setAction(a)
        .setAppliedRuleIds(List.of("r-1")).setFinishedAt(Instant.now()).build();
  }

  static ValidationOutcome outcome(List<Outgoing> out) {
    assertThat(out.get(0).topic()).isEqualTo(catalog.validationOutcomes().name());
    return (ValidationOutcome) out.get(0).value();
  }

  static long errorEvents(List<Outgoing> out) {
    return out.stream().filter(o -> o.value() instanceof ErrorEvent).count();
  }

  @Test
  void shouldPassLevelThreeByDefaultWithEveryCheckTimed() {
    ActionItem a = Actions.execute(ADD, CHECK, "add").build();
    List<Outgoing> out = validator.handle(a.getTaskId(), executed(a, ADD, true));
    ValidationOutcome v = outcome(out);
    assertThat(v.getSuccess()).isTrue();
    assertThat(v.getLevelRequested()).isEqualTo(3);
    assertThat(v.getLevelReached()).isEqualTo(3);
    assertThat(v.getFailedLevel()).isNull();
    assertThat(v.getChecks()).extracting(ValidationCheck::getLevel).containsExactly(1, 2, 2, 3);
    assertThat(v.getChecks()).allSatisfy(c -> assertThat(c.getDurationMs()).isNotNegative());
    assertThat(v.getAppliedRuleIds()).containsExactly("r-1");
    assertThat(v.getExecutionDurationMs()).isEqualTo(12);
    assertThat(errorEvents(out)).isZero();
  }

  @Test
  void shouldStopAtLevelOneOnASyntaxError() {
    ActionItem a = Actions.execute("def add(a, b)\n    return a + b\n", CHECK, "add").build();
    List<Outgoing> out = validator.handle(a.getTaskId(), executed(a, a.getInput().getCode(), false));
    ValidationOutcome v = outcome(out);
    assertThat(v.getSuccess()).isFalse();
    assertThat(v.getFailedLevel()).isEqualTo(1);
    assertThat(v.getLevelReached()).isZero();
    assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.SYNTAX);
    assertThat(v.getChecks()).hasSize(1);
    assertThat(errorEvents(out)).as("the executor already reported this failure").isZero();
  }

  @Test
  void shouldFailLevelTwoOnABlockingFinding() {
    Finding f = Finding.newBuilder().setType("OS_COMMAND").setSeverity(Severity.HIGH).setLine(1)
        .setDescription("os.system").setAspect(Aspect.SECURITY).setBlocking(true).build();
    ActionItem a = Actions.execute(ADD, CHECK, "add").setFindings(List.of(f)).build();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, ADD, true)));
    assertThat(v.getFailedLevel()).isEqualTo(2);
    assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.SECURITY);
  }

  @Test
  void shouldFailLevelTwoWhenTheSolutionAloneRaises() {
    String code = ADD + "add(1)\n";
    ActionItem a = Actions.execute(code, CHECK, "add").build();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, code, false)));
    assertThat(v.getFailedLevel()).isEqualTo(2);
    assertThat(v.getError().getType()).isEqualTo("TypeError");
    assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.RUNTIME);
  }

  @Test
  void shouldLogOneErrorEventWhenValidationFailsAfterASuccessfulExecution() {
    String wrong = "def add(a, b):\n    return a * b\n";
    TrialSpec trial = TrialSpec.newBuilder().setTrialId("trial-9").setRuleId("c").setArm(TrialArm.CONTROL)
        .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.PRE_VALIDATE_SYNTAX).setParameters(Map.of()).build())
        .setSourceActionId("s").build();
    ActionItem a = Actions.execute(wrong, CHECK, "add").setTrial(trial).build();
    List<Outgoing> out = validator.handle(a.getTaskId(), executed(a, wrong, true));
    ValidationOutcome v = outcome(out);
    assertThat(v.getFailedLevel()).isEqualTo(3);
    assertThat(v.getLevelReached()).isEqualTo(2);
    assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.LOGIC);
    assertThat(v.getTrial()).isEqualTo(trial);
    assertThat(out.stream().filter(o -> o.value() instanceof ErrorEvent).map(o -> (ErrorEvent) o.value()))
        .singleElement().satisfies(e -> {
          assertThat(e.getAgentType()).isEqualTo("validator");
          assertThat(e.getTrialId()).isEqualTo("trial-9");
          assertThat(e.getCategory()).isEqualTo(ErrorCategory.LOGIC);
        });
  }

  @Test
  void shouldCheckPerformanceAgainstHalfTheTimeBudgetAtLevelFour() {
    // 1.1 s of a 2 s budget: over the 50 % mark, with 0.9 s of headroom before the timeout
    String slow = "import time\ndef add(a, b):\n    time.sleep(1.1)\n    return a + b\n";
    ActionItem a = Actions.execute(slow, CHECK, "add").setValidationLevel(4)
        .setConstraints(Actions.constraints(2_000)).build();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, slow, true)));
    assertThat(v.getFailedLevel()).isEqualTo(4);
    assertThat(v.getLevelReached()).isEqualTo(3);
    assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.PERFORMANCE);

    ActionItem fast = Actions.execute(ADD, CHECK, "add").setValidationLevel(4).build();
    ValidationOutcome ok = outcome(validator.handle(fast.getTaskId(), executed(fast, ADD, true)));
    assertThat(ok.getSuccess()).isTrue();
    assertThat(ok.getLevelReached()).isEqualTo(4);
  }

  @Test
  void shouldReportARuntimeFailureWhenTheValidatorItselfCannotWork() {
    PythonAnalysisHelper broken = new PythonAnalysisHelper();
    ValidatorHandler v = new ValidatorHandler("validator-broken", catalog, sandbox, broken, Clock.systemUTC());
    broken.close(); // its script is gone: every further request fails
    ActionItem a = Actions.execute(ADD, CHECK, "add").build();
    List<Outgoing> out = v.handle(a.getTaskId(), executed(a, ADD, true));
    ValidationOutcome o = outcome(out);
    assertThat(o.getSuccess()).isFalse();
    assertThat(o.getErrorCategory()).isEqualTo(ErrorCategory.RUNTIME);
    assertThat(o.getError().getType()).isEqualTo("ValidatorError");
    assertThat(errorEvents(out)).isEqualTo(1);
  }

  @Test
  void shouldStopAtTheRequestedLevel() {
    String wrong = "def add(a, b):\n    return a * b\n";
    ActionItem a = Actions.execute(wrong, CHECK, "add").setValidationLevel(1).build();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, wrong, true)));
    assertThat(v.getSuccess()).isTrue();
    assertThat(v.getLevelReached()).isEqualTo(1);
    assertThat(v.getChecks()).hasSize(1);
  }
}
