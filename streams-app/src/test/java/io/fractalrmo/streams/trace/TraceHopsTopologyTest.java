package io.fractalrmo.streams.trace;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.trace.Hop;
import io.fractalrmo.runtime.trace.SpanRecord;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.FractalTopology;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The streams app's hops of a task's trace, through the whole topology: the plan is the child of
 * the task's submission linked to each of its five analyses (the fan-in), every status the child
 * of the record that moved it, the pattern the child of the error that completed it linked to the
 * other errors it counted (the DSL's window aggregation forwards each update with the headers of
 * the event that made it), the rule the child of the pattern. A hostile header is ignored.
 */
class TraceHopsTopologyTest {

  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();

  private final Tracing tracing = Tracing.create(List.of());

  private static Headers headersOf(Hop hop) {
    Headers h = new RecordHeaders();
    hop.writeTo(h);
    return h;
  }

  private static SpanRecord hopOf(TestRecord<String, ?> r) {
    return SpanRecord.of(r.headers()).orElseThrow(() -> new AssertionError("no trace on " + r));
  }

  @Test
  void shouldCarryATasksTraceThroughPlanStatusPatternAndRule() {
    fixture.start((topics, serdes) -> FractalTopology.build(topics, StreamsSettings.demo(),
        serdes), T0);
    TestInputTopic<String, Task> tasks = fixture.input(TopicCatalog::tasks, Task.class);
    TestInputTopic<String, AspectAnalysis> analyses =
        fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    TestInputTopic<String, ErrorEvent> errors = fixture.input(TopicCatalog::errors, ErrorEvent.class);
    TestOutputTopic<String, ActionItem> actions =
        fixture.output(TopicCatalog::actionItems, ActionItem.class);
    TestOutputTopic<String, TaskStatus> statuses =
        fixture.output(TopicCatalog::taskStatus, TaskStatus.class);
    TestOutputTopic<String, ErrorPattern> patterns =
        fixture.output(TopicCatalog::errorPatterns, ErrorPattern.class);
    TestOutputTopic<String, ProtocolRule> rules =
        fixture.output(TopicCatalog::protocolRules, ProtocolRule.class);

    Map<String, Hop> submissions = new HashMap<>();
    Map<String, List<Hop>> analyzed = new HashMap<>();
    for (int i = 1; i <= 3; i++) {
      String id = "task-" + i;
      Hop submit = tracing.start("submit", "cli", new RecordHeaders());
      submissions.put(id, submit);
      Headers submitted = headersOf(submit);
      tasks.pipeInput(new TestRecord<>(id, aTask().setTaskId(id).build(), submitted, T0));
      List<Hop> five = new ArrayList<>();
      for (Aspect a : PlanPolicy.ASPECTS) {
        Hop hop = tracing.start("analyzer-" + a, "analyzer-" + a + "-h-0", submitted);
        five.add(hop);
        analyses.pipeInput(new TestRecord<>(id, AspectAnalysis.newBuilder().setTaskId(id)
            .setAnalyzerId("a").setAspect(a).setConfidence(1).setDurationMs(1).setAnalyzedAt(T0)
            .build(), headersOf(hop), T0));
      }
      analyzed.put(id, five);
    }

    List<TestRecord<String, ActionItem>> plans = actions.readRecordsToList();
    assertThat(plans).hasSize(3);
    for (TestRecord<String, ActionItem> plan : plans) {
      SpanRecord hop = hopOf(plan);
      Hop submit = submissions.get(plan.key());
      assertThat(hop.name()).isEqualTo("plan");
      assertThat(hop.agent()).contains("fractal-streams");
      assertThat(hop.traceId()).isEqualTo(submit.context().getTraceId());
      assertThat(hop.parentSpanId()).as("the plan is the child of the submission")
          .isEqualTo(submit.context().getSpanId());
      assertThat(hop.links()).as("linked to each of the five analyses").hasSize(5);
      for (Hop a : analyzed.get(plan.key())) {
        assertThat(hop.linksTo(a.context().getTraceId(), a.context().getSpanId())).isTrue();
      }
    }
    List<TestRecord<String, TaskStatus>> moved = statuses.readRecordsToList();
    assertThat(moved).isNotEmpty().allSatisfy(s -> {
      SpanRecord hop = hopOf(s);
      assertThat(hop.name()).isEqualTo("status-" + s.value().getState());
      assertThat(hop.traceId()).isEqualTo(submissions.get(s.key()).context().getTraceId());
    });

    // three failures of one kind: the third completes the pattern
    List<Hop> failing = new ArrayList<>();
    for (TestRecord<String, ActionItem> plan : plans) {
      String id = plan.key();
      Hop validate = tracing.start("validator", "validator-h-0", plan.headers());
      failing.add(validate);
      errors.pipeInput(new TestRecord<>(id, anErrorEvent().setErrorId("e-" + id).setTaskId(id)
          .setActionId(plan.value().getActionId()).setOccurredAt(T0.plusSeconds(1)).build(),
          headersOf(validate), T0.plusSeconds(1)));
    }
    List<TestRecord<String, ErrorPattern>> emitted = patterns.readRecordsToList();
    assertThat(emitted).as("one per hopping window that holds the three").isNotEmpty();
    Hop last = failing.get(2);
    List<String> patternSpans = new ArrayList<>();
    for (TestRecord<String, ErrorPattern> p : emitted) {
      SpanRecord pattern = hopOf(p);
      patternSpans.add(pattern.spanId());
      assertThat(pattern.name()).isEqualTo("pattern");
      assertThat(pattern.traceId()).as("the trace of the task whose error completed the pattern")
          .isEqualTo(last.context().getTraceId());
      assertThat(pattern.parentSpanId()).isEqualTo(last.context().getSpanId());
      assertThat(pattern.links()).hasSize(2);
      for (Hop other : failing.subList(0, 2)) {
        assertThat(pattern.linksTo(other.context().getTraceId(), other.context().getSpanId()))
            .as("linked to the other errors it counts").isTrue();
      }
    }

    List<TestRecord<String, ProtocolRule>> proposed = rules.readRecordsToList();
    assertThat(proposed).extracting(r -> r.value().getStatus()).containsExactly(RuleStatus.CANDIDATE);
    SpanRecord rule = hopOf(proposed.get(0));
    assertThat(rule.name()).isEqualTo("rule-CANDIDATE");
    assertThat(rule.traceId()).isEqualTo(last.context().getTraceId());
    assertThat(rule.parentSpanId()).as("the rule is the child of a pattern")
        .isIn(patternSpans);
  }

  @Test
  void shouldIgnoreAHostileTraceparentAndStartTheTraceAtTheTasksOrigin() {
    fixture.start((topics, serdes) -> FractalTopology.build(topics, StreamsSettings.demo(),
        serdes), T0);
    TestInputTopic<String, Task> tasks = fixture.input(TopicCatalog::tasks, Task.class);
    TestInputTopic<String, AspectAnalysis> analyses =
        fixture.input(TopicCatalog::analyses, AspectAnalysis.class);
    TestOutputTopic<String, ActionItem> actions =
        fixture.output(TopicCatalog::actionItems, ActionItem.class);
    Headers hostile = new RecordHeaders().add(Tracing.TRACEPARENT,
        ("00-" + "a".repeat(40_000)).getBytes(StandardCharsets.US_ASCII));
    hostile.add(Tracing.SPAN, "x".repeat(10_000).getBytes(StandardCharsets.US_ASCII));
    tasks.pipeInput(new TestRecord<>("t-hostile", aTask().setTaskId("t-hostile").build(), hostile, T0));
    for (Aspect a : PlanPolicy.ASPECTS) {
      analyses.pipeInput(new TestRecord<>("t-hostile", AspectAnalysis.newBuilder()
          .setTaskId("t-hostile").setAnalyzerId("a").setAspect(a).setConfidence(1)
          .setDurationMs(1).setAnalyzedAt(T0).build(), hostile, T0));
    }
    TestRecord<String, ActionItem> plan = actions.readRecord();
    SpanRecord hop = hopOf(plan);
    // a new trace: the task record's origin (what the analyzers of that record join too)
    var origin = Tracing.origin(fixture.topics().tasks().name(), 0, 0);
    assertThat(hop.traceId()).isEqualTo(origin.getTraceId());
    assertThat(hop.parentSpanId()).isEqualTo(origin.getSpanId());
    assertThat(hop.links()).hasSize(5);
    assertThat(plan.headers().toArray()).hasSize(2);
  }
}
