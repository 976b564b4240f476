package io.fractalrmo.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.demo.DemoRunner;
import io.fractalrmo.app.demo.DemoWatcher;
import io.fractalrmo.app.demo.Fault;
import io.fractalrmo.app.demo.FaultInjector;
import io.fractalrmo.app.demo.FaultedCode;
import io.fractalrmo.app.demo.HumanEvalProblems;
import io.fractalrmo.app.demo.Problem;
import io.fractalrmo.app.demo.RuleView;
import io.fractalrmo.app.demo.TaskOutcome;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learning loop on the real broker, registry, agent workers and streams app (issue 6): a
 * burst of one fixable fault becomes a pattern, a CANDIDATE rule, a trial through the executors
 * (the failures without and with the rule, passing tasks with it) and an ACTIVE rule that the
 * executor then applies so that a later task with the same fault succeeds; a burst of wrong
 * results yields no ACTIVE rule (a PROMPT_GUIDELINE cannot show anything on given code).
 */
class LearningLoopTest {

  private static final long TIME_LIMIT_MS = 1_000;
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @TempDir
  static Path stateDir;
  private static TestStack stack;
  private static Pipeline pipeline;
  private static DemoWatcher watcher;
  private static List<Problem> problems;
  private static final FaultInjector INJECTOR = new FaultInjector(11, TIME_LIMIT_MS);

  @BeforeAll
  static void startPipeline() {
    problems = HumanEvalProblems.load();
    stack = TestStack.shared(); // one broker per test JVM; stopped when the JVM exits
    pipeline = Pipeline.start(stack, stateDir, StreamsSettings.demo());
    watcher = pipeline.watch("loop");
  }

  @AfterAll
  static void stopPipeline() {
    if (pipeline != null) {
      pipeline.close(); // its watcher and producer too
    }
  }

  @Test
  void shouldLearnARuleFromABurstOfMissingImportsThatMakesALaterTaskSucceed() throws Exception {
    List<FaultedCode> typing = problems.stream()
        .map(p -> INJECTOR.inject(p, Fault.MISSING_IMPORT)).flatMap(Optional::stream)
        .filter(f -> f.detail().contains("from typing import")).toList();
    // passing tasks first: the trial's GUARD arm re-runs recent successes with the rule
    List<FaultedCode> canonical = problems.stream()
        .map(p -> INJECTOR.inject(p, Fault.NONE)).flatMap(Optional::stream).limit(5).toList();
    submit("ok", canonical);
    List<String> burst = submit("imp", typing.subList(0, 6));

    RuleView active = await("an ACTIVE rule for DEPENDENCY|NameError|typing", () ->
        watcher.rules().values().stream()
            .filter(r -> r.patternKey().startsWith("DEPENDENCY|NameError") && r.active())
            .findFirst());
    assertThat(watcher.patterns()).anySatisfy(p ->
        assertThat(p.patternKey()).startsWith("DEPENDENCY|NameError"));
    assertThat(active.action()).isEqualTo("ADD_MISSING_IMPORTS");
    assertThat(active.trial()).isNotNull();
    assertThat(active.trial().sampleSize()).isGreaterThanOrEqualTo(3);
    assertThat(active.trial().guardSize()).isGreaterThanOrEqualTo(3);
    assertThat(active.trial().guardFailures()).isZero();
    assertThat(active.trial().errorRateWith()).isLessThan(active.trial().errorRateWithout());
    assertThat(active.trial().pValue()).isLessThanOrEqualTo(active.trial().alpha());
    assertThat(trialsOf(active.ruleId())).as("RuleTrial records on Kafka").isNotEmpty();
    for (String id : burst) {
      assertThat(watcher.outcome(id).finished()).isTrue();
      assertThat(watcher.outcome(id).succeeded()).as("%s ran before the rule", id).isFalse();
    }

    // A later task with the same fault: the executor reads the ACTIVE rule and fixes it.
    String later = submit("imp-later", List.of(typing.get(typing.size() - 1))).get(0);
    TaskOutcome outcome = await("the later task's final state", () ->
        Optional.of(watcher.outcome(later)).filter(TaskOutcome::finished));
    assertThat(outcome.state()).as(outcome.toString()).isEqualTo("SUCCEEDED");
    assertThat(outcome.appliedRuleIds()).contains(active.ruleId());
  }

  @Test
  void shouldAdoptNoRuleFromABurstOfWrongResults() throws Exception {
    List<FaultedCode> wrong = problems.stream()
        .map(p -> INJECTOR.inject(p, Fault.WRONG_RESULT)).flatMap(Optional::stream)
        .limit(6).toList();
    List<String> burst = submit("wrong", wrong);

    await("the wrong results' final states", () ->
        burst.stream().allMatch(id -> watcher.outcome(id).finished())
            ? Optional.of(true) : Optional.empty());
    assertThat(burst).allSatisfy(id -> assertThat(watcher.outcome(id).state())
        .isEqualTo("FAILED"));
    // The pattern appears and its rule is tried; the trial must not adopt it.
    RuleView decided = await("the LOGIC rule's trial verdict", () ->
        watcher.rules().values().stream()
            .filter(r -> "LOGIC".equals(r.category()) && !"CANDIDATE".equals(r.status()))
            .findFirst());
    assertThat(decided.status()).as(decided.toString()).isEqualTo("REJECTED");
    assertThat(watcher.rules().values()).noneMatch(r -> "LOGIC".equals(r.category())
        && r.active());
  }

  private List<String> submit(String prefix, List<FaultedCode> codes) throws Exception {
    List<String> ids = new ArrayList<>();
    int i = 0;
    for (FaultedCode code : codes) {
      String id = prefix + "-" + (i++) + "-" + code.problem().number();
      long now = System.currentTimeMillis();
      watcher.expect(id, now);
      // "on" said explicitly: never picked for the live holdout
      pipeline.submit(id, DemoRunner.task(id, code, TIME_LIMIT_MS, Map.of("fractal.rules", "on"), now));
      ids.add(id);
    }
    return ids;
  }

  private List<RuleTrial> trialsOf(String ruleId) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<RuleTrial> trials = new ArrayList<>();
    try (KafkaConsumer<String, RuleTrial> consumer = new KafkaConsumer<>(p,
        new StringDeserializer(),
        FractalSerdes.value(RuleTrial.class, pipeline.serdeConfig()).deserializer())) {
      String topic = pipeline.endpoints().topics().ruleTrials().name();
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.currentTimeMillis() + 10_000;
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> {
          if (r.value() != null && ruleId.equals(r.value().getRuleId())) {
            trials.add(r.value());
          }
        });
      }
    }
    return trials;
  }

  private static <T> T await(String what, Supplier<Optional<T>> condition)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + DEADLINE.toMillis();
    while (System.currentTimeMillis() < deadline) {
      Optional<T> value = condition.get();
      if (value.isPresent()) {
        return value.get();
      }
      assertThat(watcher.failure()).isNull();
      Thread.sleep(200); // polling the watcher's view of the topics, bounded by the deadline
    }
    throw new AssertionError("no " + what + " within " + DEADLINE.toSeconds() + " s; rules: "
        + watcher.rules().values() + "; patterns: " + watcher.patterns());
  }
}
