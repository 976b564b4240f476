package io.fractalrmo.streams.status;

import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The task life cycle RECEIVED → ANALYZING → PLANNED → EXECUTING → VALIDATING → SUCCEEDED |
 * FAILED | REJECTED as a pure function. The state only moves forward: evidence of an earlier
 * state that arrives late (topics are read independently) is added to the transitions without
 * moving the state back, and a terminal state is final.
 */
public final class StatusMachine {

  private StatusMachine() {
  }

  /** What one record says about its task. Null fields say nothing. */
  public record Step(TaskState state, long at, String actionId, List<String> appliedRuleIds,
      List<Aspect> missingAspects, ErrorCategory failureCategory, String failureReason,
      String source) {

    public static Step of(TaskState state, long at) {
      return new Step(state, at, null, null, null, null, null, null);
    }
  }

  static int rank(TaskState s) {
    return switch (s) {
      case RECEIVED -> 0;
      case ANALYZING -> 1;
      case PLANNED -> 2;
      case EXECUTING -> 3;
      case VALIDATING -> 4;
      case SUCCEEDED, FAILED, REJECTED -> 5;
      default -> -1;
    };
  }

  static boolean terminal(TaskState s) {
    return rank(s) == 5;
  }

  /** The status after {@code step}; the same instance when nothing changes. */
  public static TaskStatus apply(String taskId, TaskStatus current, Step step) {
    if (rank(step.state()) < 0) {
      return current;
    }
    if (current != null && !advances(current, step) && (terminal(step.state())
        || seen(current, step.state()))) {
      // decided before a builder exists: newBuilder(current) deep-copies the whole status, and
      // most records of a task (the 2nd to 5th analysis, a repeat) change nothing
      return current;
    }
    TaskStatus.Builder b = current == null
        ? TaskStatus.newBuilder().setTaskId(taskId).setState(step.state()).setPreviousState(null)
            .setTransitions(new ArrayList<>()).setUpdatedAt(Instant.ofEpochMilli(step.at()))
        : TaskStatus.newBuilder(current);
    List<StateTransition> transitions = new ArrayList<>(b.getTransitions());
    boolean seen = transitions.stream().anyMatch(t -> t.getState() == step.state());
    boolean changed = false;
    if (current == null) {
      changed = true;
    } else if (!terminal(current.getState()) && rank(step.state()) > rank(current.getState())) {
      b.setPreviousState(current.getState()).setState(step.state());
      changed = true;
    } else if (terminal(step.state()) || seen) {
      return current;  // a second verdict, or a repeat: the first one stands
    }
    if (!seen) {
      transitions.add(new StateTransition(step.state(), Instant.ofEpochMilli(step.at())));
      transitions.sort(Comparator.comparingInt((StateTransition t) -> rank(t.getState()))
          .thenComparing(StateTransition::getAt));
      b.setTransitions(transitions);
      changed = true;
    }
    if (!changed) {
      return current;
    }
    if (step.actionId() != null) {
      b.setActionId(step.actionId());
    }
    if (step.appliedRuleIds() != null && !step.appliedRuleIds().isEmpty()) {
      b.setAppliedRuleIds(step.appliedRuleIds());
    }
    if (step.missingAspects() != null) {
      b.setMissingAspects(step.missingAspects());
    }
    if (step.failureCategory() != null) {
      b.setFailureCategory(step.failureCategory());
    }
    if (step.failureReason() != null) {
      b.setFailureReason(step.failureReason());
    }
    if (step.source() != null) {
      b.setSource(step.source());
    }
    if (b.getState() == TaskState.FAILED && b.getFailureCategory() == null) {
      b.setFailureCategory(ErrorCategory.UNKNOWN);
    }
    long updated = Math.max(b.getUpdatedAt().toEpochMilli(), step.at());
    b.setUpdatedAt(Instant.ofEpochMilli(updated));
    return b.build();
  }

  /** Whether {@code step} moves {@code current} forward. */
  private static boolean advances(TaskStatus current, Step step) {
    return !terminal(current.getState()) && rank(step.state()) > rank(current.getState());
  }

  private static boolean seen(TaskStatus current, TaskState state) {
    for (StateTransition t : current.getTransitions()) {
      if (t.getState() == state) {
        return true;
      }
    }
    return false;
  }
}
