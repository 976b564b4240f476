package io.fractalrmo.app.demo;

import java.util.List;

/**
 * What became of a submitted task, as {@code fractal.task-status} last said.
 *
 * @param state SUCCEEDED, FAILED, REJECTED, or UNFINISHED when no final state came in time
 * @param failureCategory the failing category, or null
 * @param failureReason why it failed, or null
 * @param appliedRuleIds the protocol rules applied to it
 * @param submittedAtMs when the demo submitted it
 * @param finishedAtMs when it reached its final state (the transition's time), or -1
 * @param missingAspects analyses the plan was made without (they did not arrive in time)
 */
public record TaskOutcome(String taskId, String state, String failureCategory,
    String failureReason, List<String> appliedRuleIds, long submittedAtMs, long finishedAtMs,
    List<String> missingAspects) {

  public TaskOutcome(String taskId, String state, String failureCategory, String failureReason,
      List<String> appliedRuleIds, long submittedAtMs, long finishedAtMs) {
    this(taskId, state, failureCategory, failureReason, appliedRuleIds, submittedAtMs,
        finishedAtMs, List.of());
  }

  public static final String SUCCEEDED = "SUCCEEDED";
  public static final String UNFINISHED = "UNFINISHED";

  public boolean succeeded() {
    return SUCCEEDED.equals(state);
  }

  public boolean finished() {
    return !UNFINISHED.equals(state);
  }

  public long latencyMs() {
    return finished() ? Math.max(0, finishedAtMs - submittedAtMs) : -1;
  }
}
