package io.fractalrmo.agentworkers.bench;

import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

/**
 * The zero-cost handlers of the worker roles' benchmark mode ({@value #SETTING}{@code =true}):
 * the same workers, consumer groups, transactions, serdes and topics, but each record is answered
 * at once with the output its role would produce, of the same shape and about the same size (a
 * task's code travels on in the execution result, as it does for real) — so what is measured is
 * the plumbing alone. Nothing is analysed, run or judged, and no output can pass for a verdict:
 * the analyses carry an {@code error}, the execution result and the validation outcome are
 * failures whose error says {@value #ERROR_TYPE}, and no ErrorEvent is logged (a benchmark run
 * teaches the pipeline nothing).
 */
public final class ZeroCost {

  /** The role setting ({@code --set bench.zero-cost=true}) of analyzer, executor and validator. */
  public static final String SETTING = "bench.zero-cost";
  /** Error type of every zero-cost output. */
  public static final String ERROR_TYPE = "ZeroCostBenchmark";
  private static final String NOTHING_RAN = "bench.zero-cost: the handler's work was skipped; "
      + "nothing was analysed, run or judged";

  private ZeroCost() {
  }

  /** Whether {@code settings} ask for the zero-cost mode (absent: false). */
  public static boolean enabled(java.util.Map<String, String> settings) {
    String value = settings.get(SETTING);
    if (value == null) {
      return false;
    }
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(SETTING + " must be true or false, was '" + value + "'");
    }
    return v.equals("true");
  }

  /** An analysis of {@code aspect} for every task, proposing what a clean analysis proposes. */
  public static RecordHandler<Task> analyzer(Aspect aspect, String analyzerId, TopicCatalog catalog,
      Clock clock) {
    return (key, task) -> {
      boolean hasCode = task.getCode() != null && !task.getCode().isBlank();
      AspectAnalysis a = AspectAnalysis.newBuilder()
          .setTaskId(task.getTaskId())
          .setAnalyzerId(analyzerId)
          .setAspect(aspect)
          .setConfidence(0.0)
          .setIssues(List.of())
          .setRecommendations(List.of())
          .setProposedActions(List.of(hasCode ? ActionType.EXECUTE : ActionType.GENERATE_CODE))
          .setDurationMs(0)
          .setAnalyzedAt(Instant.ofEpochMilli(clock.millis()))
          .setError(NOTHING_RAN)
          .build();
      return List.of(new Outgoing(catalog.analyses().name(), task.getTaskId(), a));
    };
  }

  /** A failed execution result carrying the action and its code, as a real one does. */
  public static RecordHandler<ActionItem> executor(String executorId, TopicCatalog catalog,
      Clock clock) {
    return (key, action) -> {
      ExecutionResult r = ExecutionResult.newBuilder()
          .setActionId(action.getActionId())
          .setTaskId(action.getTaskId())
          .setExecutorId(executorId)
          .setSuccess(false)
          .setExitCode(null)
          .setError(error())
          .setErrorCategory(ErrorCategory.UNKNOWN)
          .setDurationMs(0)
          .setIsolation(Isolation.NONE)
          .setIsolationLayers(List.of())
          .setCode(action.getInput().getCode() == null ? "" : action.getInput().getCode())
          .setAction(action)
          .setFinishedAt(Instant.ofEpochMilli(clock.millis()))
          .build();
      return List.of(new Outgoing(catalog.executionResults().name(), action.getTaskId(), r));
    };
  }

  /** A failed outcome with the checks a validator records, none of them passed. */
  public static RecordHandler<ExecutionResult> validator(String validatorId, TopicCatalog catalog,
      Clock clock) {
    return (key, result) -> {
      ActionItem action = result.getAction();
      int requested = action.getValidationLevel() <= 0 ? 3 : Math.min(4, action.getValidationLevel());
      ValidationOutcome o = ValidationOutcome.newBuilder()
          .setTaskId(result.getTaskId())
          .setActionId(result.getActionId())
          .setValidatorId(validatorId)
          .setSuccess(false)
          .setLevelRequested(requested)
          .setLevelReached(0)
          .setFailedLevel(1)
          .setChecks(List.of(ValidationCheck.newBuilder().setLevel(1).setName("compiles")
              .setPassed(false).setDetails(NOTHING_RAN).setDurationMs(0).build()))
          .setError(error())
          .setErrorCategory(ErrorCategory.UNKNOWN)
          .setAppliedRuleIds(List.copyOf(result.getAppliedRuleIds()))
          .setTrial(action.getTrial())
          .setDurationMs(0)
          .setExecutionDurationMs(result.getDurationMs())
          .setValidatedAt(Instant.ofEpochMilli(clock.millis()))
          .build();
      return List.of(new Outgoing(catalog.validationOutcomes().name(), result.getTaskId(), o));
    };
  }

  private static ErrorDetail error() {
    return ErrorDetail.newBuilder().setType(ERROR_TYPE).setMessage(NOTHING_RAN).build();
  }
}
