package io.fractalrmo.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.demo.DemoRunner;
import io.fractalrmo.app.demo.DemoWatcher;
import io.fractalrmo.app.demo.Fault;
import io.fractalrmo.app.demo.FaultInjector;
import io.fractalrmo.app.demo.FaultedCode;
import io.fractalrmo.app.demo.HumanEvalProblems;
import io.fractalrmo.app.demo.Problem;
import io.fractalrmo.app.replay.ReplayReport;
import io.fractalrmo.app.replay.ReplayRunner;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fractal replay} end to end, on the real pipeline: a period of live traffic (missing
 * imports that failed, canonical solutions that passed) re-run under a rule file that adds the
 * import, and under no rule at all — the difference per rule, and not one live status changed.
 */
class ReplayEndToEndTest {

  private static final long TIME_LIMIT_MS = 1_000;
  private static final Duration DEADLINE = Duration.ofSeconds(120);

  @TempDir
  Path dir;

  @Test
  void shouldReplayAPeriodUnderARuleFileAndReportWhatEachRuleChangesWithoutTouchingLiveStatuses()
      throws Exception {
    List<Problem> problems = HumanEvalProblems.load();
    FaultInjector injector = new FaultInjector(21, TIME_LIMIT_MS);
    List<FaultedCode> imports = problems.stream()
        .map(p -> injector.inject(p, Fault.MISSING_IMPORT)).flatMap(Optional::stream)
        .filter(f -> f.detail().contains("from typing import")).limit(3).toList();
    List<FaultedCode> canonical = problems.stream()
        .map(p -> injector.inject(p, Fault.NONE)).flatMap(Optional::stream).limit(2).toList();
    TestStack stack = TestStack.shared(); // one broker per test JVM
    try (Pipeline pipeline = Pipeline.start(stack, dir.resolve("streams"), StreamsSettings.demo())) {
      DemoWatcher watcher = pipeline.watch("replay");
      Instant periodStart = Instant.now().minusSeconds(1);
      List<String> ids = new ArrayList<>();
      int i = 0;
      List<FaultedCode> all = new ArrayList<>(imports);
      all.addAll(canonical);
      for (FaultedCode code : all) {
        String id = "live-" + (i++) + "-" + code.problem().number();
        long now = System.currentTimeMillis();
        watcher.expect(id, now);
        pipeline.submit(id, DemoRunner.task(id, code, TIME_LIMIT_MS, Map.of("fractal.rules", "on"), now));
        ids.add(id);
      }
      long deadline = System.currentTimeMillis() + DEADLINE.toMillis();
      while (!ids.stream().allMatch(id -> watcher.outcome(id).finished())
          && System.currentTimeMillis() < deadline) {
        Thread.sleep(200); // polling the watcher's view, bounded by the deadline
      }
      assertThat(ids).allMatch(id -> watcher.outcome(id).finished());
      Map<String, List<TaskStatus>> before = statuses(pipeline, ids);

      Path rules = dir.resolve("rules.json");
      Files.writeString(rules, """
          [{"rule_id": "what-if-typing",
            "condition": {"category": "DEPENDENCY", "error_type": "NameError", "fix_key": "typing"},
            "action": {"kind": "ADD_MISSING_IMPORTS", "parameters": {"imports": "typing"}}}]
          """);
      ReplayReport withRule = new ReplayRunner(pipeline.endpoints(), pipeline.serdeConfig(),
          new ReplayRunner.Options(periodStart.toString(), rules.toString(), 10, DEADLINE),
          System.out, Clock.systemUTC()).run();
      System.out.print(withRule.toTable());
      assertThat(withRule.items()).hasSize(5);
      assertThat(withRule.unanswered()).isZero();
      assertThat(withRule.fixed()).as(withRule.toTable()).isEqualTo(3);
      assertThat(withRule.broke()).isZero();
      assertThat(withRule.rules()).containsExactly(
          new ReplayReport.RuleDiff("what-if-typing", true, 3, 3, 0, 0, 0));

      ReplayReport none = new ReplayRunner(pipeline.endpoints(), pipeline.serdeConfig(),
          new ReplayRunner.Options(periodStart.toString(), "none", 10, DEADLINE), System.out,
          Clock.systemUTC()).run();
      System.out.print(none.toTable());
      // the first replay's own actions are trial records: not part of the period
      assertThat(none.items()).hasSize(5);
      assertThat(none.fixed()).isZero();
      assertThat(none.broke()).isZero();
      assertThat(none.rules()).isEmpty();

      // not one live status moved: the replays' records are trial records
      Thread.sleep(2_000); // the status topology's commit interval is 100 ms: give it its chance
      assertThat(statuses(pipeline, ids)).isEqualTo(before);
      // and no replayed failure is evidence for a pattern: each carries its trial id
      List<ErrorEvent> replayErrors = replayErrors(pipeline);
      assertThat(replayErrors).as("the replay under no rule failed the 3 imports again")
          .hasSizeGreaterThanOrEqualTo(3)
          .allSatisfy(e -> assertThat(e.getTrialId()).startsWith("replay."));
    }
  }

  private static List<ErrorEvent> replayErrors(Pipeline pipeline) {
    Map<String, Object> p = io.fractalrmo.agentworkers.worker.KafkaClientConfigs.assignedReader(
        pipeline.endpoints().bootstrapServers(), "replay-test-errors");
    List<ErrorEvent> out = new ArrayList<>();
    String topic = pipeline.endpoints().topics().errors().name();
    try (KafkaConsumer<String, ErrorEvent> consumer = new KafkaConsumer<>(p,
        new StringDeserializer(), FractalSerdes.value(ErrorEvent.class,
            pipeline.serdeConfig()).deserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.currentTimeMillis() + 30_000;
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, ErrorEvent> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value() != null && r.value().getActionId() != null
              && r.value().getActionId().startsWith("replay.")) {
            out.add(r.value());
          }
        }
      }
    }
    return out;
  }

  /** Every status record of the tasks, read from the compacted topic's start. */
  private static Map<String, List<TaskStatus>> statuses(Pipeline pipeline, List<String> ids) {
    Map<String, Object> p = io.fractalrmo.agentworkers.worker.KafkaClientConfigs.assignedReader(
        pipeline.endpoints().bootstrapServers(), "replay-test");
    Map<String, List<TaskStatus>> out = new HashMap<>();
    String topic = pipeline.endpoints().topics().taskStatus().name();
    try (KafkaConsumer<String, TaskStatus> consumer = new KafkaConsumer<>(p,
        new StringDeserializer(), FractalSerdes.value(TaskStatus.class,
            pipeline.serdeConfig()).deserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.currentTimeMillis() + 30_000;
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, TaskStatus> r : consumer.poll(Duration.ofMillis(200))) {
          if (ids.contains(r.key())) {
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
          }
        }
      }
    }
    return out;
  }
}
