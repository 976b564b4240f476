package io.fractalrmo.streams.merge;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.CommitPacer;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PlanMergeTopologyTest {

  /** The demo's settings with an explicit 3 s bound: the edge cases below are timed against it. */
  private static final StreamsSettings SETTINGS = StreamsSettings.demo().withMerge(
      new StreamsSettings.Merge(Duration.ofSeconds(3), Duration.ofMillis(500), Duration.ofHours(1),
          Duration.ofMinutes(10)));

  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private TopologyTestDriver driver;
  private TestInputTopic<String, Task> tasks;
  private TestInputTopic<String, AspectAnalysis> analyses;
  private TestOutputTopic<String, ActionItem> plans;

  @BeforeEach
  void setUp() {
    driver = fixture.start((topics, serdes) -> PlanMergeTopology.build(topics, SETTINGS, serdes),
        T0);
    tasks = fixture.input(TopicCatalog::tasks, Task.class);
    analyses = fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    plans = fixture.output(TopicCatalog::actionItems, ActionItem.class);
  }

  static AspectAnalysis analysis(String taskId, Aspect aspect, Finding... issues) {
    return AspectAnalysis.newBuilder().setTaskId(taskId).setAnalyzerId("analyzer-" + aspect)
        .setAspect(aspect).setConfidence(0.9).setIssues(List.of(issues))
        .setRecommendations(List.of()).setProposedActions(List.of()).setDurationMs(3)
        .setAnalyzedAt(T0).setError(null).build();
  }

  static Finding finding(Aspect aspect, Severity severity, String type) {
    return Finding.newBuilder().setType(type).setSeverity(severity).setLine(1)
        .setDescription(type).setAspect(aspect).setBlocking(false).build();
  }

  private void allFive(String taskId, Instant at) {
    for (Aspect a : PlanPolicy.ASPECTS) {
      analyses.pipeInput(taskId, analysis(taskId, a), at);
    }
  }

  @Test
  void shouldPlanAsSoonAsTheTaskAndAllFiveAnalysesArrived() {
    tasks.pipeInput("task-1", aTask().setTimeLimitMs(2_000L).setMemoryLimitMb(128).build(), T0);
    assertThat(plans.isEmpty()).isTrue();
    allFive("task-1", T0.plusMillis(50));

    List<TestRecord<String, ActionItem>> out = plans.readRecordsToList();
    assertThat(out).hasSize(1);
    ActionItem plan = out.get(0).value();
    assertThat(out.get(0).key()).isEqualTo("task-1");
    assertThat(plan.getActionId()).isEqualTo("task-1:plan:1");
    assertThat(plan.getType()).isEqualTo(ActionType.EXECUTE);
    assertThat(plan.getMissingAspects()).isEmpty();
    assertThat(plan.getConstraints().getTimeoutMs()).isEqualTo(2_000L);
    assertThat(plan.getConstraints().getMemoryMb()).isEqualTo(128);
    assertThat(plan.getConstraints().getNetworkAllowed()).isFalse();
    assertThat(plan.getInput().getCode()).isEqualTo(aTask().build().getCode());
    assertThat(plan.getTrial()).isNull();
  }

  @Test
  void shouldCopyTheTaskAttributesToThePlan() {
    tasks.pipeInput("task-1", aTask().setAttributes(Map.of(PlanPolicy.RULES_ATTRIBUTE, "off",
        "demo.arm", "RULES_OFF")).build(), T0);
    tasks.pipeInput("task-2", aTask().setTaskId("task-2").build(), T0);
    allFive("task-1", T0);
    allFive("task-2", T0);

    assertThat(plans.readKeyValuesToList()).satisfiesExactly(
        kv -> assertThat(kv.value.getAttributes()).containsExactlyInAnyOrderEntriesOf(
            Map.of("fractal.rules", "off", "demo.arm", "RULES_OFF")),
        kv -> assertThat(kv.value.getAttributes()).isEqualTo(
            aTask().setTaskId("task-2").build().getAttributes()));
  }

  @Test
  void shouldWaitLongerThanThreeSecondsForAnalysesInTheDemo() {
    // The demo shares 2 cores among every role: 3 s planned most tasks of a 100-task burst
    // without their analyses. The shipped demo bound must leave room for that queue.
    assertThat(StreamsSettings.demo().merge().analysisTimeout())
        .isGreaterThanOrEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void shouldPlanWhenAnalysesArriveBeforeTheTask() {
    allFive("task-1", T0);
    assertThat(plans.isEmpty()).isTrue();
    tasks.pipeInput("task-1", aTask().build(), T0.plusMillis(10));
    assertThat(plans.readValuesToList()).singleElement()
        .satisfies(p -> assertThat(p.getMissingAspects()).isEmpty());
  }

  @Test
  void shouldPlanFromWhatArrivedOnceStreamTimePassesTheBound() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SYNTAX), T0.plusMillis(10));
    analyses.pipeInput("task-1", analysis("task-1", Aspect.LOGIC), T0.plusMillis(20));
    assertThat(plans.isEmpty()).isTrue();
    // another task's record moves stream time 3 s past task-1's first record
    tasks.pipeInput("task-2", aTask().setTaskId("task-2").build(), T0.plusSeconds(3));

    assertThat(plans.readKeyValuesToList()).singleElement().satisfies(kv -> {
      assertThat(kv.key).isEqualTo("task-1");
      assertThat(kv.value.getMissingAspects()).containsExactly(Aspect.DEPENDENCY,
          Aspect.SECURITY, Aspect.PERFORMANCE);
    });
  }

  @Test
  void shouldPlanByWallClockWhenStreamTimeStands() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SECURITY), T0);
    driver.advanceWallClockTime(Duration.ofMillis(2_900));
    assertThat(plans.isEmpty()).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(200));
    assertThat(plans.readValuesToList()).singleElement()
        .satisfies(p -> assertThat(p.getMissingAspects()).hasSize(4));
  }

  @Test
  void shouldIgnoreAnalysesAndTasksThatArriveAfterThePlan() {
    tasks.pipeInput("task-1", aTask().build(), T0);
    driver.advanceWallClockTime(Duration.ofSeconds(4));
    assertThat(plans.readValuesToList()).hasSize(1);

    analyses.pipeInput("task-1", analysis("task-1", Aspect.SYNTAX), T0.plusSeconds(5));
    tasks.pipeInput("task-1", aTask().build(), T0.plusSeconds(5));
    driver.advanceWallClockTime(Duration.ofSeconds(4));
    assertThat(plans.isEmpty()).isTrue();
  }

  @Test
  void shouldBlockATaskWithAHighSeveritySecurityFinding() {
    tasks.pipeInput("task-1", aTask().setCode("import os\nos.system('rm -rf /')\n").build(), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SECURITY,
        finding(Aspect.SECURITY, Severity.HIGH, "OS_SYSTEM_CALL")), T0);
    for (Aspect a : List.of(Aspect.SYNTAX, Aspect.LOGIC, Aspect.DEPENDENCY, Aspect.PERFORMANCE)) {
      analyses.pipeInput("task-1", analysis("task-1", a), T0);
    }
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.BLOCK);
    assertThat(plan.getFindings()).extracting(Finding::getType).containsExactly("OS_SYSTEM_CALL");
  }

  @Test
  void shouldStillExecuteWhenOnlyASyntaxOrLowSecurityFindingIsThere() {
    tasks.pipeInput("task-1", aTask().setCode("def add(a, b)\n  return a + b\n").build(), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SYNTAX,
        finding(Aspect.SYNTAX, Severity.HIGH, "SYNTAX_ERROR")), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SECURITY,
        finding(Aspect.SECURITY, Severity.LOW, "FILE_READ")), T0);
    driver.advanceWallClockTime(Duration.ofSeconds(4));
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.EXECUTE);
    assertThat(plan.getFindings()).extracting(Finding::getType)
        .containsExactlyInAnyOrder("SYNTAX_ERROR", "FILE_READ");
  }

  @Test
  void shouldRecordButNotBlockAnEvalOfABuiltString() {
    // HumanEval/160 evaluates the expression it assembled: harmless when the sandbox confines it
    tasks.pipeInput("task-1", aTask().build(), T0);
    analyses.pipeInput("task-1", analysis("task-1", Aspect.SECURITY,
        finding(Aspect.SECURITY, Severity.HIGH, "EVAL_CALL")), T0);
    for (Aspect a : List.of(Aspect.SYNTAX, Aspect.LOGIC, Aspect.DEPENDENCY, Aspect.PERFORMANCE)) {
      analyses.pipeInput("task-1", analysis("task-1", a), T0);
    }
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.EXECUTE);
    assertThat(plan.getFindings()).extracting(Finding::getType).containsExactly("EVAL_CALL");
  }

  @Test
  void shouldRejectAnInjectedEntryPointAtOnceWithoutWaitingForAnalyses() {
    tasks.pipeInput("task-1", aTask().setEntryPoint("f); import os; os.system('id'").build(), T0);
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.BLOCK);
    assertThat(plan.getInput().getEntryPoint()).isNull();
    assertThat(plan.getFindings()).singleElement().satisfies(f -> {
      assertThat(f.getType()).isEqualTo("CONTRACT_VIOLATION");
      assertThat(f.getBlocking()).isTrue();
      assertThat(f.getDescription()).startsWith("entry-point: ").contains("not a Python identifier");
    });
    assertThat(PlanPolicy.rejectionReason(plan)).contains("breaks its input contract")
        .contains("not a Python identifier");
    assertThat(PlanPolicy.rejectionCategory(plan)).isNull();
    // the analyses that come later are late: no second plan
    allFive("task-1", T0.plusMillis(5));
    assertThat(plans.isEmpty()).isTrue();
  }

  @Test
  void shouldRejectOversizedCodeWithoutCarryingItInTheAction() {
    String big = "x = 1\n".repeat(150_000); // 900 KB
    tasks.pipeInput("task-1", aTask().setCode(big).build(), T0);
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.BLOCK);
    assertThat(plan.getInput().getCode()).isNull();
    assertThat(plan.getInput().getTestCode()).isEqualTo(aTask().build().getTestCode());
    assertThat(plan.getFindings()).singleElement().satisfies(f -> assertThat(f.getDescription())
        .contains("900000 bytes").contains("limits.max-code-bytes"));
  }

  @Test
  void shouldClipTimeAndMemoryToTheMaximaAndRecordTheRequest() {
    tasks.pipeInput("task-1", aTask().setTimeLimitMs(1_200_000L).setMemoryLimitMb(8_192).build(), T0);
    allFive("task-1", T0);
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.EXECUTE);
    assertThat(plan.getConstraints().getTimeoutMs()).isEqualTo(60_000L);
    assertThat(plan.getConstraints().getRequestedTimeoutMs()).isEqualTo(1_200_000L);
    assertThat(plan.getConstraints().getMemoryMb()).isEqualTo(1_024);
    assertThat(plan.getConstraints().getRequestedMemoryMb()).isEqualTo(8_192);
    assertThat(plan.getConstraints().getMaxOutputBytes()).isEqualTo(64 * 1024);
  }

  @Test
  void shouldPlanUnderTheOperatorsLimits() {
    InputLimits tight = InputLimits.fromSettings(Map.of("limits.max-time-limit-ms", "3000",
        "limits.max-output-bytes", "1000"));
    ActionItem plan = PlanPolicy.plan(aTask().setTimeLimitMs(5_000L).build(), Map.of(), 0, tight);
    assertThat(plan.getConstraints().getTimeoutMs()).isEqualTo(3_000L);
    assertThat(plan.getConstraints().getRequestedTimeoutMs()).isEqualTo(5_000L);
    assertThat(plan.getConstraints().getMaxOutputBytes()).isEqualTo(1_000);
    ActionItem within = PlanPolicy.plan(aTask().setTimeLimitMs(2_000L).build(), Map.of(), 0, tight);
    assertThat(within.getConstraints().getRequestedTimeoutMs()).isNull();
  }

  @Test
  void shouldAskToGenerateCodeWhenTheTaskHasNone() {
    tasks.pipeInput("task-1", aTask().setCode(null).setDescription("write add").build(), T0);
    allFive("task-1", T0);
    ActionItem plan = plans.readValue();
    assertThat(plan.getType()).isEqualTo(ActionType.GENERATE_CODE);
    assertThat(plan.getInput().getPrompt()).isEqualTo("write add");
  }

  @Test
  void shouldSkipUndeserializableBytesAndGoOn() {
    // The DLQ record itself is checked on a real broker (StreamsRoleIT): the test driver does
    // not hand dead-letter records of the deserialization path to its output topics.
    TestInputTopic<String, byte[]> raw = driver.createInputTopic(fixture.topics().tasks().name(),
        Serdes.String().serializer(), Serdes.ByteArray().serializer());
    raw.pipeInput("task-bad", "not avro".getBytes(StandardCharsets.UTF_8), T0);
    tasks.pipeInput("task-1", aTask().build(), T0);
    allFive("task-1", T0);
    assertThat(plans.readValuesToList()).hasSize(1);
  }

  /**
   * What the processor remembers of a task's analyses lives in memory beside the stores: a
   * processor that starts on stores holding part of a task (a restart, a rebalance, a revived
   * task) reads them back, and plans the task once the rest arrives, with every analysis.
   */
  @Test
  void shouldPlanATaskWhoseAnalysesArrivedPartlyBeforeARestart() {
    MockProcessorContext<String, ActionItem> context = new MockProcessorContext<>();
    store(context, PlanMergeTopology.TASKS_STORE, fixture.serdes().value(Task.class));
    store(context, PlanMergeTopology.ANALYSES_STORE, fixture.serdes().value(AspectAnalysis.class));
    store(context, PlanMergeTopology.PENDING_STORE, new PendingPlanSerde());
    store(context, PlanMergeTopology.PLANNED_STORE, Serdes.Long());
    store(context, PlanMergeTopology.TRACES_STORE, Serdes.String());
    long t0 = T0.toEpochMilli();
    context.setCurrentSystemTimeMs(t0);
    context.setCurrentStreamTimeMs(t0);

    PlanMergeProcessor before = processor();
    before.init(context);
    before.process(new Record<>("task-1", aTask().build(), t0));
    List<Aspect> aspects = List.copyOf(PlanPolicy.ASPECTS);
    for (Aspect a : aspects.subList(0, 3)) {
      before.process(new Record<>("task-1", analysis("task-1", a), t0 + 10));
    }
    assertThat(context.forwarded()).isEmpty();

    PlanMergeProcessor after = processor(); // the same stores, nothing in memory
    after.init(context);
    after.process(new Record<>("task-1", analysis("task-1", aspects.get(3)), t0 + 20));
    assertThat(context.forwarded()).as("four of five analyses stored: not yet").isEmpty();
    after.process(new Record<>("task-1", analysis("task-1", aspects.get(4)), t0 + 30));
    assertThat(context.forwarded()).singleElement().satisfies(f ->
        assertThat(f.record().value().getMissingAspects()).isEmpty());
  }

  private static PlanMergeProcessor processor() {
    return new PlanMergeProcessor(SETTINGS.merge(), CommitPacer.defaults(),
        new AnalyzerLiveness(), Tracing.off());
  }

  private static <V> void store(MockProcessorContext<String, ActionItem> context, String name,
      Serde<V> values) {
    KeyValueStore<String, V> store =
        Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), Serdes.String(),
            // the mock gives every store one changelog name: a subject of its own per store
            Serdes.serdeFrom((topic, v) -> values.serializer().serialize(name, v),
                (topic, bytes) -> values.deserializer().deserialize(name, bytes)))
            .withLoggingDisabled().build();
    store.init(context.getStateStoreContext(), store);
    context.addStateStore(store);
  }

  /**
   * Past its deadline a task waits for an aspect that is behind (its analyses of other tasks keep
   * arriving), not for one that is gone, skipped the task, or keeps it waiting too long.
   */
  @Nested
  class AnAspectThatIsBehind {

    /** task-1 and all its analyses but PERFORMANCE's, at T0. */
    private void taskOneWithoutPerformance() {
      tasks.pipeInput("task-1", aTask().build(), T0);
      for (Aspect a : PlanPolicy.ASPECTS) {
        if (a != Aspect.PERFORMANCE) {
          analyses.pipeInput("task-1", analysis("task-1", a), T0);
        }
      }
    }

    /** PERFORMANCE's analysis of another task of the same burst (its first record at T0). */
    private void performanceAnalyses(String taskId) {
      tasks.pipeInput(taskId, aTask().setTaskId(taskId).build(), T0);
      analyses.pipeInput(taskId, analysis(taskId, Aspect.PERFORMANCE), T0);
    }

    private List<ActionItem> plansOfTaskOne() {
      return plans.readKeyValuesToList().stream().filter(kv -> kv.key.equals("task-1"))
          .map(kv -> kv.value).toList();
    }

    @Test
    void shouldWaitPastTheDeadlineWhileItsAnalysesOfOtherTasksArrive() {
      taskOneWithoutPerformance();
      driver.advanceWallClockTime(Duration.ofSeconds(2));
      performanceAnalyses("task-2");
      driver.advanceWallClockTime(Duration.ofSeconds(2)); // 4 s: past the 3 s deadline
      assertThat(plansOfTaskOne()).isEmpty();

      analyses.pipeInput("task-1", analysis("task-1", Aspect.PERFORMANCE), T0);
      assertThat(plansOfTaskOne()).singleElement()
          .satisfies(p -> assertThat(p.getMissingAspects()).isEmpty());
    }

    @Test
    void shouldPlanWithoutItOnceItFellSilentForATimeout() {
      taskOneWithoutPerformance();
      driver.advanceWallClockTime(Duration.ofSeconds(2));
      performanceAnalyses("task-2"); // heard at 2 s
      driver.advanceWallClockTime(Duration.ofMillis(2_500)); // 4.5 s: heard 2.5 s ago
      assertThat(plansOfTaskOne()).isEmpty();
      driver.advanceWallClockTime(Duration.ofMillis(1_000)); // 5.5 s: silent for 3.5 s
      assertThat(plansOfTaskOne()).singleElement()
          .satisfies(p -> assertThat(p.getMissingAspects()).containsExactly(Aspect.PERFORMANCE));
    }

    @Test
    void shouldPlanWithoutItOnceItAnalysedATaskThatCameATimeoutLater() {
      taskOneWithoutPerformance();
      performanceAnalyses("task-2");
      // a task 3.5 s later moves stream time past task-1's deadline; PERFORMANCE is working
      tasks.pipeInput("task-9", aTask().setTaskId("task-9").build(), T0.plusMillis(3_500));
      assertThat(plansOfTaskOne()).isEmpty();
      // ... and has analysed task-9 without task-1: it skipped task-1
      analyses.pipeInput("task-9", analysis("task-9", Aspect.PERFORMANCE), T0.plusMillis(3_500));
      driver.advanceWallClockTime(Duration.ofMillis(500)); // the next check of the deadlines
      assertThat(plansOfTaskOne()).singleElement()
          .satisfies(p -> assertThat(p.getMissingAspects()).containsExactly(Aspect.PERFORMANCE));
    }

    @Test
    void shouldWaitAtMostEightTimeoutsInAll() {
      taskOneWithoutPerformance();
      int n = 0;
      for (int s = 2; s <= 22; s += 2) { // PERFORMANCE heard every 2 s, never for task-1
        driver.advanceWallClockTime(Duration.ofSeconds(2));
        performanceAnalyses("task-" + (10 + n++));
      }
      assertThat(plansOfTaskOne()).isEmpty(); // 22 s
      driver.advanceWallClockTime(Duration.ofMillis(2_500)); // 24.5 s: 8 x 3 s passed
      assertThat(plansOfTaskOne()).singleElement()
          .satisfies(p -> assertThat(p.getMissingAspects()).containsExactly(Aspect.PERFORMANCE));
    }
  }
}
