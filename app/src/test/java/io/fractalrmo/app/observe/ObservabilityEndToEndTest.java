package io.fractalrmo.app.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.worker.TransactionalWorker;
import io.fractalrmo.app.FractalCommand;
import io.fractalrmo.app.cli.TaskTrace;
import io.fractalrmo.app.dashboard.LiveView;
import io.fractalrmo.app.up.LocalStack;
import io.fractalrmo.app.up.StackSettings;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The observability of a real running stack (broker, registry, PostgreSQL, every role), started
 * once for the class: the dashboard in headless Chromium, /metrics and /health scraped over HTTP,
 * and the MCP tools called through the SDK's own client over Streamable HTTP and stdio.
 */
class ObservabilityEndToEndTest {

  private static final Duration TASK_DEADLINE = Duration.ofSeconds(120);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path ARTEFACTS = Path.of("target", "observe");

  private static Path dir;
  private static LocalStack stack;
  private static StackObservability observe;
  private static KafkaProducer<String, Task> tasks;
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10)).build();
  /** An ACTIVE rule, written to fractal.protocol-rules, whose condition matches no task here. */
  private static final String PROBE_RULE = "observe-probe-rule-" + UUID.randomUUID().toString().substring(0, 8);
  /** The pattern and rule lines the view reported (what fractal up prints). */
  private static final List<String> EVENTS = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeAll
  static void startStack() throws Exception {
    dir = Files.createTempDirectory("fractal-observe-");
    stack = LocalStack.start(StackSettings.defaults(dir.resolve("data")));
    observe = StackObservability.start(stack.endpoints(), stack.roles(), "127.0.0.1", 0);
    assertThat(observe.view().awaitCaughtUp(Duration.ofSeconds(60))).isTrue();
    observe.view().onEvent(EVENTS::add);
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.endpoints().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    tasks = new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(Task.class, serdes()).serializer());
    try (KafkaProducer<String, ProtocolRule> rules = new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(ProtocolRule.class, serdes()).serializer())) {
      ProtocolRule rule = Mothers.aRule().setRuleId(PROBE_RULE).setStatus(RuleStatus.ACTIVE)
          .setCondition(io.fractalrmo.contracts.RuleCondition.newBuilder(Mothers.aRule().getCondition()).setErrorType("ObserveProbeError")
              .setFixKey("observe-probe").build())
          .setTrial(TrialSummary.newBuilder().setTrialId("trial-" + PROBE_RULE).setSampleSize(3)
              .setErrorRateWithout(1.0).setErrorRateWith(0.0).setMeanDurationMsWithout(12.0)
              .setMeanDurationMsWith(8.0).setDecidedAt(Mothers.T0).setVerdict("helps").build())
          .build();
      rules.send(new ProducerRecord<>(stack.endpoints().topics().protocolRules().name(),
          PROBE_RULE, rule)).get(30, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  static void stopStack() {
    if (tasks != null) {
      tasks.close(Duration.ofSeconds(5));
    }
    if (observe != null) {
      observe.close();
    }
    if (stack != null) {
      stack.close();
    }
    if (dir != null) {
      FileTrees.deleteTree(dir);
    }
  }

  private static Map<String, Object> serdes() {
    return FractalSerdes.config(stack.endpoints().schemaRegistryUrl());
  }

  /** Submits a task whose code passes its tests, or (passing=false) returns a wrong result. */
  private static String submit(String prefix, boolean passing) throws Exception {
    String id = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    Task task = Mothers.aTask().setTaskId(id).setSubmittedAt(Instant.now())
        .setCode(passing ? Mothers.ADD_CODE : "def add(a, b):\n    return a - b\n").build();
    tasks.send(new ProducerRecord<>(stack.endpoints().topics().tasks().name(), id, task))
        .get(30, TimeUnit.SECONDS);
    return id;
  }

  private static TaskStatus awaitFinal(String taskId) throws InterruptedException {
    long deadline = System.nanoTime() + TASK_DEADLINE.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<TaskStatus> s = observe.view().task(taskId, true).flatMap(LiveView.TaskView::status);
      if (s.isPresent() && Set.of(TaskState.SUCCEEDED, TaskState.FAILED, TaskState.REJECTED)
          .contains(s.get().getState())) {
        return s.get();
      }
      Thread.sleep(100); // polling interval of a deadline-bounded wait on the live view
    }
    throw new AssertionError("task " + taskId + " has no final state after " + TASK_DEADLINE);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static PrometheusText scrape(String url) throws Exception {
    HttpResponse<String> r = get(url);
    System.out.printf(Locale.ROOT, "scrape of %s: %d bytes%n", url, r.body().length());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
    return PrometheusText.parse(r.body());
  }

  private static List<String> agentIds() {
    List<String> ids = new ArrayList<>();
    stack.roles().values().forEach(r -> {
      if (r instanceof RunningRole running) {
        running.workers().stream().map(TransactionalWorker::agentId).forEach(ids::add);
      }
    });
    return ids;
  }

  @Nested
  class Events {

    @Test
    void newPatternsAndRuleChangesAreReportedAsOneLineEach() throws Exception {
      List<String> failing = new ArrayList<>();
      for (int i = 0; i < 3; i++) { // the pattern extractor's minimum in one window
        failing.add(submit("events-bad", false));
      }
      for (String id : failing) {
        awaitFinal(id);
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (EVENTS.stream().noneMatch(e -> e.startsWith("pattern  LOGIC|AssertionError"))
          && System.nanoTime() < deadline) {
        Thread.sleep(200); // polling interval of a deadline-bounded wait for the pattern
      }
      assertThat(EVENTS).anySatisfy(e -> assertThat(e).startsWith("pattern  LOGIC|AssertionError")
          .contains("confidence", "suggests PROMPT_GUIDELINE"));
      assertThat(EVENTS).anySatisfy(e -> assertThat(e).startsWith("rule     " + PROBE_RULE)
          .contains("ACTIVE", "trial on 3 actions: error rate 100% without -> 0% with"));
      assertThat(observe.view().statusLine()).contains("ok", "failed", "patterns", "DLQ");
    }
  }

  @Nested
  class Dashboard {

    @Test
    void showsTheRunningStacksNumbersAndUpdatesWhenATaskFinishes() throws Exception {
      assumeTrue(HeadlessChromium.installed() || System.getenv("CI") != null,
          "Debian's chromium is not installed (.ci/run installs it)");
      List<Long> latencies = new ArrayList<>();
      try (HeadlessChromium page = HeadlessChromium.start(1400, 1800)) {
        page.navigate(observe.url() + "/");
        assertThat(page.await("window.fractalDashboard && fractalDashboard.renders > 0"
            + " && fractalDashboard.last.caught_up"
            + " && document.getElementById('conn').dataset.state === 'live'", Duration.ofSeconds(60)))
            .as("the page connects and renders a snapshot").isTrue();

        // the live numbers of this stack: its agents by id, the injected ACTIVE rule
        for (String agent : agentIds()) {
          assertThat(page.await("document.querySelector('#agents tr[data-agent-id=\"" + agent + "\"]')",
              Duration.ofSeconds(30))).as("agent %s shown", agent).isTrue();
        }
        assertThat(page.await("document.querySelector('#rules tr[data-rule-id=\"" + PROBE_RULE
            + "\"][data-status=\"ACTIVE\"]')", Duration.ofSeconds(30))).isTrue();
        assertThat(page.eval("document.querySelector('#rules tr[data-rule-id=\"" + PROBE_RULE
            + "\"]').textContent").asText()).contains("ADD_MISSING_IMPORTS", "100% → 0%");
        int succeededBefore = page.eval("+document.querySelector('#stage-SUCCEEDED .value').textContent").asInt();

        String ok = submit("dash-ok", true);
        latencies.add(awaitRendered(page, ok, "SUCCEEDED"));
        assertThat(page.eval("+document.querySelector('#stage-SUCCEEDED .value').textContent").asInt())
            .as("SUCCEEDED count on the page").isGreaterThanOrEqualTo(succeededBefore + 1);

        String bad = submit("dash-bad", false);
        latencies.add(awaitRendered(page, bad, "FAILED"));
        assertThat(page.await("document.querySelector('#errors-legend span[data-category=\"LOGIC\"]')"
            + " && document.querySelector('#errors-chart polyline[data-category=\"LOGIC\"]')",
            Duration.ofSeconds(30))).as("the failure's LOGIC error is charted").isTrue();
        assertThat(page.eval("+document.querySelector('#stage-FAILED .value').textContent").asInt())
            .isGreaterThanOrEqualTo(1);
        latencies.add(awaitRendered(page, submit("dash-ok", true), "SUCCEEDED"));

        // what the page shows equals what the view published, and it shows the sandbox and DLQ
        JsonNode rendered = page.eval("fractalDashboard.last");
        assertThat(page.eval("document.getElementById('dlq-total').textContent").asText())
            .isEqualTo(rendered.path("dlq").path("total").asText());
        assertThat(page.eval("document.querySelectorAll('#sandbox tbody tr').length").asInt()).isPositive();
        assertThat(page.eval("performance.getEntriesByType('resource').every("
            + "e => e.name.startsWith(location.origin))").asBoolean())
            .as("every asset comes from the fractal process itself").isTrue();
        assertThat(page.eval("[...document.querySelectorAll('script[src],link[href]')].every("
            + "e => (e.src || e.href).startsWith(location.origin))").asBoolean()).isTrue();
        assertThat(page.consoleErrors()).as("errors in the page's console").isEmpty();
        page.screenshot(ARTEFACTS.resolve("dashboard.png"));
      }
      assertThat(Files.size(ARTEFACTS.resolve("dashboard.png"))).isGreaterThan(10_000);
      String figures = String.format(Locale.ROOT,
          "dashboard update latency (task's final status transition -> rendered in the page), ms: %s%n",
          latencies);
      Files.writeString(ARTEFACTS.resolve("dashboard-latency.txt"), figures, StandardCharsets.UTF_8);
      System.out.print(figures);
    }

    /** Waits until the page lists the task in its final state; returns final status -> render in ms. */
    private long awaitRendered(HeadlessChromium page, String taskId, String state) throws Exception {
      TaskStatus status = awaitFinal(taskId);
      assertThat(status.getState().name()).isEqualTo(state);
      assertThat(page.await("document.querySelector('#recent li[data-task-id=\"" + taskId
          + "\"][data-state=\"" + state + "\"]')", Duration.ofSeconds(30)))
          .as("task %s shown as %s", taskId, state).isTrue();
      return page.eval("fractalDashboard.renderedAt['" + taskId + "'] - fractalDashboard.last.recent"
          + ".find(t => t.task_id === '" + taskId + "').final_at").asLong();
    }
  }

  @Nested
  class Traces {

    /** Runs {@code fractal <args>} against the stack; returns its output (exit code asserted). */
    private String fractal(int expectedExit, String... args) {
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      picocli.CommandLine cli = FractalCommand.commandLine();
      cli.setOut(new java.io.PrintWriter(out, true));
      cli.setErr(new java.io.PrintWriter(err, true));
      List<String> all = new ArrayList<>(List.of(args));
      all.addAll(List.of("--bootstrap-servers", stack.endpoints().bootstrapServers(),
          "--schema-registry-url", stack.endpoints().schemaRegistryUrl()));
      int code = cli.execute(all.toArray(String[]::new));
      assertThat(code).as("fractal %s: %s%s", all, out, err).isEqualTo(expectedExit);
      return out.toString();
    }

    @Test
    void aTaskIsOneTraceFromSubmissionThroughErrorPatternAndRule() throws Exception {
      // three tasks that fail alike (a missing import: DEPENDENCY|NameError|typing, a pattern
      // no other test here makes), submitted with fractal submit: the submission starts each trace
      Path code = Files.writeString(dir.resolve("missing-import.py"),
          "def add(a: List[int], b):\n    return a + b\n");
      Path test = Files.writeString(dir.resolve("test-add.py"), Mothers.ADD_TEST);
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String id = "trace-" + UUID.randomUUID().toString().substring(0, 8);
        fractal(0, "submit", "--task-id", id, "--description", "add two numbers",
            "--code-file", code.toString(), "--test-file", test.toString(), "--entry-point", "add");
        ids.add(id);
      }
      for (String id : ids) {
        assertThat(awaitFinal(id).getState()).isEqualTo(TaskState.FAILED);
      }
      // the pattern, and the rule proposed from it, are hops of the trace whose error completed it
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      TaskTrace completing = null;
      List<TaskTrace> traces = new ArrayList<>();
      while (completing == null && System.nanoTime() < deadline) {
        traces.clear();
        for (String id : ids) {
          TaskTrace t = TaskTrace.read(stack.endpoints(), id, Duration.ofSeconds(30));
          traces.add(t);
          if (t.hops().stream().anyMatch(h -> h.name().equals("pattern"))
              && t.hops().stream().anyMatch(h -> h.name().startsWith("rule-"))) {
            completing = t;
          }
        }
        if (completing == null) {
          Thread.sleep(500); // polling interval of a deadline-bounded wait for pattern and rule
        }
      }
      assertThat(completing).as("a trace with the pattern and its rule: %s", traces).isNotNull();
      assertOneTraceAcrossEveryHop(completing);
      // The other traces were read in the same round, possibly before the pattern existed: each is
      // read again until the pattern's link to it shows (bounded by the same deadline).
      for (TaskTrace other : traces) {
        if (other == completing) {
          continue;
        }
        TaskTrace linked = other;
        while (linked.linkedFrom().stream().noneMatch(h -> h.name().equals("pattern"))
            && System.nanoTime() < deadline) {
          Thread.sleep(500); // polling interval of a deadline-bounded wait for the link
          linked = TaskTrace.read(stack.endpoints(), other.taskId(), Duration.ofSeconds(30));
        }
        assertThat(linked.linkedFrom()).as("the pattern links to the other tasks' errors")
            .anySatisfy(h -> assertThat(h.name()).isEqualTo("pattern"));
      }

      String printed = fractal(0, "status", completing.taskId(), "--trace");
      System.out.print(printed);
      Files.createDirectories(ARTEFACTS);
      Files.writeString(ARTEFACTS.resolve("status-trace.txt"), printed, StandardCharsets.UTF_8);
      assertThat(printed).startsWith("task " + completing.taskId() + "  trace "
          + completing.traceId().orElseThrow());
      assertThat(printed).contains("submit", "fractal-cli", "analyzer-syntax", "plan", "links 5",
          "executor", "validator", "status-RECEIVED", "status-FAILED", "pattern", "rule-CANDIDATE",
          "fractal.errors", "fractal.error-patterns", "fractal.protocol-rules");
      for (TaskTrace.Hop h : completing.hops()) {
        assertThat(printed).contains(h.span().spanId());
      }
      assertThat(fractal(1, "status", "no-such-task-" + UUID.randomUUID(), "--trace"))
          .contains("no traced record");
    }

    private void assertOneTraceAcrossEveryHop(TaskTrace t) {
      String trace = t.traceId().orElseThrow();
      Map<String, List<TaskTrace.Hop>> byName = t.hops().stream()
          .collect(Collectors.groupingBy(TaskTrace.Hop::name));
      assertThat(t.hops()).allSatisfy(h -> assertThat(h.span().traceId()).isEqualTo(trace));
      TaskTrace.Hop submit = only(byName, "submit");
      assertThat(submit.span().parentSpanId()).as("the submission starts the trace").isNull();
      assertThat(submit.span().agent()).isEqualTo("fractal-cli");
      assertThat(submit.wrote()).containsExactly(stack.endpoints().topics().tasks().name());
      List<TaskTrace.Hop> analyzers = t.hops().stream()
          .filter(h -> h.name().startsWith("analyzer-")).toList();
      assertThat(analyzers).as("five analyzers").hasSize(5)
          .allSatisfy(h -> assertThat(h.span().parentSpanId()).isEqualTo(submit.span().spanId()));
      TaskTrace.Hop plan = only(byName, "plan");
      assertThat(plan.span().parentSpanId()).isEqualTo(submit.span().spanId());
      assertThat(plan.span().links()).as("the plan links to each analysis (fan-in)").hasSize(5);
      for (TaskTrace.Hop a : analyzers) {
        assertThat(plan.span().linksTo(trace, a.span().spanId())).isTrue();
      }
      TaskTrace.Hop executor = only(byName, "executor");
      assertThat(executor.span().parentSpanId()).isEqualTo(plan.span().spanId());
      TaskTrace.Hop validator = only(byName, "validator");
      assertThat(validator.span().parentSpanId()).isEqualTo(executor.span().spanId());
      String errors = stack.endpoints().topics().errors().name();
      List<TaskTrace.Hop> wroteErrors = t.hops().stream().filter(h -> h.wrote().contains(errors))
          .toList();
      assertThat(wroteErrors).as("the error events are the executor's or validator's outputs")
          .isNotEmpty().allSatisfy(h -> assertThat(h.name()).isIn("executor", "validator"));
      List<TaskTrace.Hop> patterns = byName.get("pattern");
      assertThat(patterns).allSatisfy(p -> assertThat(wroteErrors)
          .extracting(h -> h.span().spanId()).contains(p.span().parentSpanId()));
      List<TaskTrace.Hop> rules = t.hops().stream().filter(h -> h.name().startsWith("rule-"))
          .toList();
      assertThat(rules).anySatisfy(r -> assertThat(r.name()).isEqualTo("rule-CANDIDATE"));
      assertThat(rules).filteredOn(r -> r.name().equals("rule-CANDIDATE"))
          .allSatisfy(r -> assertThat(patterns).extracting(p -> p.span().spanId())
              .contains(r.span().parentSpanId()));
      // every status transition is a hop, the child of the record that moved it
      Set<String> spans = t.hops().stream().map(h -> h.span().spanId()).collect(Collectors.toSet());
      assertThat(byName.keySet()).contains("status-RECEIVED", "status-ANALYZING",
          "status-PLANNED", "status-FAILED");
      assertThat(t.hops()).filteredOn(h -> h.name().startsWith("status-"))
          .allSatisfy(h -> assertThat(spans).contains(h.span().parentSpanId()));
    }

    private TaskTrace.Hop only(Map<String, List<TaskTrace.Hop>> byName, String name) {
      assertThat(byName.get(name)).as("hop %s in %s", name, byName.keySet()).hasSize(1);
      return byName.get(name).get(0);
    }

    @Test
    void aMalformedTraceparentFromUpstreamIsIgnoredAndTheTaskStillOneTrace() throws Exception {
      String id = "hostile-" + UUID.randomUUID().toString().substring(0, 8);
      Task task = Mothers.aTask().setTaskId(id).setSubmittedAt(Instant.now()).build();
      ProducerRecord<String, Task> record = new ProducerRecord<>(
          stack.endpoints().topics().tasks().name(), id, task);
      record.headers().add(io.fractalrmo.runtime.trace.Tracing.TRACEPARENT,
          ("00-" + "f".repeat(32) + "-" + "z".repeat(60_000)).getBytes(StandardCharsets.US_ASCII));
      record.headers().add(io.fractalrmo.runtime.trace.Tracing.SPAN,
          "v=1;n=forged;p=;l=oops".getBytes(StandardCharsets.US_ASCII));
      org.apache.kafka.clients.producer.RecordMetadata meta = tasks.send(record).get(30, TimeUnit.SECONDS);
      assertThat(awaitFinal(id).getState()).isEqualTo(TaskState.SUCCEEDED);

      TaskTrace t = TaskTrace.read(stack.endpoints(), id, Duration.ofSeconds(30));
      var origin = io.fractalrmo.runtime.trace.Tracing.origin(meta.topic(), meta.partition(),
          meta.offset());
      assertThat(t.traceId()).as("a new trace, the task record's origin").contains(origin.getTraceId());
      assertThat(t.hops()).extracting(TaskTrace.Hop::name).contains("plan", "executor",
          "validator", "status-SUCCEEDED").doesNotContain("forged");
      assertThat(t.hops()).filteredOn(h -> h.name().startsWith("analyzer-")).hasSize(5)
          .allSatisfy(h -> assertThat(h.span().parentSpanId()).isEqualTo(origin.getSpanId()));
    }
  }

  @Nested
  class Metrics {

    @Test
    void roleCountersMoveWhenTasksRun() throws Exception {
      PrometheusText before = scrape(observe.metricsUrl());
      assertThat(before.sum("fractal_role_healthy", "role=\"executor\"")).isEqualTo(1.0);
      assertThat(before.countWithPrefix("kafka_stream")).as("Kafka Streams metrics bound").isPositive();
      assertThat(before.countWithPrefix("kafka_consumer")).as("consumer client metrics bound").isPositive();
      assertThat(before.has("jvm_memory_used_bytes")).isTrue();

      String id = submit("metrics", true);
      assertThat(awaitFinal(id).getState()).isEqualTo(TaskState.SUCCEEDED);

      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      PrometheusText after;
      do {
        after = scrape(observe.metricsUrl());
        if (moved(before, after)) {
          break;
        }
        Thread.sleep(200); // polling interval of a deadline-bounded wait on the counters
      } while (System.nanoTime() < deadline);
      assertThat(after.sum("fractal_worker_committed_records_total", "role=\"executor\""))
          .isGreaterThanOrEqualTo(before.sum("fractal_worker_committed_records_total", "role=\"executor\"") + 1);
      assertThat(after.sum("fractal_worker_committed_records_total", "role=\"validator\""))
          .isGreaterThanOrEqualTo(before.sum("fractal_worker_committed_records_total", "role=\"validator\"") + 1);
      assertThat(after.sum("fractal_worker_committed_records_total", "role=\"analyzer\""))
          .as("five analyzers saw it").isGreaterThanOrEqualTo(
              before.sum("fractal_worker_committed_records_total", "role=\"analyzer\"") + 5);
      assertThat(after.sum("fractal_tasks", "state=\"SUCCEEDED\""))
          .isGreaterThanOrEqualTo(before.sum("fractal_tasks", "state=\"SUCCEEDED\"") + 1);
      assertThat(after.sum("fractal_sandbox_runs_total", "outcome=\"all\""))
          .isGreaterThanOrEqualTo(before.sum("fractal_sandbox_runs_total", "outcome=\"all\"") + 1);
      assertThat(after.sum("fractal_sink_written_rows_total")).isGreaterThan(before.sum("fractal_sink_written_rows_total"));
      assertThat(after.has("fractal_dlq_records")).isTrue();
      // handler latency per stage, a histogram that counts the calls of this task
      for (String role : List.of("executor", "validator")) {
        assertThat(after.sum("fractal_worker_handler_seconds_count", "role=\"" + role + "\""))
            .as("%s handler calls timed", role).isGreaterThanOrEqualTo(
                before.sum("fractal_worker_handler_seconds_count", "role=\"" + role + "\"") + 1);
        assertThat(after.has("fractal_worker_handler_seconds_bucket", "role=\"" + role + "\""))
            .as("%s handler latency histogram", role).isTrue();
      }
      // Kafka's own client metrics of the workers: consumer lag and fetch rates of each worker's
      // consumer, request rates of its transactional producer (looked up again every 10 s)
      long clientDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!(after.has("kafka_consumer_fetch_manager_records_lag_max", "role=\"executor\"")
          && after.has("kafka_producer_request_rate", "role=\"executor\"")
          && after.has("kafka_producer_request_rate", "role=\"sink\""))
          && System.nanoTime() < clientDeadline) {
        Thread.sleep(500); // polling interval of a deadline-bounded wait for the next lookup
        after = scrape(observe.metricsUrl());
      }
      for (String role : List.of("analyzer", "executor", "validator")) {
        assertThat(after.has("kafka_consumer_fetch_manager_records_lag_max", "role=\"" + role + "\""))
            .as("%s consumer lag", role).isTrue();
        assertThat(after.has("kafka_producer_request_rate", "role=\"" + role + "\""))
            .as("%s producer request rate", role).isTrue();
      }
      assertThat(after.has("kafka_consumer_fetch_manager_records_lag_max", "role=\"sink\"")).isTrue();
      assertThat(after.has("kafka_producer_request_rate", "role=\"outbox\"")).isTrue();
      // the executor's rule cache: how far behind it is and what it holds
      assertThat(after.has("fractal_rules_cache_lag_records", "role=\"executor\"")).isTrue();
      assertThat(after.has("fractal_rules_cache_active_rules", "role=\"executor\"")).isTrue();

      // consumer lag of the pipeline's groups, read with the admin client
      long lagDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!after.has("fractal_consumer_lag_records", "group=\"fractal-executor\"")
          && System.nanoTime() < lagDeadline) {
        Thread.sleep(500); // the lag reader runs every 10 s
        after = scrape(observe.metricsUrl());
      }
      assertThat(after.has("fractal_consumer_lag_records", "group=\"fractal-executor\"",
          "topic=\"fractal.action-items\"")).isTrue();

      // every metric infra's Grafana dashboard queries is served
      String grafana = Files.readString(Path.of("..", "infra", "monitoring", "grafana", "dashboards",
          "fractal-rmo.json"));
      java.util.regex.Matcher names = java.util.regex.Pattern.compile("\\b((?:fractal|kafka|jvm)_[a-z_]+)")
          .matcher(grafana);
      int checked = 0;
      while (names.find()) {
        assertThat(after.has(names.group(1))).as("Grafana queries %s", names.group(1)).isTrue();
        checked++;
      }
      assertThat(checked).isGreaterThanOrEqualTo(8);
    }

    private boolean moved(PrometheusText before, PrometheusText after) {
      return after.sum("fractal_worker_committed_records_total", "role=\"validator\"")
          > before.sum("fractal_worker_committed_records_total", "role=\"validator\"")
          && after.sum("fractal_tasks", "state=\"SUCCEEDED\"") > before.sum("fractal_tasks", "state=\"SUCCEEDED\"")
          && after.sum("fractal_sink_written_rows_total") > before.sum("fractal_sink_written_rows_total");
    }

    @Test
    void healthIsLiveAndReadyFromEveryRolesState() throws Exception {
      HttpResponse<String> health = get(observe.healthUrl());
      assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
      JsonNode json = JSON.readTree(health.body());
      assertThat(json.path("status").asText()).isEqualTo("UP");
      for (String role : List.of("analyzer", "executor", "validator", "streams", "sink", "outbox", "live-view")) {
        assertThat(json.path("roles").path(role).path("ready").asBoolean()).as(role).isTrue();
      }
      assertThat(json.path("roles").path("streams").path("detail").asText()).contains("RUNNING");
      assertThat(json.path("roles").path("analyzer").path("detail").asText()).contains("5/5 workers running");
      assertThat(get(observe.healthUrl() + "/live").statusCode()).isEqualTo(200);
      assertThat(get(observe.healthUrl() + "/ready").statusCode()).isEqualTo(200);
      assertThat(get(observe.healthUrl() + "/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void aRoleRunAloneServesItsOwnMetricsAndHealth() throws Exception {
      try (RoleObservability role = RoleObservability.start("validator",
          stack.roles().get("validator"), "127.0.0.1", 0)) {
        PrometheusText metrics = scrape(role.url() + "/metrics");
        assertThat(metrics.has("fractal_worker_committed_records_total", "role=\"validator\"")).isTrue();
        assertThat(metrics.has("fractal_tasks")).as("pipeline-wide meters only on up").isFalse();
        HttpResponse<String> health = get(role.url() + "/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(health.body()).path("roles").path("validator").path("live").asBoolean()).isTrue();
      }
    }
  }

  @Nested
  class Mcp {

    private McpSyncClient client(String transport) {
      McpSyncClient client;
      if (transport.equals("http")) {
        client = McpClient.sync(HttpClientStreamableHttpTransport.builder(observe.url())
            .endpoint("/mcp").build()).requestTimeout(Duration.ofSeconds(60)).build();
      } else {
        Endpoints e = stack.endpoints();
        ServerParameters child = ServerParameters.builder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString())
            .args("-Xmx384m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                FractalCommand.class.getName(), "mcp", "--bootstrap-servers", e.bootstrapServers(),
                "--schema-registry-url", e.schemaRegistryUrl())
            .build();
        client = McpClient.sync(new StdioClientTransport(child, McpJsonDefaults.getMapper()))
            .requestTimeout(Duration.ofSeconds(90)).initializationTimeout(Duration.ofSeconds(120)).build();
      }
      client.initialize();
      return client;
    }

    private JsonNode call(McpSyncClient client, String tool, Map<String, Object> arguments) throws Exception {
      McpSchema.CallToolResult result = client.callTool(new McpSchema.CallToolRequest(tool, arguments));
      assertThat(result.isError()).as("%s: %s", tool, text(result)).isFalse();
      return JSON.readTree(text(result));
    }

    private String text(McpSchema.CallToolResult result) {
      return result.content().stream().filter(c -> c instanceof McpSchema.TextContent)
          .map(c -> ((McpSchema.TextContent) c).text()).collect(Collectors.joining("\n"));
    }

    @ParameterizedTest(name = "over {0}")
    @ValueSource(strings = {"http", "stdio"})
    void toolsSubmitFollowAndExplainTasksAndListWhatWasLearned(String transport) throws Exception {
      try (McpSyncClient client = client(transport)) {
        assertThat(client.listTools().tools()).extracting(McpSchema.Tool::name).containsExactlyInAnyOrder(
            "submit_task", "get_task_status", "list_active_rules", "list_error_patterns",
            "explain_task_failure");

        Map<String, Object> good = new LinkedHashMap<>();
        good.put("description", "add two numbers");
        good.put("code", Mothers.ADD_CODE);
        good.put("test_code", Mothers.ADD_TEST);
        good.put("entry_point", "add");
        good.put("priority", 2);
        good.put("attributes", Map.of("via", transport));
        String ok = call(client, "submit_task", good).path("task_id").asText();
        assertThat(ok).isNotBlank();
        JsonNode status = awaitFinalThrough(client, ok);
        assertThat(status.path("state").asText()).isEqualTo("SUCCEEDED");
        assertThat(status.path("outcome").path("success").asBoolean()).isTrue();
        assertThat(status.path("transitions").toString()).contains("RECEIVED", "EXECUTING", "SUCCEEDED");

        Map<String, Object> wrong = new LinkedHashMap<>(good);
        wrong.put("code", "def add(a, b):\n    return a - b\n");
        String failing = call(client, "submit_task", wrong).path("task_id").asText();
        assertThat(awaitFinalThrough(client, failing).path("state").asText()).isEqualTo("FAILED");
        JsonNode why = call(client, "explain_task_failure", Map.of("task_id", failing));
        assertThat(why.path("summary").asText()).contains("FAILED", "LOGIC");
        assertThat(why.path("checks").toString()).contains("\"passed\":false");
        assertThat(why.path("errors").toString()).contains("AssertionError");
        assertThat(why.path("execution").path("isolation").asText()).isNotBlank();

        badArgumentsSubmitNothing(client);

        JsonNode rules = call(client, "list_active_rules", Map.of());
        JsonNode probe = find(rules.path("rules"), "rule_id", PROBE_RULE);
        assertThat(probe.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(probe.path("evidence").path("pattern_key").asText()).isEqualTo("DEPENDENCY|NameError|typing");
        assertThat(probe.path("trial").path("sample_size").asInt()).isEqualTo(3);
        assertThat(probe.path("trial").path("error_rate_with").asDouble()).isZero();

        JsonNode patterns = call(client, "list_error_patterns", Map.of());
        assertThat(patterns.path("count").isInt()).isTrue();

        String topics = ((McpSchema.TextResourceContents) client.readResource(
            new McpSchema.ReadResourceRequest("fractal://topics")).contents().get(0)).text();
        assertThat(JSON.readTree(topics).path("topics").toString()).contains("fractal.tasks",
            "fractal.protocol-rules", "compact");
        String ruleSet = ((McpSchema.TextResourceContents) client.readResource(
            new McpSchema.ReadResourceRequest("fractal://rules")).contents().get(0)).text();
        assertThat(ruleSet).contains(PROBE_RULE);
      }
    }

    @Test
    void refusesABrowserPageOfAnotherOriginButServesLoopbackOnes() throws Exception {
      String initialize = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
          + "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
          + "\"clientInfo\":{\"name\":\"probe\",\"version\":\"1\"}}}";
      for (Map.Entry<String, Integer> c : Map.of("http://evil.example", 403,
          "http://attacker.test:" + URI.create(observe.url()).getPort(), 403,
          observe.url(), 200).entrySet()) {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(observe.mcpUrl()))
            .timeout(Duration.ofSeconds(30)).header("Origin", c.getKey())
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofString(initialize)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("Origin %s: %s", c.getKey(), r.body()).isEqualTo(c.getValue());
      }
    }

    private void badArgumentsSubmitNothing(McpSyncClient client) throws Exception {
      long before = endOffsets();
      String id = "mcp-bad-" + UUID.randomUUID();
      // arguments -> what the tool error must name
      Map<Map<String, Object>, String> bad = new LinkedHashMap<>();
      bad.put(Map.of("task_id", id, "description", "x", "priority", 9), "priority");        // out of range
      bad.put(Map.of("task_id", id, "description", "x", "priority", "high"), "priority");   // wrong type
      bad.put(Map.of("task_id", id, "descripton", "typo"), "descripton");                   // unknown field
      bad.put(Map.of("task_id", id, "code", "print(1)", "validation_level", 0), "validation_level");
      bad.put(Map.of("task_id", id), "description or code");                                // neither
      for (Map.Entry<Map<String, Object>, String> c : bad.entrySet()) {
        McpSchema.CallToolResult result = client.callTool(new McpSchema.CallToolRequest("submit_task", c.getKey()));
        assertThat(result.isError()).as("submit_task %s", c.getKey()).isTrue();
        assertThat(text(result)).as("the error of %s", c.getKey()).contains(c.getValue());
      }
      assertThat(endOffsets()).as("nothing written to fractal.tasks").isEqualTo(before);
      McpSchema.CallToolResult unknown = client.callTool(new McpSchema.CallToolRequest("get_task_status",
          Map.of("task_id", id)));
      assertThat(unknown.isError()).isTrue();
      assertThat(text(unknown)).contains("no task " + id);
    }

    private JsonNode awaitFinalThrough(McpSyncClient client, String taskId) throws Exception {
      awaitFinal(taskId);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      JsonNode status;
      do {
        status = call(client, "get_task_status", Map.of("task_id", taskId));
        if (status.path("final").asBoolean()) {
          return status;
        }
        Thread.sleep(200); // polling interval of a deadline-bounded wait through the tool
      } while (System.nanoTime() < deadline);
      throw new AssertionError("get_task_status never final for " + taskId + ": " + status);
    }

    private JsonNode find(JsonNode list, String field, String value) {
      for (JsonNode n : list) {
        if (value.equals(n.path(field).asText())) {
          return n;
        }
      }
      throw new AssertionError("no " + field + "=" + value + " in " + list);
    }

    private long endOffsets() {
      Map<String, Object> p = new HashMap<>();
      p.put("bootstrap.servers", stack.endpoints().bootstrapServers());
      p.put("isolation.level", "read_committed");
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
          new ByteArrayDeserializer())) {
        String topic = stack.endpoints().topics().tasks().name();
        List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
            .map(i -> new TopicPartition(topic, i.partition())).toList();
        return c.endOffsets(parts, Duration.ofSeconds(30)).values().stream().mapToLong(Long::longValue).sum();
      }
    }
  }
}
