package io.fractalrmo.app.demo;

import io.fractalrmo.app.terminal.Terminal;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Runs the demo against a running pipeline (any {@link Endpoints}: the embedded stack of
 * {@code fractal demo}, or a test's): submits HumanEval tasks with injected faults in two waves
 * through Kafka like any upstream producer, follows what becomes of them, of the error patterns
 * and of the protocol rules, and returns the figures.
 *
 * <p>Wave 1 runs fresh learning tasks before any rule exists. The runner then waits, with a
 * deadline, until the fixable faults seen in wave 1 have ACTIVE rules (each tried first by the
 * protocol updater). Wave 2 is a same-run A/B: a set of fresh faulted tasks submitted twice,
 * interleaved, under new task ids — once with {@code fractal.rules=off} (the executor applies no
 * rule), once with the rules on — so the effect of the rules is measured on identical code, at
 * the same time, under the same load.
 */
public final class DemoRunner {

  /**
   * How big and how patient a run is.
   *
   * @param ruleSettle waited after the rules are adopted, for the executors' caches
   * @param liveSettle waited after wave 2, for the protocol updater's last counters (it
   *     publishes them every {@code reportInterval}, 2 s in the demo settings)
   */
  public record Options(int tasks, long seed, long timeLimitMs, Duration waveTimeout,
      Duration rulesTimeout, Duration ruleSettle, Duration liveSettle, Workload workload) {

    public Options {
      if (tasks < DemoPlan.MIN_TASKS) {
        throw new IllegalArgumentException("--tasks must be at least " + DemoPlan.MIN_TASKS);
      }
      Objects.requireNonNull(waveTimeout, "waveTimeout");
      Objects.requireNonNull(rulesTimeout, "rulesTimeout");
      Objects.requireNonNull(ruleSettle, "ruleSettle");
      Objects.requireNonNull(liveSettle, "liveSettle");
      Objects.requireNonNull(workload, "workload");
    }

    /** The command's defaults: about three minutes for 100 tasks on 2 cores. */
    public static Options defaults(int tasks, long seed) {
      return defaults(tasks, seed, Workload.DEFAULT);
    }

    public static Options defaults(int tasks, long seed, Workload workload) {
      return new Options(tasks, seed, 1_000, Duration.ofSeconds(60 + tasks),
          Duration.ofSeconds(90), Duration.ofSeconds(2), Duration.ofSeconds(3), workload);
    }
  }

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final Options options;
  private final PrintStream out;
  /** Shows the wave's progress in place on a TTY; null: plain progress lines on {@link #out}. */
  private final Terminal terminal;

  public DemoRunner(Endpoints endpoints, Map<String, Object> serdeConfig, Options options,
      PrintStream out) {
    this(endpoints, serdeConfig, options, out, null);
  }

  /** Prints through {@code terminal}: one progress line per wave, updated in place on a TTY. */
  public DemoRunner(Endpoints endpoints, Map<String, Object> serdeConfig, Options options,
      Terminal terminal) {
    this(endpoints, serdeConfig, options, terminal.stream(), terminal);
  }

  private DemoRunner(Endpoints endpoints, Map<String, Object> serdeConfig, Options options,
      PrintStream out, Terminal terminal) {
    this.endpoints = endpoints;
    this.serdeConfig = Map.copyOf(serdeConfig);
    this.options = options;
    this.out = out;
    this.terminal = terminal;
  }

  public DemoReport run() throws InterruptedException {
    List<Problem> problems = HumanEvalProblems.load();
    FaultInjector injector = options.workload().injector(options.seed(), options.timeLimitMs());
    String runId = "demo-" + UUID.randomUUID().toString().substring(0, 8);
    DemoPlan plan = DemoPlan.build(problems, injector, options.tasks(), options.seed(), runId,
        options.workload());
    List<String> notes = new ArrayList<>();
    notes.add("rules OFF / rules ON = the same " + plan.wave2().size() / 2 + " fresh faulted"
        + " tasks submitted twice in wave 2, interleaved, after rules were adopted: once with "
        + DemoTask.RULES_ATTRIBUTE + "=off, once with rules on; before learning = wave 1's"
        + " learning tasks (other problems), before any rule existed");
    List<DemoReport.Wave> waves = new ArrayList<>();
    long start = System.currentTimeMillis();

    try (DemoWatcher watcher = new DemoWatcher(endpoints, serdeConfig, this::event);
         KafkaProducer<String, Task> producer = producer()) {
      watcher.start();
      awaitCatchUp(watcher);
      List<String> preexisting = watcher.rules().values().stream().filter(RuleView::active)
          .map(RuleView::ruleId).toList();
      if (!preexisting.isEmpty()) {
        notes.add("rules already ACTIVE before wave 1 (an earlier run on the same data dir): "
            + preexisting + "; the before-learning figures are not rule-free");
        out.println("note: rules already active from an earlier run: " + preexisting);
      }

      out.printf(Locale.ROOT, "%nwave 1: %d fresh tasks to learn from, no rules yet%n",
          plan.wave1().size());
      waves.add(runWave(1, "learning", plan.wave1(), producer, watcher));

      Set<Fault> toFix = failedFixable(plan.wave1(), watcher);
      awaitRules(watcher, toFix, preexisting);

      out.printf(Locale.ROOT, "%nwave 2: %d fresh tasks, each submitted twice, interleaved:"
          + " %s=off and rules on%n", plan.wave2().size() / 2, DemoTask.RULES_ATTRIBUTE);
      waves.add(runWave(2, "A/B off|on", plan.wave2(), producer, watcher));
      // the updater publishes the ACTIVE rules' live counters every few seconds
      Thread.sleep(options.liveSettle().toMillis());

      Map<String, TaskOutcome> outcomes = new HashMap<>();
      for (DemoTask t : plan.all()) {
        outcomes.put(t.taskId(), watcher.outcome(t.taskId()));
      }
      long contaminated = plan.wave2().stream()
          .filter(t -> t.arm() == DemoTask.Arm.RULES_OFF)
          .filter(t -> !outcomes.get(t.taskId()).appliedRuleIds().isEmpty()).count();
      if (contaminated > 0) {
        notes.add(contaminated + " rules-off task(s) had a rule applied although they carried "
            + DemoTask.RULES_ATTRIBUTE + "=off (an executor that does not honour it?): the"
            + " rules-off error rate understates the effect");
      }
      long unfinished = outcomes.values().stream().filter(o -> !o.finished()).count();
      if (unfinished > 0) {
        notes.add(unfinished + " task(s) had no final state within the wave timeout; counted as"
            + " errors");
      }
      return new DemoReport(plan, outcomes, watcher.rules(), watcher.patterns(), waves, start,
          System.currentTimeMillis(), notes);
    }
  }

  /** Writes the report as JSON to {@code json} and as an HTML chart beside it. */
  public static Path[] write(DemoReport report, Path json) throws IOException {
    Path parent = json.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Files.writeString(json, report.toJson(), StandardCharsets.UTF_8);
    String name = json.getFileName().toString();
    Path html = parent.resolve((name.endsWith(".json")
        ? name.substring(0, name.length() - 5) : name) + ".html");
    Files.writeString(html, report.toHtml(), StandardCharsets.UTF_8);
    return new Path[] {json, html};
  }

  private DemoReport.Wave runWave(int wave, String label, List<DemoTask> tasks,
      KafkaProducer<String, Task> producer, DemoWatcher watcher) throws InterruptedException {
    long start = System.currentTimeMillis();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (DemoTask t : tasks) {
      long now = System.currentTimeMillis();
      watcher.expect(t.taskId(), now);
      sends.add(producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(),
          t.taskId(), task(t, now))));
    }
    producer.flush();
    for (Future<RecordMetadata> f : sends) {
      try {
        f.get(30, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new IllegalStateException("could not submit the demo's tasks to "
            + endpoints.topics().tasks().name() + ": " + e.getMessage(), e);
      }
    }
    long deadline = start + options.waveTimeout().toMillis();
    String last = "";
    long lastPrinted = 0;
    int done;
    do {
      Thread.sleep(250); // progress display cadence, not synchronisation
      done = 0;
      int ok = 0;
      long lastFinish = start;
      for (DemoTask t : tasks) {
        TaskOutcome o = watcher.outcome(t.taskId());
        if (o.finished()) {
          done++;
          ok += o.succeeded() ? 1 : 0;
          lastFinish = Math.max(lastFinish, o.finishedAtMs());
        }
      }
      double elapsed = Math.max(0.001, (System.currentTimeMillis() - start) / 1000.0);
      String line = String.format(Locale.ROOT,
          "wave %d [%s]  %d/%d done  %d succeeded  %d failed  %.1f tasks/s", wave, label, done,
          tasks.size(), ok, done - ok, done / elapsed);
      long now = System.currentTimeMillis();
      if (terminal != null) {
        if (done == tasks.size()) {
          terminal.endProgress(line);
        } else {
          terminal.progress(line);
        }
        last = line;
      } else if (!line.equals(last) && (now - lastPrinted >= 2_000 || done == tasks.size())) {
        out.println(line);
        last = line;
        lastPrinted = now;
      }
      if (watcher.failure() != null) {
        throw new IllegalStateException("lost the connection to Kafka while following the tasks",
            watcher.failure());
      }
    } while (done < tasks.size() && System.currentTimeMillis() < deadline);
    if (done < tasks.size() && terminal != null) {
      terminal.endProgress(last);
    }
    if (done < tasks.size()) {
      out.printf(Locale.ROOT, "wave %d: %d task(s) without a final state after %d s; moving on%n",
          wave, tasks.size() - done, options.waveTimeout().toSeconds());
    }
    long end = tasks.stream().map(t -> watcher.outcome(t.taskId()))
        .filter(TaskOutcome::finished).mapToLong(TaskOutcome::finishedAtMs).max().orElse(deadline);
    return new DemoReport.Wave(wave, label, tasks.size(), start, Math.max(start, end));
  }

  private Set<Fault> failedFixable(List<DemoTask> tasks, DemoWatcher watcher) {
    Set<Fault> faults = EnumSet.noneOf(Fault.class);
    for (DemoTask t : tasks) {
      if (t.fault().faultClass() == Fault.FaultClass.FIXABLE
          && !watcher.outcome(t.taskId()).succeeded()) {
        faults.add(t.fault());
      }
    }
    return faults;
  }

  /** Waits until each fixable fault has an ACTIVE rule and no CANDIDATE is still on trial. */
  private void awaitRules(DemoWatcher watcher, Set<Fault> toFix, List<String> preexisting)
      throws InterruptedException {
    out.printf(Locale.ROOT, "%nwaiting up to %d s for rules for %s to be tried and adopted%n",
        options.rulesTimeout().toSeconds(), toFix);
    long deadline = System.currentTimeMillis() + options.rulesTimeout().toMillis();
    while (System.currentTimeMillis() < deadline) {
      Map<String, RuleView> rules = watcher.rules();
      Set<Fault> covered = rules.values().stream().filter(RuleView::active)
          .map(RuleView::targetFault).filter(Objects::nonNull)
          .collect(Collectors.toCollection(() -> EnumSet.noneOf(Fault.class)));
      boolean pending = rules.values().stream().anyMatch(r -> "CANDIDATE".equals(r.status()));
      if (covered.containsAll(toFix) && !pending) {
        break;
      }
      Thread.sleep(250); // polling the watcher's view, bounded by the deadline
    }
    Map<String, RuleView> rules = watcher.rules();
    List<String> active = rules.values().stream().filter(RuleView::active)
        .map(r -> r.ruleId() + " (" + r.action() + ")").toList();
    out.printf(Locale.ROOT, "active rules: %s%n", active.isEmpty() ? "none" : active);
    // Executors follow the same compacted topic; give their caches a moment to take the last
    // ACTIVE record before the comparison wave.
    Thread.sleep(options.ruleSettle().toMillis());
  }

  private void awaitCatchUp(DemoWatcher watcher) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!watcher.caughtUp() && System.currentTimeMillis() < deadline) {
      if (watcher.failure() != null) {
        throw new IllegalStateException("cannot read the pipeline's topics", watcher.failure());
      }
      Thread.sleep(50);
    }
  }

  private Task task(DemoTask t, long now) {
    return task(t.taskId(), t.faulted(), options.timeLimitMs(), attributes(t), now);
  }

  /**
   * The demo's attributes of a task: run, wave, arm and pair for people reading the topics, and
   * {@code fractal.rules=off} for the rules-off arm, which the executor honours, {@code on} for
   * the others — a task that says it itself is never picked for the live holdout, so the
   * rules-off arm is the demo's holdout and no other task runs without rules by chance.
   */
  static Map<String, String> attributes(DemoTask t) {
    Map<String, String> attributes = new LinkedHashMap<>();
    attributes.put("demo.run", t.pairId().replaceAll("-[cl][0-9]+$", ""));
    attributes.put("demo.wave", Integer.toString(t.wave()));
    attributes.put("demo.arm", t.arm().name());
    attributes.put("demo.pair", t.pairId());
    attributes.put(DemoTask.RULES_ATTRIBUTE, t.arm() == DemoTask.Arm.RULES_OFF ? "off" : "on");
    return attributes;
  }

  /**
   * The {@link Task} an upstream producer would send for {@code f}: its code, HumanEval's tests
   * and entry point, validation level 3, and the fault in the attributes (for people reading the
   * topic; agents look only at {@code fractal.rules}).
   */
  public static Task task(String taskId, FaultedCode f, long timeLimitMs,
      Map<String, String> extraAttributes, long now) {
    Map<String, String> attributes = new LinkedHashMap<>(extraAttributes);
    attributes.put("demo.problem", f.problem().id());
    attributes.put("demo.fault", f.fault().name());
    attributes.put("demo.fault_class", f.fault().faultClass().name());
    return Task.newBuilder()
        .setTaskId(taskId)
        .setDescription(f.problem().id() + " (" + f.problem().entryPoint() + "): "
            + f.detail())
        .setPriority(3)
        .setLanguage(Language.PYTHON)
        .setCode(f.code())
        .setEntryPoint(f.problem().entryPoint())
        .setTestCode(f.problem().test())
        .setTimeLimitMs(timeLimitMs)
        .setMemoryLimitMb(256)
        .setValidationLevel(3)
        .setSource("fractal-demo")
        .setSubmittedAt(Instant.ofEpochMilli(now))
        .setAttributes(attributes)
        .build();
  }

  private KafkaProducer<String, Task> producer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "fractal-demo");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    Serializer<Task> values = FractalSerdes.value(Task.class, serdeConfig).serializer();
    return new KafkaProducer<>(p, new StringSerializer(), values);
  }

  private synchronized void event(String line) {
    out.println(line);
  }
}
