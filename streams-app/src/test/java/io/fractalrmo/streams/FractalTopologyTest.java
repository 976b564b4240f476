package io.fractalrmo.streams;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.util.List;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The four features on one builder: wiring, names, and one pass through the learning loop. */
class FractalTopologyTest {

  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();

  @Test
  void shouldNameEveryNodeStoreAndInternalTopic() {
    Topology topology = FractalTopology.build(TopicCatalog.defaults(), StreamsSettings.demo(),
        fixture.serdes());
    String description = topology.describe().toString();
    // generated names look like KSTREAM-MERGE-0000000012 or KSTREAM-AGGREGATE-STATE-STORE-...
    assertThat(description).doesNotContainPattern("-\\d{10}");
    assertThat(description).contains("pattern-by-key-repartition", "rules-failed-by-rule-repartition",
        "rules-live-outcomes-repartition", "rules-guard-pool", "rules-live", "merge-holdout",
        "rules-patterns-by-rule-repartition", "rules-outcomes-by-rule-repartition",
        "pattern-windows", "rules-latest", "task-status", "merge-pending");
  }

  @Test
  void shouldPlanTrackAndLearnOnOneTopology() {
    fixture.start((topics, serdes) -> FractalTopology.build(topics, StreamsSettings.demo(),
        serdes), T0);
    var tasks = fixture.input(TopicCatalog::tasks, Task.class);
    var analyses = fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    var errors = fixture.input(TopicCatalog::errors, ErrorEvent.class);
    var outcomes = fixture.input(TopicCatalog::validationOutcomes, ValidationOutcome.class);
    TestOutputTopic<String, ActionItem> actions =
        fixture.output(TopicCatalog::actionItems, ActionItem.class);
    TestOutputTopic<String, TaskStatus> statuses =
        fixture.output(TopicCatalog::taskStatus, TaskStatus.class);
    TestOutputTopic<String, ErrorPattern> patterns =
        fixture.output(TopicCatalog::errorPatterns, ErrorPattern.class);
    TestOutputTopic<String, ProtocolRule> rules =
        fixture.output(TopicCatalog::protocolRules, ProtocolRule.class);

    for (int i = 1; i <= 10; i++) {
      String id = "task-" + i;
      tasks.pipeInput(id, aTask().setTaskId(id).build(), T0);
      for (Aspect a : PlanPolicy.ASPECTS) {
        analyses.pipeInput(id, AspectAnalysis.newBuilder().setTaskId(id).setAnalyzerId("a")
            .setAspect(a).setConfidence(1).setDurationMs(1).setAnalyzedAt(T0).build(), T0);
      }
    }
    List<ActionItem> plans = actions.readValuesToList();
    assertThat(plans).extracting(ActionItem::getType).containsOnly(ActionType.EXECUTE).hasSize(10);
    assertThat(statuses.readValuesToList()).filteredOn(s -> s.getTaskId().equals("task-1"))
        .extracting(TaskStatus::getState).endsWith(TaskState.PLANNED);

    // five pass (the guard arm's pool), five fail with the same missing import
    for (ActionItem plan : plans.subList(5, 10)) {
      outcomes.pipeInput(plan.getTaskId(), ValidationOutcome.newBuilder()
          .setTaskId(plan.getTaskId()).setActionId(plan.getActionId()).setValidatorId("v")
          .setSuccess(true).setLevelRequested(3).setLevelReached(3).setDurationMs(5)
          .setExecutionDurationMs(12).setValidatedAt(T0.plusSeconds(1)).build(), T0.plusSeconds(1));
    }
    statuses.readValuesToList();
    for (ActionItem plan : plans.subList(0, 5)) {
      errors.pipeInput(plan.getTaskId(), anErrorEvent().setErrorId("e-" + plan.getTaskId())
          .setTaskId(plan.getTaskId()).setActionId(plan.getActionId())
          .setOccurredAt(T0.plusSeconds(1)).build(), T0.plusSeconds(1));
    }
    assertThat(patterns.readValuesToList()).isNotEmpty();
    assertThat(rules.readValuesToList()).extracting(ProtocolRule::getStatus)
        .containsExactly(RuleStatus.CANDIDATE);
    List<ActionItem> trial = actions.readValuesToList();
    assertThat(trial).hasSize(15).allSatisfy(a -> assertThat(a.getTrial()).isNotNull());
    assertThat(trial).filteredOn(a -> a.getTrial().getArm() != TrialArm.GUARD)
        .extracting(a -> a.getTrial().getSourceActionId()).containsOnly("task-1:plan:1",
            "task-2:plan:1", "task-3:plan:1", "task-4:plan:1", "task-5:plan:1");
    assertThat(trial).filteredOn(a -> a.getTrial().getArm() == TrialArm.GUARD)
        .extracting(a -> a.getTrial().getSourceActionId()).containsOnly("task-6:plan:1",
            "task-7:plan:1", "task-8:plan:1", "task-9:plan:1", "task-10:plan:1");
    // trial items do not touch the task status
    assertThat(statuses.isEmpty()).isTrue();
  }
}
