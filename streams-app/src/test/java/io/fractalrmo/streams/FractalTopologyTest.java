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
import io.fractalrmo.streams.merge.PlanPolicy;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The four features on one builder: wiring, names, and one pass through the learning loop. */
class FractalTopologyTest {

  private static TtdSupport support;
  @TempDir
  Path stateDir;

  @BeforeAll
  static void registry() {
    support = TtdSupport.start();
  }

  @AfterAll
  static void stopRegistry() {
    support.close();
  }

  @Test
  void shouldNameEveryNodeStoreAndInternalTopic() {
    Topology topology = FractalTopology.build(TopicCatalog.defaults(), StreamsSettings.demo(),
        support.serdes());
    String description = topology.describe().toString();
    // generated names look like KSTREAM-MERGE-0000000012 or KSTREAM-AGGREGATE-STATE-STORE-...
    assertThat(description).doesNotContainPattern("-\\d{10}");
    assertThat(description).contains("pattern-by-key-repartition", "rules-failed-by-rule-repartition",
        "rules-patterns-by-rule-repartition", "rules-outcomes-by-rule-repartition",
        "pattern-windows", "rules-latest", "task-status", "merge-pending");
  }

  @Test
  void shouldPlanTrackAndLearnOnOneTopology() {
    TopicCatalog topics = TtdSupport.uniqueTopics();
    RecordSerdes serdes = support.serdes();
    try (TopologyTestDriver driver = TtdSupport.driver(FractalTopology.build(topics,
        StreamsSettings.demo(), serdes), topics, stateDir, T0)) {
      var tasks = support.input(driver, topics.tasks(), Task.class, serdes);
      var analyses = support.input(driver, topics.analyses(), AspectAnalysis.class, serdes);
      var errors = support.input(driver, topics.errors(), ErrorEvent.class, serdes);
      TestOutputTopic<String, ActionItem> actions =
          support.output(driver, topics.actionItems(), ActionItem.class, serdes);
      TestOutputTopic<String, TaskStatus> statuses =
          support.output(driver, topics.taskStatus(), TaskStatus.class, serdes);
      TestOutputTopic<String, ErrorPattern> patterns =
          support.output(driver, topics.errorPatterns(), ErrorPattern.class, serdes);
      TestOutputTopic<String, ProtocolRule> rules =
          support.output(driver, topics.protocolRules(), ProtocolRule.class, serdes);

      for (int i = 1; i <= 3; i++) {
        String id = "task-" + i;
        tasks.pipeInput(id, aTask().setTaskId(id).build(), T0);
        for (Aspect a : PlanPolicy.ASPECTS) {
          analyses.pipeInput(id, AspectAnalysis.newBuilder().setTaskId(id).setAnalyzerId("a")
              .setAspect(a).setConfidence(1).setDurationMs(1).setAnalyzedAt(T0).build(), T0);
        }
      }
      List<ActionItem> plans = actions.readValuesToList();
      assertThat(plans).extracting(ActionItem::getType).containsOnly(ActionType.EXECUTE).hasSize(3);
      assertThat(statuses.readValuesToList()).filteredOn(s -> s.getTaskId().equals("task-1"))
          .extracting(TaskStatus::getState).endsWith(TaskState.PLANNED);

      // the executor fails all three with the same missing import
      for (ActionItem plan : plans) {
        errors.pipeInput(plan.getTaskId(), anErrorEvent().setErrorId("e-" + plan.getTaskId())
            .setTaskId(plan.getTaskId()).setActionId(plan.getActionId())
            .setOccurredAt(T0.plusSeconds(1)).build(), T0.plusSeconds(1));
      }
      assertThat(patterns.readValuesToList()).hasSize(3);
      assertThat(rules.readValuesToList()).extracting(ProtocolRule::getStatus)
          .containsExactly(RuleStatus.CANDIDATE);
      List<ActionItem> trial = actions.readValuesToList();
      assertThat(trial).hasSize(6).allSatisfy(a -> assertThat(a.getTrial()).isNotNull());
      assertThat(trial).extracting(a -> a.getTrial().getSourceActionId())
          .containsOnly("task-1:plan:1", "task-2:plan:1", "task-3:plan:1");
      // trial items do not touch the task status
      assertThat(statuses.isEmpty()).isTrue();
    }
  }
}
