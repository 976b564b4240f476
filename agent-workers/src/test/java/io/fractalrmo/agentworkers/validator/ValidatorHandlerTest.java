package io.fractalrmo.agentworkers.validator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.errors.ErrorCategorizer;
import io.fractalrmo.agentworkers.executor.Actions;
import io.fractalrmo.agentworkers.executor.ExecutorHandler;
import io.fractalrmo.agentworkers.executor.SandboxConfinement;
import io.fractalrmo.agentworkers.sandbox.Evidence;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.agentworkers.sandbox.SandboxResult;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.FindingPolicy;
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
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
  void shouldJudgeLevelsTwoToFourFromOneRun() {
    ActionItem a = Actions.execute(ADD, CHECK, "add").setValidationLevel(4).build();
    long before = validator.sandboxRuns();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, ADD, true)));
    assertThat(v.getSuccess()).isTrue();
    assertThat(v.getLevelReached()).isEqualTo(4);
    assertThat(validator.sandboxRuns() - before).as("sandboxed runs for one verdict").isEqualTo(1);
    assertThat(v.getIsolationLayers()).as("the layers the run itself reported")
        .isEqualTo(sandbox.confinement().layers());
    assertThat(v.getChecks()).filteredOn(c -> c.getLevel() == 3).singleElement()
        .satisfies(c -> assertThat(c.getDetails()).contains("the harness saw the tests"));
  }

  @Nested
  class NeverWeakened {

    Finding secret = Finding.newBuilder().setType("HARDCODED_SECRET").setSeverity(Severity.MEDIUM).setLine(1)
        .setDescription("password literal").setAspect(Aspect.SECURITY).setBlocking(false).build();

    @ParameterizedTest(name = "blocked by {0}")
    @EnumSource(value = BlockedBy.class, names = {"PLAN", "EXECUTOR", "RULE", "CONTRACT", "SANDBOX"})
    void shouldNeverRunAgainOrPassWhatTheExecutorBlocked(BlockedBy by) {
      // correct code that would pass every level: the executor's block still stands
      ActionItem a = Actions.execute(ADD, CHECK, "add").setFindings(List.of(secret)).build();
      for (boolean forgedSuccess : new boolean[] {false, true}) {
        ExecutionResult blocked = ExecutionResult.newBuilder(executed(a, ADD, forgedSuccess))
            .setBlockedBy(by).setFindings(List.of(secret))
            .setError(ErrorDetail.newBuilder().setType("SecurityBlocked").setMessage("rule r-1 blocked it").build())
            .setErrorCategory(ErrorCategory.SECURITY).build();
        long before = validator.sandboxRuns();
        List<Outgoing> out = validator.handle(a.getTaskId(), blocked);
        ValidationOutcome v = outcome(out);
        assertThat(v.getSuccess()).as("success forged: %s", forgedSuccess).isFalse();
        assertThat(v.getBlockedBy()).isEqualTo(by);
        assertThat(v.getFindings()).containsExactly(secret);
        assertThat(v.getError().getMessage()).isEqualTo("rule r-1 blocked it");
        assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.SECURITY);
        assertThat(v.getLevelReached()).isZero();
        assertThat(v.getIsolationLayers()).as("nothing ran").isEmpty();
        assertThat(validator.sandboxRuns()).isEqualTo(before);
        assertThat(errorEvents(out)).as("the executor reported the block").isZero();
      }
    }

    @Test
    void shouldNotTurnAFailedExecutionIntoASuccess() {
      ActionItem a = Actions.execute(ADD, CHECK, "add").build();
      ExecutionResult failed = ExecutionResult.newBuilder(executed(a, ADD, false))
          .setError(ErrorDetail.newBuilder().setType("TimeoutError").setMessage("wall-clock limit").build())
          .setErrorCategory(ErrorCategory.PERFORMANCE).build();
      ValidationOutcome v = outcome(validator.handle(a.getTaskId(), failed));
      assertThat(v.getSuccess()).isFalse();
      assertThat(v.getErrorCategory()).isEqualTo(ErrorCategory.PERFORMANCE);
      assertThat(v.getChecks()).last().satisfies(c -> {
        assertThat(c.getName()).isEqualTo("the execution succeeded");
        assertThat(c.getPassed()).isFalse();
      });
    }

    @Test
    void shouldRejectAResultWhoseActionBreaksTheContract() {
      ActionItem a = Actions.execute(ADD, CHECK, "add").build();
      ActionItem injected = ActionItem.newBuilder(a).setInput(ExecutionInput.newBuilder(a.getInput())
          .setEntryPoint("add); import os; os.system('id'").build()).build();
      long before = validator.sandboxRuns();
      ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(injected, ADD, true)));
      assertThat(v.getSuccess()).isFalse();
      assertThat(v.getBlockedBy()).isEqualTo(BlockedBy.CONTRACT);
      assertThat(v.getError().getMessage()).contains("not a Python identifier");
      assertThat(validator.sandboxRuns()).isEqualTo(before);
    }

    @Test
    void shouldBlockAForbiddenCallOnlyInTheTestsOfAForgedSuccess() {
      String tests = "import subprocess\nsubprocess.run(['id'])\n" + CHECK;
      ActionItem a = Actions.execute(ADD, tests, "add").build();
      List<Outgoing> out = validator.handle(a.getTaskId(), executed(a, ADD, true));
      ValidationOutcome v = outcome(out);
      assertThat(v.getSuccess()).isFalse();
      assertThat(v.getBlockedBy()).isEqualTo(BlockedBy.VALIDATOR);
      assertThat(v.getFailedLevel()).isEqualTo(2);
      assertThat(v.getFindings()).extracting(Finding::getType).contains("SUBPROCESS");
      assertThat(v.getIsolationLayers()).as("nothing ran").isEmpty();
      assertThat(errorEvents(out)).isEqualTo(1);
    }

    @Test
    void shouldJudgeAnEvalOfABuiltStringByTheConfinement() {
      // HumanEval/160's idiom: harmless when confined, the only defence gone when not
      String code = "def do_algebra(ops, xs):\n    e = str(xs[0])\n    for o, x in zip(ops, xs[1:]):\n"
          + "        e += o + str(x)\n    return eval(e)\n";
      String tests = "def check(c):\n    assert c(['+', '*'], [2, 3, 4]) == 14\n";
      ActionItem a = Actions.execute(code, tests, "do_algebra").build();
      ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, code, true)));
      if (SandboxConfinement.of(sandbox) == FindingPolicy.Confinement.CONFINED) {
        assertThat(v.getSuccess()).as(v.toString()).isTrue();
      } else {
        assertThat(v.getSuccess()).isFalse();
        assertThat(v.getBlockedBy()).isEqualTo(BlockedBy.VALIDATOR);
        assertThat(v.getFindings()).extracting(Finding::getType).containsExactly("EVAL_CALL");
      }
    }
  }

  @Test
  void shouldCallAnEarlyExitWithStatusZeroAnEarlyExit() {
    // what the harness reports for sys.exit(0) before the tests: status 0, tests not completed
    SandboxResult early = new SandboxResult(0, false, "", 0, "", 0, null, 5, null, Isolation.BUBBLEWRAP,
        false, null, new Evidence(true, true, false, Evidence.Phase.TESTS));
    assertThat(early.success()).isFalse();
    PythonError e = ExecutorHandler.errorOf(early);
    assertThat(e.type()).isEqualTo("EarlyExit");
    assertThat(e.message()).contains("before the tests ran to their end");
    assertThat(new ErrorCategorizer(helper.names()).categorize(e, false).category())
        .isEqualTo(ErrorCategory.LOGIC);
  }

  @Test
  void shouldBoundWhatUntrustedCodeRaises() {
    String code = "class " + "E".repeat(300) + "(Exception):\n    pass\n"
        + "def add(a, b):\n    raise " + "E".repeat(300) + "('x' * 100000)\n";
    ActionItem a = Actions.execute(code, CHECK, "add").build();
    ValidationOutcome v = outcome(validator.handle(a.getTaskId(), executed(a, code, true)));
    assertThat(v.getSuccess()).isFalse();
    assertThat(v.getError().getType()).hasSizeLessThanOrEqualTo(Bounded.ERROR_TYPE_CHARS);
    assertThat(v.getError().getMessage()).hasSizeLessThanOrEqualTo(Bounded.MESSAGE_CHARS);
    assertThat(v.getChecks()).allSatisfy(c -> assertThat(c.getDetails())
        .hasSizeLessThanOrEqualTo(Bounded.MESSAGE_CHARS));
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
