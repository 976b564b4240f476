package io.fractalrmo.streams.rules;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanMergeTopology;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The live holdout: a deterministic share of tasks planned without rules. */
class HoldoutTest {

  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();

  @Test
  void shouldHoldOutAboutTheConfiguredShareAndAlwaysTheSameTasks() {
    Holdout h = new Holdout(0.05);
    List<String> ids = IntStream.range(0, 20_000).mapToObj(i -> "task-" + i).toList();
    long held = ids.stream().filter(h::heldOut).count();
    // 5 % of 20 000 = 1 000; a binomial's sd is ~31
    assertThat(held).isBetween(880L, 1_120L);
    assertThat(ids.stream().filter(h::heldOut).toList())
        .isEqualTo(ids.stream().filter(new Holdout(0.05)::heldOut).toList());
    assertThat(ids).noneMatch(new Holdout(0)::heldOut);
    assertThat(ids).allMatch(new Holdout(1)::heldOut);
  }

  @Test
  void shouldPlanHeldOutTasksWithRulesOffAndLeaveAnUpstreamChoiceAlone() {
    StreamsSettings demo = StreamsSettings.demo();
    StreamsSettings.Rules r = demo.rules();
    StreamsSettings settings = demo.withRules(new StreamsSettings.Rules(r.confidenceBar(),
        r.trial(), new StreamsSettings.Live(0.5, r.live().minHoldout(), r.live().window(),
            r.live().minHurt(), r.live().alpha(), r.live().reportInterval()), r.retireAfter(),
        r.punctuateInterval(), r.failedActionsKept(), r.actionRetention()));
    fixture.start((topics, serdes) -> PlanMergeTopology.build(topics, settings, serdes), T0);
    TestInputTopic<String, Task> tasks = fixture.input(TopicCatalog::tasks, Task.class);
    TestInputTopic<String, AspectAnalysis> analyses =
        fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    TestOutputTopic<String, ActionItem> plans =
        fixture.output(TopicCatalog::actionItems, ActionItem.class);
    Holdout holdout = new Holdout(0.5);
    List<String> heldOut = IntStream.range(0, 100).mapToObj(i -> "t-" + i)
        .filter(holdout::heldOut).limit(2).toList();
    String held = heldOut.get(0);
    String chose = heldOut.get(1);
    String kept = IntStream.range(0, 100).mapToObj(i -> "t-" + i)
        .filter(id -> !holdout.heldOut(id)).findFirst().orElseThrow();
    for (String id : List.of(held, kept)) {
      plan(tasks, analyses, aTask().setTaskId(id).setAttributes(Map.of("team", "a")).build());
    }
    // an upstream that says fractal.rules itself (the demo's arms) is never overridden
    plan(tasks, analyses, aTask().setTaskId(chose).setAttributes(
        Map.of(PlanPolicy.RULES_ATTRIBUTE, "on")).build());

    Map<String, ActionItem> byTask = new java.util.HashMap<>();
    plans.readValuesToList().forEach(p -> byTask.put(p.getTaskId(), p));
    assertThat(byTask.get(held).getAttributes()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "team", "a", PlanPolicy.RULES_ATTRIBUTE, "off", Holdout.HOLDOUT_ATTRIBUTE, "true"));
    assertThat(byTask.get(kept).getAttributes()).containsExactlyEntriesOf(Map.of("team", "a"));
    assertThat(byTask.get(chose).getAttributes())
        .containsExactlyEntriesOf(Map.of(PlanPolicy.RULES_ATTRIBUTE, "on"));
  }

  private static void plan(TestInputTopic<String, Task> tasks,
      TestInputTopic<String, AspectAnalysis> analyses, Task task) {
    tasks.pipeInput(task.getTaskId(), task, T0);
    for (Aspect a : PlanPolicy.ASPECTS) {
      analyses.pipeInput(task.getTaskId(), AspectAnalysis.newBuilder().setTaskId(task.getTaskId())
          .setAnalyzerId("a").setAspect(a).setConfidence(1).setDurationMs(1).setAnalyzedAt(T0)
          .build(), T0);
    }
  }
}
