package io.fractalrmo.streams.status;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.CommitPacer;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.status.StatusMachine.Step;
import io.fractalrmo.streams.trace.StreamsHops;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Turns every pipeline record of a task into {@link Step}s of its life cycle and emits the new
 * {@link TaskStatus} whenever it changes. A BLOCK plan, and an execution result or validation
 * outcome that says it was blocked ({@code blocked_by}), end the task REJECTED with the reason.
 * Trial records (a rule trial re-running an action) say nothing about the task and are ignored.
 */
final class TaskStatusProcessor implements Processor<String, SpecificRecord, String, TaskStatus> {

  private final CommitPacer pacer;
  private final Tracing tracing;
  private ProcessorContext<String, TaskStatus> context;
  private KeyValueStore<String, TaskStatus> statuses;

  TaskStatusProcessor(CommitPacer pacer, Tracing tracing) {
    this.pacer = pacer;
    this.tracing = tracing;
  }

  @Override
  public void init(ProcessorContext<String, TaskStatus> context) {
    this.context = context;
    this.statuses = context.getStateStore(TaskStatusTopology.STATUS_STORE);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    String taskId = record.key();
    if (taskId == null || record.value() == null) {
      return;
    }
    TaskStatus before = statuses.get(taskId);
    TaskStatus after = before;
    for (Step step : steps(record.value(), record.timestamp())) {
      after = StatusMachine.apply(taskId, after, step);
    }
    if (after != null && after != before) {
      statuses.put(taskId, after);
      // a hop of the task's trace: the child of the record that moved the status
      context.forward(StreamsHops.childOf(tracing, context, "status-" + after.getState(),
          record.headers(), new Record<>(taskId, after, record.timestamp())));
      if (StatusMachine.terminal(after.getState())) {
        pacer.outputReady(context); // a final status is what clients wait for
      }
    }
  }

  static List<Step> steps(SpecificRecord value, long ts) {
    List<Step> steps = new ArrayList<>();
    if (value instanceof Task task) {
      steps.add(new Step(TaskState.RECEIVED, ts, null, null, null, null, null, task.getSource()));
    } else if (value instanceof AspectAnalysis) {
      steps.add(Step.of(TaskState.ANALYZING, ts));
    } else if (value instanceof ActionItem item && item.getTrial() == null) {
      boolean blocked = item.getType() == ActionType.BLOCK;
      steps.add(new Step(blocked ? TaskState.REJECTED : TaskState.PLANNED, ts,
          item.getActionId(), item.getAppliedRuleIds(), item.getMissingAspects(),
          blocked ? PlanPolicy.rejectionCategory(item) : null,
          blocked ? PlanPolicy.rejectionReason(item) : null, null));
    } else if (value instanceof ExecutionResult result && result.getAction().getTrial() == null) {
      long finished = result.getFinishedAt().toEpochMilli();
      if (result.getBlockedBy() != null) {
        // the executor refused it (nothing ran): final, whatever a validator says later
        steps.add(new Step(TaskState.REJECTED, finished, result.getActionId(),
            result.getAppliedRuleIds(), null, result.getErrorCategory(),
            rejected(result.getBlockedBy(), result.getError()), null));
        return steps;
      }
      steps.add(new Step(TaskState.EXECUTING, finished - result.getDurationMs(),
          result.getActionId(), null, null, null, null, null));
      steps.add(new Step(TaskState.VALIDATING, finished, result.getActionId(),
          result.getAppliedRuleIds(), null,
          result.getSuccess() ? null : category(result.getErrorCategory()),
          result.getSuccess() ? null : reason(result.getError()), null));
    } else if (value instanceof ValidationOutcome outcome && outcome.getTrial() == null) {
      if (outcome.getBlockedBy() != null) {
        steps.add(new Step(TaskState.REJECTED, outcome.getValidatedAt().toEpochMilli(),
            outcome.getActionId(), outcome.getAppliedRuleIds(), null, outcome.getErrorCategory(),
            rejected(outcome.getBlockedBy(), outcome.getError()), null));
        return steps;
      }
      boolean ok = outcome.getSuccess();
      steps.add(new Step(ok ? TaskState.SUCCEEDED : TaskState.FAILED,
          outcome.getValidatedAt().toEpochMilli(), outcome.getActionId(),
          outcome.getAppliedRuleIds(), null,
          // null keeps the category the execution already reported
          ok ? null : outcome.getErrorCategory(),
          ok ? null : reason(outcome.getError()), null));
    }
    return steps;
  }

  private static ErrorCategory category(ErrorCategory c) {
    return c != null ? c : ErrorCategory.UNKNOWN;
  }

  private static String rejected(BlockedBy by, ErrorDetail e) {
    return "blocked by " + by + (e == null ? "" : " (" + reason(e) + ")");
  }

  private static String reason(ErrorDetail e) {
    return e == null ? null : e.getType() + ": " + e.getMessage();
  }
}
