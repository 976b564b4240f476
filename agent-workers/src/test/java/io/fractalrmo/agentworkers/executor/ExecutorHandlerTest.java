package io.fractalrmo.agentworkers.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.rules.RuleBook;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Alert;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ExecutorHandlerTest {

  static PythonSandbox sandbox;
  static PythonAnalysisHelper helper;
  static final TopicCatalog catalog = TopicCatalog.withPrefix("t-exec.");
  final List<ProtocolRule> active = new CopyOnWriteArrayList<>();
  final RuleBook book = () -> List.copyOf(active);
  ExecutorHandler executor;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create();
    helper = new PythonAnalysisHelper();
  }

  @AfterAll
  static void stop() {
    sandbox.close();
    helper.close();
  }

  @BeforeEach
  void handler() {
    executor = new ExecutorHandler("executor-test", catalog, sandbox, helper, book, null, Clock.systemUTC());
  }

  static ExecutionResult result(List<Outgoing> out) {
    assertThat(out.get(0).topic()).isEqualTo(catalog.executionResults().name());
    return (ExecutionResult) out.get(0).value();
  }

  static List<ErrorEvent> errors(List<Outgoing> out) {
    List<ErrorEvent> list = new ArrayList<>();
    out.stream().filter(o -> o.topic().equals(catalog.errors().name())).forEach(o -> list.add((ErrorEvent) o.value()));
    return list;
  }

  static List<Alert> alerts(List<Outgoing> out) {
    List<Alert> list = new ArrayList<>();
    out.stream().filter(o -> o.topic().equals(catalog.alerts().name())).forEach(o -> list.add((Alert) o.value()));
    return list;
  }

  @Test
  void shouldRunSolutionTestsAndCheckAsOneProgram() {
    ActionItem a = Actions.execute("def add(a, b):\n    return a + b\n",
        "def check(candidate):\n    assert candidate(2, 3) == 5\n    print('checked')\n", "add").build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    ExecutionResult r = result(out);
    assertThat(r.getSuccess()).isTrue();
    assertThat(r.getStdout()).isEqualTo("checked\n");
    assertThat(r.getIsolation()).isEqualTo(sandbox.isolation());
    assertThat(r.getAction()).isEqualTo(a);
    assertThat(r.getEffectiveTimeoutMs()).isEqualTo(5_000);
    assertThat(r.getCode()).isEqualTo(a.getInput().getCode());
    assertThat(out.get(0).key()).isEqualTo(a.getTaskId());
    assertThat(out).hasSize(1);
  }

  @Test
  void shouldReportAWrongResultAsLogicWithOneErrorEventAndNoAlert() {
    ActionItem a = Actions.execute("def add(a, b):\n    return a - b\n",
        "def check(candidate):\n    assert candidate(2, 3) == 5\n", "add").build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    ExecutionResult r = result(out);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getError().getType()).isEqualTo("AssertionError");
    assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.LOGIC);
    assertThat(errors(out)).singleElement().satisfies(e -> {
      assertThat(e.getCategory()).isEqualTo(ErrorCategory.LOGIC);
      assertThat(e.getActionId()).isEqualTo(a.getActionId());
      assertThat(e.getAgentType()).isEqualTo("executor");
    });
    assertThat(alerts(out)).isEmpty();
  }

  @Test
  void shouldReportARuntimeErrorWithAnAlert() {
    ActionItem a = Actions.execute("x = [1][3]\n").build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    assertThat(result(out).getErrorCategory()).isEqualTo(ErrorCategory.RUNTIME);
    assertThat(result(out).getError().getLine()).isEqualTo(1);
    assertThat(alerts(out)).singleElement().satisfies(al -> assertThat(al.getCategory()).isEqualTo(ErrorCategory.RUNTIME));
  }

  @Test
  void shouldNotRunABlockedActionAndRaiseASecurityAlert() {
    Finding eval = Finding.newBuilder().setType("EVAL_CALL").setSeverity(Severity.HIGH).setLine(1)
        .setDescription("eval").setAspect(Aspect.SECURITY).setBlocking(true).build();
    ActionItem a = Actions.execute("open('ran.txt','w').write('x')\neval('1')\n").setType(ActionType.BLOCK)
        .setFindings(List.of(eval)).build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    ExecutionResult r = result(out);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
    assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.SECURITY);
    assertThat(r.getError().getMessage()).contains("EVAL_CALL").contains("not run");
    assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getFixKey()).isEqualTo("EVAL_CALL"));
    assertThat(alerts(out)).singleElement().satisfies(al -> {
      assertThat(al.getCategory()).isEqualTo(ErrorCategory.SECURITY);
      assertThat(al.getSeverity()).isEqualTo(Severity.HIGH);
    });
  }

  @Test
  void shouldRefuseToInventCodeWithoutAModelBackend() {
    ActionItem a = Actions.execute(null).setType(ActionType.GENERATE_CODE)
        .setInput(ExecutionInput.newBuilder().setPrompt("write add").setEntryPoint("add").build()).build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    ExecutionResult r = result(out);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.DEPENDENCY);
    assertThat(r.getError().getMessage()).contains("no model backend is configured");
    assertThat(r.getCode()).isEmpty();
    assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getErrorType()).isEqualTo("ModelBackendUnavailable"));
  }

  @Test
  void shouldCategoriseAMissingStdlibImportAsDependencyWithTheModuleAsFixKey() {
    ActionItem a = Actions.execute("print(math.sqrt(4))\n").build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    assertThat(errors(out)).singleElement().satisfies(e -> {
      assertThat(e.getCategory()).isEqualTo(ErrorCategory.DEPENDENCY);
      assertThat(e.getErrorType()).isEqualTo("NameError");
      assertThat(e.getFixKey()).isEqualTo("math");
    });
  }

  @Test
  void shouldCategoriseATimeoutAsPerformance() {
    ActionItem a = Actions.execute("while True:\n    pass\n").setConstraints(Actions.constraints(300)).build();
    List<Outgoing> out = executor.handle(a.getTaskId(), a);
    ExecutionResult r = result(out);
    assertThat(r.getTimedOut()).isTrue();
    assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.PERFORMANCE);
    assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getErrorType()).isEqualTo("TimeoutError"));
  }

  @Nested
  class Blocked {

    @Test
    void shouldCarryTheFindingsBehindABlockAndNeverSucceed() {
      Finding os = Finding.newBuilder().setType("OS_COMMAND").setSeverity(Severity.HIGH).setLine(2)
          .setDescription("os.system").setAspect(Aspect.SECURITY).setBlocking(true).build();
      ActionItem a = Actions.execute("def add(a, b):\n    return a + b\n").setType(ActionType.BLOCK)
          .setFindings(List.of(os)).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.PLAN);
      assertThat(r.getFindings()).containsExactly(os);
      assertThat(r.getIsolationLayers()).isEmpty();
    }

    @Test
    void shouldRejectAnInjectedEntryPointFromAnotherProducerWithoutRunningOrLoggingAnError() {
      ActionItem a = Actions.execute("def f(x):\n    return x\n", "def check(c):\n    assert c(1) == 1\n",
          "f); import os; os.system('id'").build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.CONTRACT);
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(r.getError().getType()).isEqualTo("ContractViolation");
      assertThat(r.getError().getMessage()).contains("entry-point").contains("not a Python identifier");
      assertThat(r.getFindings()).extracting(Finding::getType).containsExactly("CONTRACT_VIOLATION");
      assertThat(errors(out)).as("the input's fault, not the code's").isEmpty();
    }

    @Test
    void shouldRejectOversizedCodeAndKeepItOutOfTheResult() {
      String big = "x = 1\n".repeat(20_000); // 120 KB > 64 KiB
      ActionItem a = Actions.execute(big).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.CONTRACT);
      assertThat(r.getError().getMessage()).contains("limits.max-code-bytes");
      assertThat(r.getCode()).isEmpty();
      assertThat(r.getAction().getInput().getCode()).isNull();
    }

    @Test
    void shouldAnalyseTheTestsAndBlockAForbiddenCallOnlyThere() {
      ActionItem a = Actions.execute("def add(a, b):\n    return a + b\n",
          "import subprocess\nprint(subprocess.run(['id']).returncode)\n"
              + "def check(candidate):\n    assert candidate(2, 3) == 5\n", "add").build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.EXECUTOR);
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(r.getStdout()).isEmpty();
      assertThat(r.getFindings()).singleElement().satisfies(f -> {
        assertThat(f.getType()).isEqualTo("SUBPROCESS");
        assertThat(f.getDescription()).contains("of the test code");
      });
      assertThat(alerts(out)).hasSize(1);
    }

    @Test
    void shouldCarryTheFindingTheRuleFiredOn() {
      active.add(Actions.rule("r-block", RuleActionKind.BLOCK_AND_ALERT, Map.of(),
          ErrorCategory.SECURITY, "SecurityBlocked", "HARDCODED_SECRET"));
      ActionItem a = Actions.execute("password = 'hunter2hunter2'\n").build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.RULE);
      assertThat(r.getFindings()).extracting(Finding::getType).containsExactly("HARDCODED_SECRET");
    }
  }

  @Nested
  class Policy {

    final boolean confined = SandboxConfinement.of(sandbox) == FindingPolicy.Confinement.CONFINED;

    @Test
    void shouldRunAnEvalOfABuiltStringWhenConfinedAndBlockItWhenNot() {
      // HumanEval/160 (do_algebra): its canonical solution evaluates the expression it assembled
      String code = "def do_algebra(operator, operand):\n    expression = str(operand[0])\n"
          + "    for oprt, oprn in zip(operator, operand[1:]):\n        expression += oprt + str(oprn)\n"
          + "    return eval(expression)\n";
      ActionItem a = Actions.execute(code, "def check(c):\n    assert c(['+', '*', '-'], [2, 3, 4, 5]) == 9\n",
          "do_algebra").build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      if (confined) {
        assertThat(r.getSuccess()).as(String.valueOf(r.getError())).isTrue();
        assertThat(r.getBlockedBy()).isNull();
        assertThat(alerts(out)).as("EVAL_CALL is only recorded when confined").isEmpty();
      } else {
        assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.EXECUTOR);
        assertThat(r.getError().getMessage()).contains("does not confine the code");
        assertThat(r.getFindings()).extracting(Finding::getType).containsExactly("EVAL_CALL");
      }
    }

    @Test
    void shouldAlertOnADynamicImportThatRunsConfined() {
      ActionItem a = Actions.execute("m = __import__('ma' + 'th')\nprint(m.floor(2.5))\n").build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      if (confined) {
        assertThat(r.getSuccess()).as(String.valueOf(r.getError())).isTrue();
        assertThat(alerts(out)).singleElement().satisfies(al -> {
          assertThat(al.getCategory()).isEqualTo(ErrorCategory.SECURITY);
          assertThat(al.getMessage()).contains("DYNAMIC_IMPORT");
          assertThat(al.getErrorId()).isNull();
        });
        assertThat(errors(out)).isEmpty();
      } else {
        assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.EXECUTOR);
      }
    }
  }

  @Nested
  class Limits {

    ExecutorHandler limited(String... settings) {
      Map<String, String> m = new java.util.HashMap<>();
      for (int i = 0; i < settings.length; i += 2) {
        m.put(settings[i], settings[i + 1]);
      }
      return new ExecutorHandler("executor-limits", catalog, sandbox, helper, book, null, Clock.systemUTC(),
          InputLimits.fromSettings(m));
    }

    @Test
    void shouldClipATwentyMinuteTimeLimitAndRecordTheClip() {
      ActionItem a = Actions.execute("while True:\n    pass\n")
          .setConstraints(ExecutionConstraints.newBuilder().setTimeoutMs(1_200_000)
              .setRequestedTimeoutMs(null).build()).build();
      ExecutionResult r = result(limited("limits.max-time-limit-ms", "500").handle(a.getTaskId(), a));
      assertThat(r.getTimedOut()).isTrue();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(500);
      assertThat(r.getClipped()).containsExactly(
          "time limit 1200000 ms clipped to 500 ms (limits.max-time-limit-ms)");
      assertThat(r.getAction().getConstraints().getTimeoutMs()).as("the action as received")
          .isEqualTo(1_200_000);
    }

    @Test
    void shouldReportAClipMadeAtPlanTime() {
      ActionItem a = Actions.execute("print('hi')\n").setConstraints(ExecutionConstraints.newBuilder()
          .setTimeoutMs(2_000).setRequestedTimeoutMs(1_200_000L).build()).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).isTrue();
      assertThat(r.getClipped()).containsExactly("time limit 1200000 ms clipped to 2000 ms at plan time");
      assertThat(r.getEffectiveMemoryMb()).isEqualTo(512);
    }

    @Test
    void shouldBoundAnIncreasedTimeoutByTheOperatorsMaximum() {
      active.add(Actions.rule("r-timeout", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", "4"),
          ErrorCategory.PERFORMANCE, "TimeoutError", null));
      ActionItem a = Actions.execute("import time\ntime.sleep(1.5)\n").setConstraints(Actions.constraints(400)).build();
      ExecutionResult r = result(limited("limits.max-time-limit-ms", "800").handle(a.getTaskId(), a));
      assertThat(r.getTimedOut()).isTrue();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(800);
      assertThat(r.getClipped()).containsExactly(
          "INCREASE_TIMEOUT's 1600 ms clipped to 800 ms (limits.max-time-limit-ms)");
    }

    @Test
    void shouldBoundEveryStringTheCodeInfluences() {
      String code = "import sys\nprint('o' * 50000)\nsys.stderr.write('e' * 50000)\n"
          + "class " + "E".repeat(300) + "(Exception):\n    pass\n"
          + "def deep(n):\n    return deep(n - 1) if n else (_ for _ in ()).throw(" + "E".repeat(300)
          + "('m' * 100000))\ndeep(300)\n";
      ActionItem a = Actions.execute(code).build();
      List<Outgoing> out = limited("limits.max-output-bytes", "1000").handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getStdout()).hasSizeLessThanOrEqualTo(1_000);
      assertThat(r.getStdoutSize()).isGreaterThanOrEqualTo(50_000);
      assertThat(r.getStderr()).hasSizeLessThanOrEqualTo(1_000);
      assertThat(r.getError().getType()).hasSizeLessThanOrEqualTo(Bounded.ERROR_TYPE_CHARS);
      assertThat(r.getError().getMessage()).hasSizeLessThanOrEqualTo(Bounded.MESSAGE_CHARS);
      assertThat(r.getError().getTraceback()).hasSizeLessThanOrEqualTo(Bounded.TRACEBACK_CHARS);
      assertThat(errors(out)).singleElement().satisfies(e ->
          assertThat(e.getMessage()).hasSizeLessThanOrEqualTo(Bounded.MESSAGE_CHARS));
      assertThat(r.getClipped()).contains("output kept 65536 bytes clipped to 1000 bytes (limits.max-output-bytes)");
    }
  }

  @Nested
  class PlanWithoutSecurityAnalysis {

    @Test
    void shouldAnalyseTheCodeItselfAndNotRunAForbiddenCall() {
      ActionItem a = Actions.execute("import os\nos.system(\"echo hi\")\n")
          .setMissingAspects(List.of(Aspect.SECURITY)).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE); // the sandbox never saw it
      assertThat(r.getStdout()).isEmpty();
      assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.SECURITY);
      assertThat(r.getError().getType()).isEqualTo("SecurityBlocked");
      assertThat(r.getError().getMessage()).contains("OS_COMMAND").contains("lacked its SECURITY analysis")
          .contains("not run");
      assertThat(r.getError().getLine()).isEqualTo(2);
      assertThat(r.getCode()).isEqualTo(a.getInput().getCode());
      assertThat(r.getAction()).isEqualTo(a);
      assertThat(errors(out)).singleElement().satisfies(e -> {
        assertThat(e.getCategory()).isEqualTo(ErrorCategory.SECURITY);
        assertThat(e.getErrorType()).isEqualTo("SecurityBlocked");
        assertThat(e.getFixKey()).isEqualTo("OS_COMMAND");
        assertThat(e.getContext()).containsEntry("security_analysis", "executor")
            .containsEntry("blocked_aspect", "SECURITY");
      });
      assertThat(alerts(out)).singleElement().satisfies(al -> {
        assertThat(al.getCategory()).isEqualTo(ErrorCategory.SECURITY);
        assertThat(al.getSeverity()).isEqualTo(Severity.HIGH);
      });
    }

    @Test
    void shouldRunBenignCodeNormally() {
      ActionItem a = Actions.execute("def add(a, b):\n    return a + b\n",
          "def check(candidate):\n    assert candidate(2, 3) == 5\n    print('checked')\n", "add")
          .setMissingAspects(List.of(Aspect.SECURITY)).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).as(r.toString()).isTrue();
      assertThat(r.getStdout()).isEqualTo("checked\n");
      assertThat(r.getIsolation()).isEqualTo(sandbox.isolation());
      assertThat(out).hasSize(1);
    }

    @Test
    void shouldBlockWhenEveryAnalysisIsMissingAndTheFindingsAreEmpty() {
      ActionItem a = Actions.execute("import subprocess\nprint(subprocess.run(['id']).returncode)\n")
          .setMissingAspects(List.of(Aspect.SYNTAX, Aspect.LOGIC, Aspect.DEPENDENCY, Aspect.SECURITY,
              Aspect.PERFORMANCE))
          .setFindings(List.of()).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      assertThat(result(out).getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getFixKey()).isEqualTo("SUBPROCESS"));
      assertThat(alerts(out)).hasSize(1);
    }

    @Test
    void shouldLetABlockAndAlertRuleSeeTheExecutorsOwnFindings() {
      active.add(Actions.rule("r-block", RuleActionKind.BLOCK_AND_ALERT, Map.of(),
          ErrorCategory.SECURITY, "SecurityBlocked", "HARDCODED_SECRET"));
      ActionItem a = Actions.execute("password = 'hunter2hunter2'\n")
          .setMissingAspects(List.of(Aspect.SECURITY)).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(r.getAppliedRuleIds()).containsExactly("r-block");
      assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getFixKey()).isEqualTo("HARDCODED_SECRET"));
    }
  }

  @Nested
  class RulesOff {

    ActionItem.Builder off(ActionItem.Builder b) {
      return b.setAttributes(Map.of(AppliedRules.RULES_ATTRIBUTE, "off", "suite", "demo"));
    }

    @Test
    void shouldNotApplyAnActiveTimeoutRuleThatWouldFixTheProgram() {
      active.add(Actions.rule("r-timeout", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", "3"),
          ErrorCategory.PERFORMANCE, "TimeoutError", null));
      ActionItem a = off(Actions.execute("import time\ntime.sleep(0.6)\nprint('done')\n")
          .setConstraints(Actions.constraints(400))).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getTimedOut()).isTrue();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(400);
      assertThat(r.getAppliedRuleIds()).isEmpty();
      assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getContext())
          .containsEntry(AppliedRules.RULES_ATTRIBUTE, "off").doesNotContainKey("applied_rule_ids"));
    }

    @Test
    void shouldNotApplyAnActiveImportsRuleThatWouldFixTheProgram() {
      active.add(Actions.rule("r-imports", RuleActionKind.ADD_MISSING_IMPORTS, Map.of(),
          ErrorCategory.DEPENDENCY, "NameError", null));
      ActionItem a = off(Actions.execute("print(math.floor(2.5))\n")).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getError().getType()).isEqualTo("NameError");
      assertThat(r.getCode()).isEqualTo(a.getInput().getCode());
      assertThat(r.getAppliedRuleIds()).isEmpty();
      assertThat(r.getAction().getAttributes()).containsEntry(AppliedRules.RULES_ATTRIBUTE, "off");

      ActionItem on = Actions.execute("print(math.floor(2.5))\n").build(); // same run, rules on
      ExecutionResult fixed = result(executor.handle(on.getTaskId(), on));
      assertThat(fixed.getSuccess()).isTrue();
      assertThat(fixed.getAppliedRuleIds()).containsExactly("r-imports");
    }

    @Test
    void shouldStillBlockForbiddenCallsWhenThePlanLackedItsSecurityAnalysis() {
      ActionItem a = off(Actions.execute("import os\nos.system(\"echo hi\")\n")
          .setMissingAspects(List.of(Aspect.SECURITY))).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      assertThat(result(out).getErrorCategory()).isEqualTo(ErrorCategory.SECURITY);
      assertThat(result(out).getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(result(out).getAppliedRuleIds()).isEmpty();
    }
  }

  @Nested
  class Rules {

    @Test
    void shouldAddMissingTypingAndStdlibImportsAndRecordTheRule() {
      active.add(Actions.rule("r-imports", RuleActionKind.ADD_MISSING_IMPORTS, Map.of(),
          ErrorCategory.DEPENDENCY, "NameError", null));
      ActionItem a = Actions.execute("def f(xs: List[int]) -> float:\n    return math.sqrt(sum(xs))\n",
          "def check(c):\n    assert c([4, 5]) == 3.0\n", "f").build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).as(r.toString()).isTrue();
      assertThat(r.getCode()).startsWith("from typing import List\nimport math\n");
      assertThat(r.getAppliedRuleIds()).containsExactly("r-imports");
    }

    @Test
    void shouldOnlyAddTheImportsTheRuleNames() {
      active.add(Actions.rule("r-typing", RuleActionKind.ADD_MISSING_IMPORTS, Map.of(),
          ErrorCategory.DEPENDENCY, "NameError", "typing"));
      ActionItem a = Actions.execute("x: List[int] = []\nprint(math.pi)\n").build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getCode()).contains("from typing import List").doesNotContain("import math");
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getError().getMessage()).contains("math");
    }

    @Test
    void shouldApplyEachImportRuleToItsOwnModule() {
      // one rule per module, typing first: the first ADD_MISSING_IMPORTS rule must not shadow the other
      active.add(Actions.rule("r-typing", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "typing"),
          ErrorCategory.DEPENDENCY, "NameError", "typing"));
      active.add(Actions.rule("r-math", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "math"),
          ErrorCategory.DEPENDENCY, "NameError", "math"));

      ActionItem list = Actions.execute("def f(xs: List[int]) -> int:\n    return len(xs)\n",
          "def check(c):\n    assert c([1, 2]) == 2\n", "f").build();
      ExecutionResult l = result(executor.handle(list.getTaskId(), list));
      assertThat(l.getSuccess()).as(l.toString()).isTrue();
      assertThat(l.getCode()).startsWith("from typing import List\n");
      assertThat(l.getAppliedRuleIds()).containsExactly("r-typing");

      ActionItem math = Actions.execute("def f(x):\n    return math.floor(x)\n",
          "def check(c):\n    assert c(2.5) == 2\n", "f").build();
      ExecutionResult m = result(executor.handle(math.getTaskId(), math));
      assertThat(m.getSuccess()).as(m.toString()).isTrue();
      assertThat(m.getCode()).startsWith("import math\n");
      assertThat(m.getAppliedRuleIds()).containsExactly("r-math");

      ActionItem both = Actions.execute("def f(xs: List[float]) -> int:\n    return math.floor(sum(xs))\n",
          "def check(c):\n    assert c([1.5, 1.0]) == 2\n", "f").build();
      ExecutionResult b = result(executor.handle(both.getTaskId(), both));
      assertThat(b.getSuccess()).as(b.toString()).isTrue();
      assertThat(b.getAppliedRuleIds()).containsExactlyInAnyOrder("r-typing", "r-math");
    }

    @Test
    void shouldPickTheRuleForTheModuleOnTheRerunAfterANameError() {
      active.add(Actions.rule("r-typing", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "typing"),
          ErrorCategory.DEPENDENCY, "NameError", "typing"));
      active.add(Actions.rule("r-math", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "math"),
          ErrorCategory.DEPENDENCY, "NameError", "math"));
      // the solution is complete; only the tests use math, so only the run shows the NameError
      ActionItem a = Actions.execute("def f(x):\n    return int(x)\n",
          "def check(c):\n    assert c(2.5) == math.floor(2.5)\n", "f").build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).as(r.toString()).isTrue();
      assertThat(r.getCode()).startsWith("import math\n");
      assertThat(r.getAppliedRuleIds()).containsExactly("r-math");
    }

    @Test
    void shouldFailFastOnSyntaxWithoutTheSandbox() {
      active.add(Actions.rule("r-syntax", RuleActionKind.PRE_VALIDATE_SYNTAX, Map.of(),
          ErrorCategory.SYNTAX, "SyntaxError", null));
      ActionItem a = Actions.execute("def f(:\n    pass\n").build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.SYNTAX);
      assertThat(r.getError().getLine()).isEqualTo(1);
      assertThat(r.getAppliedRuleIds()).containsExactly("r-syntax");
    }

    @Test
    void shouldRerunATimeoutOnceWithALongerBoundedTimeout() {
      active.add(Actions.rule("r-timeout", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", "3"),
          ErrorCategory.PERFORMANCE, "TimeoutError", null));
      ActionItem a = Actions.execute("import time\ntime.sleep(0.6)\nprint('done')\n")
          .setConstraints(Actions.constraints(400)).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getSuccess()).isTrue();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(1_200);
      assertThat(r.getAppliedRuleIds()).containsExactly("r-timeout");
      assertThat(r.getDurationMs()).isGreaterThanOrEqualTo(1_000); // both runs are paid for
    }

    @Test
    void shouldBoundTheTimeoutFactor() {
      ProtocolRule r = Actions.rule("r-huge", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", "1000"),
          ErrorCategory.PERFORMANCE, "TimeoutError", null);
      AppliedRules.Rule checked = AppliedRules.forAction(Actions.execute("pass").build(), () -> List.of(r)).all().get(0);
      assertThat(AppliedRules.increasedTimeout(checked, 1_000)).isEqualTo(4_000);
      assertThat(AppliedRules.increasedTimeout(checked, 30_000)).isEqualTo(60_000);
    }

    @Test
    void shouldIgnoreARuleWithInvalidParameters() {
      active.add(Actions.rule("r-bad", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", "fast please"),
          ErrorCategory.PERFORMANCE, "TimeoutError", null));
      active.add(Actions.rule("r-bad2", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "os; rm -rf /"),
          ErrorCategory.DEPENDENCY, "NameError", null));
      ActionItem a = Actions.execute("import time\ntime.sleep(0.5)\n").setConstraints(Actions.constraints(200)).build();
      ExecutionResult r = result(executor.handle(a.getTaskId(), a));
      assertThat(r.getTimedOut()).isTrue();
      assertThat(r.getAppliedRuleIds()).isEmpty();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(200);
    }

    @Test
    void shouldBlockAndAlertOnAMatchingFinding() {
      active.add(Actions.rule("r-block", RuleActionKind.BLOCK_AND_ALERT, Map.of(),
          ErrorCategory.SECURITY, "SecurityBlocked", "HARDCODED_SECRET"));
      Finding secret = Finding.newBuilder().setType("HARDCODED_SECRET").setSeverity(Severity.MEDIUM).setLine(1)
          .setDescription("password literal").setAspect(Aspect.SECURITY).build();
      ActionItem a = Actions.execute("password = 'hunter2hunter2'\n").setFindings(List.of(secret)).build();
      List<Outgoing> out = executor.handle(a.getTaskId(), a);
      ExecutionResult r = result(out);
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getIsolation()).isEqualTo(Isolation.NONE);
      assertThat(r.getAppliedRuleIds()).containsExactly("r-block");
      assertThat(alerts(out)).hasSize(1);
    }

    @Test
    void shouldApplyTheTrialRuleInTheTreatmentArmOnlyAndCopyTheTrial() {
      TrialSpec.Builder trial = TrialSpec.newBuilder().setTrialId("trial-1").setRuleId("cand-1")
          .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.ADD_MISSING_IMPORTS).setParameters(Map.of()).build())
          .setSourceActionId("src");
      ActionItem treatment = Actions.execute("print(math.floor(2.5))\n")
          .setTrial(trial.setArm(TrialArm.TREATMENT).build()).build();
      ActionItem control = Actions.execute("print(math.floor(2.5))\n")
          .setTrial(trial.setArm(TrialArm.CONTROL).build()).build();
      ExecutionResult t = result(executor.handle(treatment.getTaskId(), treatment));
      assertThat(t.getSuccess()).isTrue();
      assertThat(t.getAppliedRuleIds()).containsExactly("cand-1");
      assertThat(t.getAction().getTrial().getArm()).isEqualTo(TrialArm.TREATMENT);
      List<Outgoing> out = executor.handle(control.getTaskId(), control);
      assertThat(result(out).getSuccess()).isFalse();
      assertThat(result(out).getAppliedRuleIds()).isEmpty();
      assertThat(errors(out)).singleElement().satisfies(e -> assertThat(e.getTrialId()).isEqualTo("trial-1"));
    }

    @Test
    void shouldApplyAndRecordAMathCandidateInTheTreatmentArmWhileATypingRuleIsActive() {
      active.add(Actions.rule("r-typing", RuleActionKind.ADD_MISSING_IMPORTS, Map.of("imports", "typing"),
          ErrorCategory.DEPENDENCY, "NameError", "typing"));
      TrialSpec.Builder trial = TrialSpec.newBuilder().setTrialId("trial-math").setRuleId("cand-math")
          .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.ADD_MISSING_IMPORTS)
              .setParameters(Map.of("imports", "math")).build())
          .setSourceActionId("src");
      String code = "def f(xs: List[float]) -> int:\n    return math.floor(sum(xs))\n";
      String tests = "def check(c):\n    assert c([1.5, 1.0]) == 2\n";
      ActionItem treatment = Actions.execute(code, tests, "f").setTrial(trial.setArm(TrialArm.TREATMENT).build()).build();
      ActionItem control = Actions.execute(code, tests, "f").setTrial(trial.setArm(TrialArm.CONTROL).build()).build();

      ExecutionResult t = result(executor.handle(treatment.getTaskId(), treatment));
      assertThat(t.getSuccess()).as(t.toString()).isTrue();
      assertThat(t.getAppliedRuleIds()).containsExactlyInAnyOrder("cand-math", "r-typing");

      List<Outgoing> out = executor.handle(control.getTaskId(), control);
      ExecutionResult c = result(out);
      assertThat(c.getSuccess()).isFalse();
      assertThat(c.getError().getMessage()).contains("math");
      assertThat(c.getAppliedRuleIds()).containsExactly("r-typing");
      assertThat(errors(out)).singleElement().satisfies(e -> {
        assertThat(e.getTrialId()).isEqualTo("trial-math");
        assertThat(e.getFixKey()).isEqualTo("math");
      });
    }

    @Test
    void shouldRecordTheCandidateRatherThanAnActiveRuleThatWouldAddTheSameImport() {
      active.add(Actions.rule("r-any", RuleActionKind.ADD_MISSING_IMPORTS, Map.of(),
          ErrorCategory.DEPENDENCY, "NameError", null));
      ActionItem treatment = Actions.execute("print(math.floor(2.5))\n")
          .setTrial(TrialSpec.newBuilder().setTrialId("trial-m").setRuleId("cand-math").setArm(TrialArm.TREATMENT)
              .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.ADD_MISSING_IMPORTS)
                  .setParameters(Map.of("imports", "math")).build())
              .setSourceActionId("src").build()).build();
      ExecutionResult t = result(executor.handle(treatment.getTaskId(), treatment));
      assertThat(t.getSuccess()).isTrue();
      assertThat(t.getAppliedRuleIds()).containsExactly("cand-math");
    }
  }
}
