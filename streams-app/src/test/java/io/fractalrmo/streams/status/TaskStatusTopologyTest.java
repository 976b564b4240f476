package io.fractalrmo.streams.status;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorDetail;
import static io.fractalrmo.contracts.testing.Mothers.anExecutionResult;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TaskStatusTopologyTest {

  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private TestInputTopic<String, Task> tasks;
  private TestInputTopic<String, AspectAnalysis> analyses;
  private TestInputTopic<String, ActionItem> actions;
  private TestInputTopic<String, ExecutionResult> results;
  private TestInputTopic<String, ValidationOutcome> outcomes;
  private TestOutputTopic<String, TaskStatus> statuses;

  @BeforeEach
  void setUp() {
    fixture.start((topics, serdes) -> TaskStatusTopology.build(topics, StreamsSettings.demo(),
        serdes), T0);
    tasks = fixture.input(TopicCatalog::tasks, Task.class);
    analyses = fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    actions = fixture.input(TopicCatalog::actionItems, ActionItem.class);
    results = fixture.input(TopicCatalog::executionResults, ExecutionResult.class);
    outcomes = fixture.input(TopicCatalog::validationOutcomes, ValidationOutcome.class);
    statuses = fixture.output(TopicCatalog::taskStatus, TaskStatus.class);
  }

  static AspectAnalysis analysis(Aspect aspect) {
    return AspectAnalysis.newBuilder().setTaskId("task-1").setAnalyzerId("a").setAspect(aspect)
        .setConfidence(1).setDurationMs(1).setAnalyzedAt(T0).build();
  }

  static ValidationOutcome.Builder outcome(boolean success) {
    return ValidationOutcome.newBuilder().setTaskId("task-1").setActionId("task-1:1")
        .setValidatorId("v").setSuccess(success).setLevelRequested(3)
        .setLevelReached(success ? 3 : 2).setFailedLevel(success ? null : 3)
        .setDurationMs(10).setExecutionDurationMs(20).setValidatedAt(T0.plusMillis(400));
  }

  static TrialSpec trial() {
    return TrialSpec.newBuilder().setTrialId("tr").setRuleId("r").setArm(TrialArm.CONTROL)
        .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.INCREASE_TIMEOUT)
            .setParameters(Map.of()).build())
        .setSourceActionId("task-1:1").build();
  }

  private List<TaskState> states() {
    return statuses.readValuesToList().stream().map(TaskStatus::getState).toList();
  }

  @Test
  void shouldWalkTheLifeCycleToSucceeded() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    analyses.pipeInput("task-1", analysis(Aspect.SYNTAX), T0.plusMillis(10));
    analyses.pipeInput("task-1", analysis(Aspect.LOGIC), T0.plusMillis(11));
    actions.pipeInput("task-1", anActionItem().build(), T0.plusMillis(100));
    results.pipeInput("task-1", anExecutionResult().setDurationMs(50)
        .setFinishedAt(T0.plusMillis(300)).setAppliedRuleIds(List.of("rule-a")).build(),
        T0.plusMillis(300));
    outcomes.pipeInput("task-1", outcome(true).build(), T0.plusMillis(400));

    List<TaskStatus> out = statuses.readValuesToList();
    assertThat(out).extracting(TaskStatus::getState).containsExactly(TaskState.RECEIVED,
        TaskState.ANALYZING, TaskState.PLANNED, TaskState.VALIDATING, TaskState.SUCCEEDED);
    TaskStatus last = out.get(out.size() - 1);
    assertThat(last.getTransitions()).extracting(StateTransition::getState).containsExactly(
        TaskState.RECEIVED, TaskState.ANALYZING, TaskState.PLANNED, TaskState.EXECUTING,
        TaskState.VALIDATING, TaskState.SUCCEEDED);
    assertThat(last.getTransitions()).extracting(StateTransition::getAt).containsExactly(
        T0, T0.plusMillis(10), T0.plusMillis(100), T0.plusMillis(250), T0.plusMillis(300),
        T0.plusMillis(400));
    assertThat(last.getPreviousState()).isEqualTo(TaskState.VALIDATING);
    assertThat(last.getAppliedRuleIds()).containsExactly("rule-a");
    assertThat(last.getSource()).isEqualTo("test");
    assertThat(last.getFailureCategory()).isNull();
  }

  @Test
  void shouldSayWhyATaskFailed() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    results.pipeInput("task-1", anExecutionResult().setSuccess(false)
        .setError(anErrorDetail().build()).setErrorCategory(ErrorCategory.DEPENDENCY).build(),
        T0.plusMillis(20));
    // the validator reports no category of its own: the execution's stands
    outcomes.pipeInput("task-1", outcome(false).build(), T0.plusMillis(400));

    List<TaskStatus> out = statuses.readValuesToList();
    TaskStatus last = out.get(out.size() - 1);
    assertThat(last.getState()).isEqualTo(TaskState.FAILED);
    assertThat(last.getFailureCategory()).isEqualTo(ErrorCategory.DEPENDENCY);
    assertThat(last.getFailureReason()).isEqualTo("NameError: name 'List' is not defined");
  }

  @Test
  void shouldRejectABlockedTaskAndKeepItRejected() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    actions.pipeInput("task-1", anActionItem().setType(ActionType.BLOCK).build(), T0.plusMillis(5));
    outcomes.pipeInput("task-1", outcome(false).build(), T0.plusMillis(400));

    assertThat(states()).containsExactly(TaskState.RECEIVED, TaskState.REJECTED);
  }

  @Test
  void shouldRejectWhatTheExecutorBlockedEvenIfAValidatorLaterSaysSuccess() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    actions.pipeInput("task-1", anActionItem().build(), T0.plusMillis(5));
    results.pipeInput("task-1", anExecutionResult().setSuccess(false).setBlockedBy(BlockedBy.RULE)
        .setError(anErrorDetail().setType("SecurityBlocked").setMessage("rule r-1 blocked it").build())
        .setErrorCategory(ErrorCategory.SECURITY).build(), T0.plusMillis(20));
    outcomes.pipeInput("task-1", outcome(true).build(), T0.plusMillis(400)); // must not weaken it

    List<TaskStatus> out = statuses.readValuesToList();
    assertThat(out).extracting(TaskStatus::getState)
        .containsExactly(TaskState.RECEIVED, TaskState.PLANNED, TaskState.REJECTED);
    TaskStatus last = out.get(out.size() - 1);
    assertThat(last.getFailureCategory()).isEqualTo(ErrorCategory.SECURITY);
    assertThat(last.getFailureReason()).isEqualTo("blocked by RULE (SecurityBlocked: rule r-1 blocked it)");
  }

  @Test
  void shouldRejectWhatTheValidatorRefusedToRun() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    outcomes.pipeInput("task-1", outcome(false).setBlockedBy(BlockedBy.SANDBOX)
        .setError(anErrorDetail().setType("SandboxUnavailable").setMessage("install bubblewrap").build())
        .build(), T0.plusMillis(400));
    List<TaskStatus> out = statuses.readValuesToList();
    assertThat(out.get(out.size() - 1).getState()).isEqualTo(TaskState.REJECTED);
    assertThat(out.get(out.size() - 1).getFailureReason()).contains("SANDBOX", "install bubblewrap");
  }

  @Test
  void shouldSayWhichContractARejectedTaskBroke() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    actions.pipeInput("task-1", io.fractalrmo.streams.merge.PlanPolicy.plan(
        aTask().setEntryPoint("f); import os").build(), Map.of(), 5), T0.plusMillis(5));
    TaskStatus last = statuses.readValuesToList().get(1);
    assertThat(last.getState()).isEqualTo(TaskState.REJECTED);
    assertThat(last.getFailureReason()).contains("input contract", "entry point");
  }

  @Test
  void shouldIgnoreTrialRecords() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    actions.pipeInput("task-1", anActionItem().setActionId("tr:CONTROL:1").setTrial(trial())
        .build(), T0.plusMillis(5));
    results.pipeInput("task-1", anExecutionResult().setActionId("tr:CONTROL:1")
        .setAction(anActionItem().setTrial(trial()).build()).build(), T0.plusMillis(6));
    outcomes.pipeInput("task-1", outcome(false).setTrial(trial()).build(), T0.plusMillis(7));

    assertThat(states()).containsExactly(TaskState.RECEIVED);
  }

  @Test
  void shouldNeverMoveBackButRecordLateEvidence() {
    actions.pipeInput("task-1", anActionItem().build(), T0.plusMillis(100));
    tasks.pipeInput("task-1", aTask().build(), T0);
    analyses.pipeInput("task-1", analysis(Aspect.SYNTAX), T0.plusMillis(10));
    analyses.pipeInput("task-1", analysis(Aspect.LOGIC), T0.plusMillis(11));  // a repeat: no output

    List<TaskStatus> out = statuses.readValuesToList();
    assertThat(out).extracting(TaskStatus::getState).containsOnly(TaskState.PLANNED);
    assertThat(out).hasSize(3);
    assertThat(out.get(2).getTransitions()).extracting(StateTransition::getState)
        .containsExactly(TaskState.RECEIVED, TaskState.ANALYZING, TaskState.PLANNED);
  }

  @Test
  void shouldKeepTheFirstVerdict() {
    outcomes.pipeInput("task-1", outcome(true).build(), T0.plusMillis(400));
    outcomes.pipeInput("task-1", outcome(false).build(), T0.plusMillis(500));
    assertThat(states()).containsExactly(TaskState.SUCCEEDED);
  }
}
