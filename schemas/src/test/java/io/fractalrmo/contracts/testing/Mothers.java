package io.fractalrmo.contracts.testing;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleEvidence;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/**
 * Test fixtures ("object mothers"): builders pre-filled with a valid, realistic record, so a
 * test sets only the fields it is about. Shared with the other modules through the test-jar.
 */
public final class Mothers {

  /** A fixed instant with millisecond precision (what timestamp-millis keeps). */
  public static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");

  public static final String ADD_CODE = "def add(a, b):\n    return a + b\n";
  public static final String ADD_TEST =
      "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n";

  private Mothers() {
  }

  public static Task.Builder aTask() {
    return Task.newBuilder()
        .setTaskId("task-1")
        .setDescription("Add two numbers")
        .setPriority(3)
        .setLanguage(Language.PYTHON)
        .setCode(ADD_CODE)
        .setEntryPoint("add")
        .setTestCode(ADD_TEST)
        .setTimeLimitMs(5_000L)
        .setMemoryLimitMb(null)
        .setValidationLevel(3)
        .setSource("test")
        .setSubmittedAt(T0)
        .setAttributes(Map.of());
  }

  public static ExecutionInput.Builder anInput() {
    return ExecutionInput.newBuilder().setCode(ADD_CODE).setTestCode(ADD_TEST).setEntryPoint("add");
  }

  public static ExecutionConstraints.Builder someConstraints() {
    return ExecutionConstraints.newBuilder().setTimeoutMs(5_000L);
  }

  public static ActionItem.Builder anActionItem() {
    return ActionItem.newBuilder()
        .setActionId("task-1:1")
        .setTaskId("task-1")
        .setSequence(1)
        .setType(ActionType.EXECUTE)
        .setPriority(3)
        .setEstimatedTimeMs(100L)
        .setInput(anInput().build())
        .setConstraints(someConstraints().build())
        .setFindings(List.of())
        .setMissingAspects(List.of())
        .setAppliedRuleIds(List.of())
        .setAttempt(1)
        .setValidationLevel(3)
        .setTrial(null)
        .setCreatedAt(T0);
  }

  public static ExecutionResult.Builder anExecutionResult() {
    ActionItem action = anActionItem().build();
    return ExecutionResult.newBuilder()
        .setActionId(action.getActionId())
        .setTaskId(action.getTaskId())
        .setExecutorId("executor-test")
        .setSuccess(true)
        .setExitCode(0)
        .setStdout("")
        .setStdoutSize(0L)
        .setStderr("")
        .setStderrSize(0L)
        .setError(null)
        .setErrorCategory(null)
        .setTimedOut(false)
        .setDurationMs(20L)
        .setPeakMemoryKb(9_000L)
        .setIsolation(Isolation.BUBBLEWRAP)
        .setAppliedRuleIds(List.of())
        .setCode(ADD_CODE)
        .setEffectiveTimeoutMs(5_000L)
        .setAction(action)
        .setFinishedAt(T0.plusMillis(20));
  }

  public static ErrorEvent.Builder anErrorEvent() {
    return ErrorEvent.newBuilder()
        .setErrorId("err-1")
        .setAgentId("executor-test")
        .setAgentType("executor")
        .setTaskId("task-1")
        .setActionId("task-1:1")
        .setCategory(ErrorCategory.DEPENDENCY)
        .setErrorType("NameError")
        .setMessage("name 'List' is not defined")
        .setFixKey("typing")
        .setTrialId(null)
        .setContext(Map.of("missing_name", "List"))
        .setOccurredAt(T0);
  }

  public static ErrorDetail.Builder anErrorDetail() {
    return ErrorDetail.newBuilder().setType("NameError").setMessage("name 'List' is not defined")
        .setTraceback(null).setLine(1);
  }

  public static ProtocolRule.Builder aRule() {
    return ProtocolRule.newBuilder()
        .setRuleId("rule-dependency-nameerror-typing-add_missing_imports")
        .setVersion(1)
        .setDescription("Add the missing typing import and re-run once")
        .setCondition(RuleCondition.newBuilder().setCategory(ErrorCategory.DEPENDENCY)
            .setErrorType("NameError").setActionType(null).setFixKey("typing").build())
        .setAction(RuleAction.newBuilder().setKind(RuleActionKind.ADD_MISSING_IMPORTS)
            .setParameters(Map.of("modules", "typing")).build())
        .setConfidence(0.9)
        .setStatus(RuleStatus.CANDIDATE)
        .setStatusReason(null)
        .setEvidence(RuleEvidence.newBuilder().setPatternKey("DEPENDENCY|NameError|typing")
            .setFrequency(5L).setWindowStart(T0).setWindowEnd(T0.plus(30, ChronoUnit.SECONDS))
            .setExamples(List.of(PatternExample.newBuilder().setErrorId("err-1")
                .setTaskId("task-1").setActionId("task-1:1")
                .setMessage("name 'List' is not defined").setOccurredAt(T0).build()))
            .build())
        .setTrial(null)
        .setCreatedAt(T0)
        .setUpdatedAt(T0);
  }
}
