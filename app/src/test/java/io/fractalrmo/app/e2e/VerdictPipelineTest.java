package io.fractalrmo.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.executor.SandboxConfinement;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.app.demo.DemoWatcher;
import io.fractalrmo.app.demo.HumanEvalProblems;
import io.fractalrmo.app.demo.Problem;
import io.fractalrmo.app.demo.TaskOutcome;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleEvidence;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Verdicts that cannot be forged and inputs that cannot break the pipeline, through the real
 * pipeline (broker, registry, analyzers, streams app, executors, validator), judged on
 * {@code fractal.task-status} as an upstream system sees it.
 *
 * <ul>
 *   <li><b>Cheats</b>: a wrong solution that ends its process early (status 0) in every way we
 *       know ends FAILED; the honest solution of the same problem SUCCEEDS. These need the
 *       sandbox's harness to prove that the tests ran to their end (until it replaces the INTERIM
 *       evidence read off the exit status, the early exits pass, and this test says so).</li>
 *   <li><b>Inputs</b>: an injected entry point, a forbidden call only in the tests, 900 KB of
 *       code, a 20-minute time limit: each ends with a clear status and reason; the 20-minute
 *       limit is clipped to the operator's maximum and the clip recorded.</li>
 *   <li><b>Blocks</b>: a BLOCK plan and a BLOCK_AND_ALERT rule end REJECTED, never SUCCEEDED;
 *       HumanEval/160's canonical solution (an eval() of the expression it built) SUCCEEDS when
 *       the sandbox confines it.</li>
 * </ul>
 * All tasks are submitted at once; a clean task submitted after the hostile ones must still
 * succeed.
 */
class VerdictPipelineTest {

  private static final long TIME_LIMIT_MS = 2_000;
  /** The operator's maximum in this pipeline (a 20-minute request is clipped to it). */
  private static final long MAX_TIME_LIMIT_MS = 3_000;
  private static final Duration DEADLINE = Duration.ofSeconds(120);
  private static final String RULE_ID = "block-and-alert.test.hardcoded-secret";

  static final String HONEST = "def add(a, b):\n    return a + b\n";
  static final String TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
      + "    assert candidate(-1, 1) == 0\n    assert candidate(0, 0) == 0\n";
  static final String WRONG = "def add(a, b):\n    return a - b\n";

  /** Early exits and other ways a wrong solution may try to end "successfully". */
  static List<Object[]> cheats() {
    List<Object[]> c = new ArrayList<>();
    c.add(cheat("sys.exit(0) at module level", "import sys\n" + WRONG + "sys.exit(0)\n"));
    c.add(cheat("os._exit(0) at module level", "import os\n" + WRONG + "os._exit(0)\n"));
    c.add(cheat("raise SystemExit inside the function under test",
        "def add(a, b):\n    raise SystemExit\n"));
    c.add(cheat("sys.exit() (status None) inside the function under test",
        "import sys\ndef add(a, b):\n    sys.exit()\n"));
    c.add(cheat("a thread calls os._exit(0) while the tests run",
        "import os, threading, time\ndef add(a, b):\n    time.sleep(0.3)\n    return a - b\n"
            + "def _bail():\n    time.sleep(0.1)\n    os._exit(0)\n"
            + "threading.Thread(target=_bail, daemon=True).start()\n"));
    c.add(cheat("fork: the parent exits 0, the child runs the failing tests",
        "import os\n" + WRONG + "if os.fork() != 0:\n    os._exit(0)\n"));
    c.add(cheat("a forged success report on every inherited descriptor, then os._exit(0)",
        "import json, os\n" + WRONG + "_r = json.dumps({'exit_code': 0, 'timed_out': False, 'error': None, "
            + "'stdout': '', 'stdout_size': 0, 'stderr': '', 'stderr_size': 0, 'duration_ms': 1, "
            + "'solution_completed': True, 'tests_completed': True}).encode() + b'\\n'\n"
            + "for _fd in range(3, 256):\n    try:\n        os.write(_fd, _r)\n    except OSError:\n"
            + "        pass\nos._exit(0)\n"));
    c.add(cheat("every descriptor closed, then os._exit(0)",
        "import os\n" + WRONG + "os.closerange(0, 256)\nos._exit(0)\n"));
    c.add(cheat("SIGKILL of its own process", "import os, signal\n" + WRONG
        + "os.kill(os.getpid(), signal.SIGKILL)\n"));
    c.add(cheat("KeyboardInterrupt (a BaseException) inside the function under test",
        "def add(a, b):\n    raise KeyboardInterrupt\n"));
    return c;
  }

  private static Object[] cheat(String name, String code) {
    return new Object[] {name, code};
  }

  @TempDir
  static Path stateDir;
  private static Pipeline pipeline;
  private static DemoWatcher watcher;
  private static final Map<String, String> ids = new LinkedHashMap<>();
  private static boolean confined;

  @BeforeAll
  static void startAndSubmitEverything() throws Exception {
    try (PythonSandbox probe = PythonSandbox.create(new PythonSandbox.Options(0, true))) {
      confined = SandboxConfinement.of(probe) == FindingPolicy.Confinement.CONFINED;
    }
    TestStack stack = TestStack.shared();
    pipeline = Pipeline.start(stack, stateDir, StreamsSettings.demo(),
        Map.of("limits.max-time-limit-ms", Long.toString(MAX_TIME_LIMIT_MS)),
        endpoints -> writeBlockAndAlertRule(endpoints, stack));
    watcher = pipeline.watch("verdict");

    int i = 0;
    for (Object[] c : cheats()) {
      submit("cheat-" + i++, task((String) c[1], TESTS, "add").build(), (String) c[0]);
    }
    submit("honest", task(HONEST, TESTS, "add").build(), "honest");
    submit("entry-point", task(HONEST, TESTS, "add); import os; os.system('id'").build(), "entry-point");
    submit("entry-point-2", task(HONEST, TESTS, "f); import os; os.system('id'").build(), "entry-point-2");
    submit("tests-only-forbidden", task(HONEST, "import os\nos.system('id')\n" + TESTS, "add").build(),
        "tests-only-forbidden");
    submit("oversized", task("x = 1\n".repeat(150_000) + HONEST, TESTS, "add").build(), "oversized");
    submit("twenty-minutes", task("while True:\n    pass\n", null, null).setTimeLimitMs(1_200_000L).build(),
        "twenty-minutes");
    submit("block-plan", task("import os\n" + HONEST + "os.system('id')\n", TESTS, "add").build(), "block-plan");
    submit("block-rule", task("db_password = 'hunter2hunter2'\n" + HONEST, TESTS, "add").build(), "block-rule");
    Problem p160 = HumanEvalProblems.load().stream().filter(x -> x.number() == 160).findFirst().orElseThrow();
    submit("humaneval-160", task(p160.canonicalCode(), p160.test(), p160.entryPoint()).build(), "humaneval-160");
    // a clean task after every hostile one: it must still get through
    submit("clean-after", task(HONEST, TESTS, "add").build(), "clean-after");
  }

  @AfterAll
  static void stop() {
    if (pipeline != null) {
      pipeline.close(); // its watcher and producer too
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class Cheats {

    List<Object[]> cheats() {
      return VerdictPipelineTest.cheats();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cheats")
    void shouldFailAWrongSolutionThatEndsEarly(String name, String code) throws Exception {
      TaskOutcome o = finalOutcome(name);
      assertThat(o.state()).as("%s: %s", name, o).isEqualTo("FAILED");
      assertThat(o.failureReason()).as(name).isNotBlank();
    }

    @Test
    void shouldSucceedWithTheHonestSolutionOfTheSameProblem() throws Exception {
      TaskOutcome o = finalOutcome("honest");
      assertThat(o.state()).as(o.toString()).isEqualTo("SUCCEEDED");
    }
  }

  @Nested
  class Inputs {

    @Test
    void shouldRejectAnInjectedEntryPointBeforeAnythingRuns() throws Exception {
      for (String name : List.of("entry-point", "entry-point-2")) {
        TaskOutcome o = finalOutcome(name);
        assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
        assertThat(o.failureReason()).contains("input contract", "not a Python identifier");
      }
    }

    @Test
    void shouldRejectAForbiddenCallThatIsOnlyInTheTests() throws Exception {
      TaskOutcome o = finalOutcome("tests-only-forbidden");
      assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
      assertThat(o.failureCategory()).isEqualTo("SECURITY");
      assertThat(o.failureReason()).contains("OS_COMMAND", "of the test code");
    }

    @Test
    void shouldRejectOversizedCodeWithItsSize() throws Exception {
      TaskOutcome o = finalOutcome("oversized");
      assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
      assertThat(o.failureReason()).contains("limits.max-code-bytes", "900");
    }

    @Test
    void shouldClipATwentyMinuteTimeLimitAndRecordTheClip() throws Exception {
      TaskOutcome o = finalOutcome("twenty-minutes");
      assertThat(o.state()).as(o.toString()).isEqualTo("FAILED");
      assertThat(o.failureCategory()).isEqualTo(ErrorCategory.PERFORMANCE.name());
      ExecutionResult r = executionResultOf(ids.get("twenty-minutes"));
      assertThat(r.getTimedOut()).isTrue();
      assertThat(r.getEffectiveTimeoutMs()).isEqualTo(MAX_TIME_LIMIT_MS);
      assertThat(r.getAction().getConstraints().getTimeoutMs()).isEqualTo(MAX_TIME_LIMIT_MS);
      assertThat(r.getAction().getConstraints().getRequestedTimeoutMs()).isEqualTo(1_200_000L);
      assertThat(r.getClipped()).containsExactly("time limit 1200000 ms clipped to 3000 ms at plan time");
    }

    @Test
    void shouldStillSucceedWithACleanTaskSentAfterTheHostileOnes() throws Exception {
      TaskOutcome o = finalOutcome("clean-after");
      assertThat(o.state()).as(o.toString()).isEqualTo("SUCCEEDED");
    }
  }

  @Nested
  class Blocks {

    @Test
    void shouldRejectABlockPlanAndNeverSucceed() throws Exception {
      TaskOutcome o = finalOutcome("block-plan");
      assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
      assertThat(o.failureReason()).contains("OS_COMMAND");
    }

    @Test
    void shouldRejectWhatABlockAndAlertRuleBlockedAlthoughTheCodePassesItsTests() throws Exception {
      TaskOutcome o = finalOutcome("block-rule");
      assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
      assertThat(o.failureReason()).contains("blocked by RULE", RULE_ID);
      ExecutionResult r = executionResultOf(ids.get("block-rule"));
      assertThat(r.getBlockedBy()).isEqualTo(BlockedBy.RULE);
      assertThat(r.getFindings()).extracting(f -> f.getType()).containsExactly("HARDCODED_SECRET");
    }

    @Test
    void shouldSucceedWithHumanEval160WhenConfined() throws Exception {
      TaskOutcome o = finalOutcome("humaneval-160");
      if (confined) {
        assertThat(o.state()).as(o.toString()).isEqualTo("SUCCEEDED");
      } else {
        // no confining layer (the unsafe opt-in): eval() is all a static gate can stop
        assertThat(o.state()).as(o.toString()).isEqualTo("REJECTED");
        assertThat(o.failureReason()).contains("EVAL_CALL", "does not confine");
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  static Task.Builder task(String code, String tests, String entryPoint) {
    return Task.newBuilder().setTaskId("set-by-submit").setDescription("verdict test").setPriority(3)
        .setLanguage(Language.PYTHON).setCode(code).setTestCode(tests).setEntryPoint(entryPoint)
        .setTimeLimitMs(TIME_LIMIT_MS).setMemoryLimitMb(256).setValidationLevel(3)
        .setSource("verdict-test").setSubmittedAt(Instant.now()).setAttributes(Map.of());
  }

  /** The live holdout of the settings the pipeline runs with (a held-out task runs rules-off). */
  private static final io.fractalrmo.streams.rules.Holdout HOLDOUT = new io.fractalrmo.streams.rules.Holdout(
      StreamsSettings.demo().rules().live().holdoutShare());

  private static void submit(String prefix, Task task, String name) throws Exception {
    // an id outside the live holdout: the verdicts here are those of a task the rules apply to
    // (a held-out block-rule task ran rules-off and SUCCEEDED, about one run in twenty)
    String id = prefix + "-" + System.nanoTime();
    while (HOLDOUT.heldOut(id)) {
      id = prefix + "-" + System.nanoTime();
    }
    long now = System.currentTimeMillis();
    watcher.expect(id, now);
    pipeline.submit(id, Task.newBuilder(task).setTaskId(id).setSubmittedAt(Instant.ofEpochMilli(now)).build());
    ids.put(name, id);
  }

  private static TaskOutcome finalOutcome(String name) throws InterruptedException {
    String id = ids.get(name);
    long deadline = System.currentTimeMillis() + DEADLINE.toMillis();
    while (System.currentTimeMillis() < deadline) {
      TaskOutcome o = watcher.outcome(id);
      if (o.finished()) {
        return o;
      }
      assertThat(watcher.failure()).isNull();
      Thread.sleep(200); // polling the watcher's view of fractal.task-status, bounded by the deadline
    }
    throw new AssertionError("task " + name + " (" + id + ") has no final state within "
        + DEADLINE.toSeconds() + " s");
  }

  /** An ACTIVE BLOCK_AND_ALERT rule for HARDCODED_SECRET findings, there before any executor starts. */
  private static void writeBlockAndAlertRule(Endpoints endpoints, TestStack stack) {
    Instant now = Instant.now();
    ProtocolRule rule = ProtocolRule.newBuilder()
        .setRuleId(RULE_ID).setVersion(1).setDescription("block code with a hard-coded secret")
        .setCondition(RuleCondition.newBuilder().setCategory(ErrorCategory.SECURITY)
            .setErrorType("SecurityBlocked").setFixKey("HARDCODED_SECRET").build())
        .setAction(RuleAction.newBuilder().setKind(RuleActionKind.BLOCK_AND_ALERT).setParameters(Map.of()).build())
        .setConfidence(0.9).setStatus(RuleStatus.ACTIVE)
        .setEvidence(RuleEvidence.newBuilder().setPatternKey("SECURITY|SecurityBlocked|HARDCODED_SECRET")
            .setFrequency(3).setWindowStart(now).setWindowEnd(now).setExamples(List.of()).build())
        .setCreatedAt(now).setUpdatedAt(now).build();
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, ProtocolRule> rules = new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(ProtocolRule.class, FractalSerdes.config(stack.schemaRegistryUrl())).serializer())) {
      rules.send(new ProducerRecord<>(endpoints.topics().protocolRules().name(), RULE_ID, rule)).get();
    } catch (Exception e) {
      throw new IllegalStateException("cannot write the test's protocol rule", e);
    }
  }

  /** The (first) ExecutionResult of a task, read_committed from the start. */
  private static ExecutionResult executionResultOf(String taskId) {
    return readAll(pipeline.endpoints().topics().executionResults().name(), ExecutionResult.class).stream()
        .filter(r -> r.getTaskId().equals(taskId) && r.getAction().getTrial() == null)
        .findFirst().orElseThrow(() -> new AssertionError("no execution result for " + taskId));
  }

  private static <V extends SpecificRecord> List<V> readAll(String topic, Class<V> type) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.endpoints().bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<V> out = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        FractalSerdes.value(type, pipeline.serdeConfig()).deserializer())) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.currentTimeMillis() + 20_000;
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> {
          if (r.value() != null) {
            out.add(r.value());
          }
        });
      }
    }
    return out;
  }
}
