package io.fractalrmo.app.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.agentworkers.bench.ZeroCost;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset.Problem;
import io.fractalrmo.agentworkers.sandbox.PythonLocator;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Runs the benchmark's workloads against one Kafka and registry, each phase on topics of its own,
 * and collects every figure into one JSON tree (what {@code bench.json} holds and the table and
 * chart show). Every task's outcome is checked: a canonical solution that does not SUCCEED, a
 * bare run that does not complete, a zero-cost task that ends other than as its mode says, fails
 * the benchmark (the figures are reported, with the failures).
 */
final class BenchRunner {

  /**
   * Exactly-once hops a task's records take from the task to its final status: the analyses,
   * the plan, the execution result, the validation outcome and the final status.
   */
  static final int HOPS_PER_TASK = 5;

  /** How much of each workload. */
  record Sizes(String name, int workTasks, int warmUp, int latencyTasks, int plumbingTasks,
      long rawRecords, boolean rawPerHop, int earlyRules, int closeRules, List<Integer> scaling,
      int scalingTasks) {

    static Sizes full() {
      return new Sizes("full", 164, 8, 30, 2000, 20_000, true, 10, 3, List.of(1, 2, 4), 164);
    }

    /** Under a minute where the machine is not loaded: every section, tiny samples. */
    static Sizes quick() {
      return new Sizes("quick", 12, 2, 3, 150, 2_000, false, 1, 1, List.of(1, 2), 8);
    }
  }

  /** The workloads, in the order they run ({@code --workloads} picks some). */
  static final List<String> PHASES = List.of("work", "latency", "plumbing", "rules", "scaling",
      "telemetry");
  /** What runs without {@code --workloads}: telemetry's overhead figure is asked for by name. */
  static final List<String> DEFAULT_PHASES = PHASES.subList(0, 5);
  private static final Set<String> ALL_ROLES = Set.of("sink", "outbox", "streams", "validator",
      "executor", "analyzer");
  private static final List<TaskState> STAGES = List.of(TaskState.RECEIVED, TaskState.ANALYZING,
      TaskState.PLANNED, TaskState.EXECUTING, TaskState.VALIDATING);
  private static final long TIME_LIMIT_MS = 10_000;

  private final String bootstrap;
  private final String registry;
  private final Optional<String> jdbc;
  private final boolean outbox;
  private final Path workDir;
  private final Sizes sizes;
  private final Set<String> workloads;
  private final PrintStream out;
  private final Profile profile;
  private final String runId = UUID.randomUUID().toString().substring(0, 6);
  private final Map<String, Object> serdeConfig;
  private final List<Problem> problems;
  private final ObjectMapper json = new ObjectMapper();
  private final ObjectNode report = json.createObjectNode();
  private final ArrayNode phases = json.createArrayNode();
  private final List<String> failures = new ArrayList<>();
  private final int cores = Runtime.getRuntime().availableProcessors();

  BenchRunner(String bootstrap, String registry, Optional<String> jdbc, boolean outbox,
      Path workDir, Sizes sizes, Set<String> workloads, PrintStream out, Profile profile) {
    this.bootstrap = bootstrap;
    this.registry = registry;
    this.jdbc = jdbc;
    this.outbox = outbox;
    this.workDir = workDir;
    this.sizes = sizes;
    this.workloads = Set.copyOf(workloads);
    this.out = out;
    this.profile = profile;
    this.serdeConfig = FractalSerdes.config(registry);
    this.problems = HumanEvalDataset.load();
  }

  ObjectNode run() throws Exception {
    long started = System.currentTimeMillis();
    Path python = PythonLocator.locate();
    ObjectNode machine = report.putObject("machine");
    machine.put("cores", cores);
    machine.put("load_average_1m_at_start", Cpu.loadAverage());
    machine.put("python", python.toString());
    machine.put("sizes", sizes.name());
    ArrayNode run = report.putArray("workloads");
    PHASES.stream().filter(workloads::contains).forEach(run::add);
    report.put("run_id", runId);
    report.put("started_at", Instant.ofEpochMilli(started).toString());

    List<Problem> work = problems.subList(0, Math.min(sizes.workTasks(), problems.size()));
    Bare bare = new Bare(python, workDir.resolve("bare"), work);
    try {
      if (workloads.contains("work")) {
        workPhase(bare, work);
      }
      if (workloads.contains("latency")) {
        latencyPhase(bare);
      }
      if (workloads.contains("plumbing")) {
        plumbingPhase();
      }
      if (workloads.contains("rules")) {
        propagationPhase();
      }
      if (workloads.contains("scaling")) {
        scalingPhase();
      }
      if (workloads.contains("telemetry")) {
        telemetryPhase();
      }
    } finally {
      bare.delete();
    }
    machine.put("load_average_1m_at_end", Cpu.loadAverage());
    report.put("duration_s", (System.currentTimeMillis() - started) / 1000.0);
    report.set("phases", phases);
    ArrayNode f = report.putArray("failures");
    failures.forEach(f::add);
    report.put("complete", failures.isEmpty());
    return report;
  }

  List<String> failures() {
    return failures;
  }

  // ------------------------------------------------------------------ work

  private void workPhase(Bare bare, List<Problem> work) throws Exception {
    ObjectNode node = report.putObject("work");
    Bare.Result before = bareRun("work: bare before", bare);
    ObjectNode pipeline = pipelineRun("work", "w", work, 0, profile != null);
    Bare.Result after = bareRun("work: bare after", bare);
    double bareRate = (before.tasksPerSecond() + after.tasksPerSecond()) / 2;
    node.set("pipeline", pipeline);
    node.set("bare_before", bareNode(before));
    node.set("bare_after", bareNode(after));
    node.put("bare_tasks_per_s", bareRate);
    double rate = pipeline.path("tasks_per_s").asDouble();
    node.put("ratio", bareRate == 0 ? 0 : rate / bareRate);
    double bareCpu = (reaped(before.cpu()) + reaped(after.cpu())) / 2.0 / Math.max(1, work.size());
    double pipeCpu = pipeline.path("cpu").path("tree_ms_per_task").asDouble();
    node.put("bare_cpu_ms_per_task", bareCpu);
    node.put("cpu_ratio", pipeCpu == 0 ? 0 : bareCpu / pipeCpu);
    report.put("bare_tasks_per_s", bareRate);
  }

  private Bare.Result bareRun(String label, Bare bare) throws InterruptedException {
    progress(label, "running %d programs bare, %d at a time", bare == null ? 0 : sizes.workTasks(), cores);
    Bare.Result r = bare.runAll(cores);
    if (r.passed() != r.programs()) {
      failures.add(label + ": " + (r.programs() - r.passed()) + " program(s) did not complete bare: "
          + r.failed());
    }
    progress(label, "%d/%d completed in %.1f s: %.1f tasks/s, %.1f ms CPU per program (load %.1f)",
        r.passed(), r.programs(), r.wallMs() / 1000, r.tasksPerSecond(),
        (double) reaped(r.cpu()) / Math.max(1, r.programs()), r.cpu().loadAverage());
    phase(label, r.cpu(), r.programs());
    return r;
  }

  /** CPU of the processes this JVM reaped: in a bare phase, the bare runs themselves. */
  private static long reaped(Cpu.Usage u) {
    return u.byKind().getOrDefault(Cpu.REAPED, 0L);
  }

  private ObjectNode bareNode(Bare.Result r) {
    ObjectNode n = json.createObjectNode();
    n.put("cpu_ms_per_program", (double) reaped(r.cpu()) / Math.max(1, r.programs()));
    n.put("programs", r.programs());
    n.put("passed", r.passed());
    n.put("wall_s", r.wallMs() / 1000);
    n.put("tasks_per_s", r.tasksPerSecond());
    n.put("parallel", cores);
    n.set("cpu", cpuNode(r.cpu(), r.programs()));
    return n;
  }

  /**
   * The programs through the whole pipeline, submitted at once; every one must SUCCEED. Returns
   * tasks/s from the first submission to the last final status visible, and the CPU.
   */
  private ObjectNode pipelineRun(String label, String phaseKey, List<Problem> work, int instances,
      boolean profiled) throws Exception {
    String prefix = prefix(phaseKey + (instances == 0 ? "" : Integer.toString(instances)));
    progress(label, "starting the roles (%s) on %s*", instances == 0 ? "as fractal up sizes them"
        : instances + " instance(s) per worker role", prefix);
    ObjectNode n = json.createObjectNode();
    try (PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, prefix,
            workDir.resolve(prefix), instances, Map.of(), roles(), Optional.empty());
        Follower follower = new Follower(stack.endpoints(), serdeConfig, hopTopics(stack.endpoints().topics()), false);
        KafkaProducer<String, Task> producer = producer()) {
      Endpoints e = stack.endpoints();
      warmUp(label, e, follower, producer, work);
      if (profiled) {
        profile.start();
      }
      Cpu.Snapshot cpuBefore = Cpu.snapshot();
      long first = System.currentTimeMillis();
      List<String> ids = submit(e, producer, work, phaseKey);
      boolean all = awaitFinals(label, follower, ids, Duration.ofSeconds(90 + 2L * ids.size()));
      long last = ids.stream().map(follower::finalOf).filter(f -> f != null)
          .mapToLong(Follower.Final::seenMs).max().orElse(System.currentTimeMillis());
      Cpu.Usage cpu = Cpu.between(cpuBefore, Cpu.snapshot());
      if (profiled) {
        n.put("jfr", profile.stop("main-" + label.replace(' ', '-')).toString());
      }
      int ok = 0;
      int partlyAnalysed = 0;
      ArrayNode bad = n.putArray("not_succeeded");
      for (int i = 0; i < ids.size(); i++) {
        Follower.Final f = follower.finalOf(ids.get(i));
        if (f != null && !f.status().getMissingAspects().isEmpty()) {
          partlyAnalysed++; // the merge's analysis timeout passed before all five arrived
        }
        if (f != null && f.status().getState() == TaskState.SUCCEEDED) {
          ok++;
        } else {
          bad.add(work.get(i).taskId() + ": " + (f == null ? "no final status"
              : f.status().getState() + " " + f.status().getFailureReason()));
        }
      }
      if (ok != ids.size()) {
        failures.add(label + ": " + (ids.size() - ok) + " of " + ids.size()
            + " canonical solutions did not SUCCEED through the pipeline" + (all ? "" : " (some never finished)"));
      }
      double wall = Math.max(1, last - first);
      n.put("tasks", ids.size());
      n.put("succeeded", ok);
      n.put("planned_without_all_analyses", partlyAnalysed);
      n.put("wall_s", wall / 1000);
      n.put("tasks_per_s", ids.size() * 1000.0 / wall);
      n.put("roles", String.join(",", stack.roles()));
      n.put("instances", instances == 0 ? "as fractal up" : Integer.toString(instances));
      n.set("cpu", cpuNode(cpu, ids.size()));
      n.set("record_bytes", recordBytes(follower, e.topics()));
      progress(label, "%d/%d SUCCEEDED in %.1f s: %.2f tasks/s, %.0f ms CPU per task in fractal's"
          + " processes, %.0f ms machine-wide (load %.1f); %d planned before all five analyses"
          + " arrived", ok, ids.size(), wall / 1000,
          ids.size() * 1000.0 / wall, (double) cpu.treeMs() / ids.size(),
          (double) cpu.machineBusyMs() / ids.size(), cpu.loadAverage(), partlyAnalysed);
      phase(label, cpu, ids.size());
    }
    return n;
  }

  // ------------------------------------------------------------------ latency

  private void latencyPhase(Bare bare) throws Exception {
    String label = "latency";
    String prefix = prefix("l");
    progress(label, "starting the roles on %s*", prefix);
    ObjectNode node = report.putObject("latency");
    try (PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, prefix,
            workDir.resolve(prefix), 0, Map.of(), roles(), Optional.empty());
        Follower follower = new Follower(stack.endpoints(), serdeConfig, hopTopics(stack.endpoints().topics()), false);
        KafkaProducer<String, Task> producer = producer()) {
      Endpoints e = stack.endpoints();
      warmUp(label, e, follower, producer, problems);
      List<Double> toFinal = new ArrayList<>();
      List<Double> toVisible = new ArrayList<>();
      List<Double> bareMs = new ArrayList<>();
      Map<String, List<Double>> stages = new LinkedHashMap<>();
      Map<String, List<Double>> visible = new LinkedHashMap<>();
      Map<String, List<Double>[]> hopParts = new LinkedHashMap<>();
      TopicCatalog t = e.topics();
      Cpu.Snapshot before = Cpu.snapshot();
      for (int i = 0; i < sizes.latencyTasks(); i++) {
        Problem p = problems.get(i % sizes.workTasks());
        Thread.sleep(300); // idle: the previous task's commits are done
        long submitted = System.currentTimeMillis();
        String id = submit(e, producer, List.of(p), "l" + i).get(0);
        if (!follower.await(() -> follower.finalOf(id) != null, Duration.ofSeconds(60))) {
          failures.add(label + ": task " + id + " (" + p.taskId() + ") had no final status within 60 s");
          continue;
        }
        Follower.Final f = follower.finalOf(id);
        if (f.status().getState() != TaskState.SUCCEEDED) {
          failures.add(label + ": " + p.taskId() + " ended " + f.status().getState() + ": "
              + f.status().getFailureReason());
        }
        long prev = submitted;
        long end = submitted;
        for (TaskState s : STAGES) {
          long at = at(f.status(), s);
          if (at > 0) {
            stages.computeIfAbsent(s.name(), k -> new ArrayList<>()).add((double) (at - prev));
            prev = at;
          }
        }
        long fin = at(f.status(), f.status().getState());
        stages.computeIfAbsent("final (" + f.status().getState().name() + ")", k -> new ArrayList<>())
            .add((double) (fin - prev));
        end = fin;
        toFinal.add((double) (end - submitted));
        toVisible.add((double) (f.seenMs() - submitted));
        // when each hop's record of the task became visible to a read_committed reader: what the
        // transitions' own timestamps (taken before each commit) leave out
        long[] seen = {follower.hop(t.tasks()).firstSeen(id),
            follower.hop(t.analyses()).firstSeen(id), follower.hop(t.analyses()).lastSeen(id),
            follower.hop(t.actionItems()).firstSeen(id),
            follower.hop(t.executionResults()).firstSeen(id),
            follower.hop(t.validationOutcomes()).firstSeen(id), f.seenMs()};
        String[] names = {"task", "first analysis", "fifth analysis", "plan", "execution result",
            "validation outcome", "final status"};
        long at = submitted;
        for (int k = 0; k < seen.length; k++) {
          if (seen[k] > 0) {
            visible.computeIfAbsent(names[k], x -> new ArrayList<>()).add((double) (seen[k] - at));
            at = seen[k];
          }
        }
        // each hop split by the span its record carries: from the input's visibility to the hop
        // taking it up (fetch, dispatch), the hop's own work, and from the work's end to its
        // output's visibility (the transaction commit and the reader's fetch)
        long[][] spans = {follower.hop(t.analyses()).span(id, false),
            follower.hop(t.analyses()).span(id, true), follower.hop(t.actionItems()).span(id, false),
            follower.hop(t.executionResults()).span(id, false),
            follower.hop(t.validationOutcomes()).span(id, false),
            follower.hop(t.taskStatus()).span(id, true)};
        long[] input = {seen[0], seen[0], seen[2], seen[3], seen[4], seen[5]};
        for (int k = 0; k < spans.length; k++) {
          long[] sp = spans[k];
          if (sp == null || input[k] <= 0 || seen[k + 1] <= 0) {
            continue;
          }
          // the plan's span begins with the first analysis, before its input (the fifth) is
          // visible: its work is counted from the input on, so no part is negative
          double begun = Math.max(sp[0] / 1000.0, input[k]);
          double ended = Math.max((sp[0] + sp[1]) / 1000.0, begun);
          List<Double>[] parts = hopParts.computeIfAbsent(names[k + 1], x -> newParts());
          parts[0].add(begun - input[k]);
          parts[1].add(ended - begun);
          parts[2].add(seen[k + 1] - ended);
        }
        bareMs.add(bare.runOne(bare.file(i % sizes.workTasks())));
      }
      Cpu.Usage cpu = Cpu.between(before, Cpu.snapshot());
      node.put("tasks", toFinal.size());
      node.set("to_final_transition_ms", percentiles(toFinal));
      node.set("to_final_status_visible_ms", percentiles(toVisible));
      node.set("bare_run_ms", percentiles(bareMs));
      ObjectNode st = node.putObject("stages_ms_p50");
      stages.forEach((k, v) -> st.put(k, Stats.p(v, 50)));
      ObjectNode st99 = node.putObject("stages_ms_p99");
      stages.forEach((k, v) -> st99.put(k, Stats.p(v, 99)));
      ObjectNode vis = node.putObject("visible_ms_p50");
      visible.forEach((k, v) -> vis.put(k, Stats.p(v, 50)));
      ObjectNode parts = node.putObject("hop_parts_ms_p50");
      hopParts.forEach((k, v) -> {
        ObjectNode h = parts.putObject(k);
        h.put("pickup", Stats.p(v[0], 50));
        h.put("work", Stats.p(v[1], 50));
        h.put("commit_to_visible", Stats.p(v[2], 50));
      });
      node.set("cpu", cpuNode(cpu, Math.max(1, toFinal.size())));
      // the floor under each hop: one exactly-once hop of raw Kafka on the same broker, idle
      RawHop.Result raw = new RawHop(bootstrap, prefix).measure(sizes.latencyTasks(), 1024, 50);
      ObjectNode rawNode = node.putObject("raw_eos_hop_ms");
      rawNode.put("hops_per_task", HOPS_PER_TASK);
      rawNode.set("commit_to_visible", percentiles(raw.commitToVisibleMs()));
      rawNode.set("input_to_output_visible", percentiles(raw.inputToOutputVisibleMs()));
      progress(label, "raw Kafka exactly-once hop on the same broker (zero work, %d records): start of"
          + " the transaction -> visible p50 %.1f ms; input sent -> output visible p50 %.1f ms",
          raw.commitToVisibleMs().size(), Stats.p(raw.commitToVisibleMs(), 50),
          Stats.p(raw.inputToOutputVisibleMs(), 50));
      progress(label, "%d tasks one at a time: submission -> final transition p50 %.0f ms, p99 %.0f ms;"
          + " visible p50 %.0f ms; bare run p50 %.0f ms (load %.1f)", toFinal.size(),
          Stats.p(toFinal, 50), Stats.p(toFinal, 99), Stats.p(toVisible, 50), Stats.p(bareMs, 50),
          cpu.loadAverage());
      phase(label, cpu, Math.max(1, toFinal.size()));
    }
  }

  @SuppressWarnings("unchecked")
  private static List<Double>[] newParts() {
    return new List[] {new ArrayList<Double>(), new ArrayList<Double>(), new ArrayList<Double>()};
  }

  private static long at(TaskStatus s, TaskState state) {
    for (StateTransition t : s.getTransitions()) {
      if (t.getState() == state) {
        return t.getAt().toEpochMilli();
      }
    }
    return -1;
  }

  // ------------------------------------------------------------------ plumbing

  private void plumbingPhase() throws Exception {
    String label = "plumbing";
    String prefix = prefix("z");
    progress(label, "starting the roles with %s=true on %s*", ZeroCost.SETTING, prefix);
    ObjectNode node = report.putObject("plumbing");
    Map<String, Double> sizesByHop = new LinkedHashMap<>();
    Map<String, Double> rates = new LinkedHashMap<>();
    try (PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, prefix,
            workDir.resolve(prefix), 0, Map.of(ZeroCost.SETTING, "true"), roles(), Optional.empty());
        Follower follower = new Follower(stack.endpoints(), serdeConfig, hopTopics(stack.endpoints().topics()), false);
        KafkaProducer<String, Task> producer = producer()) {
      Endpoints e = stack.endpoints();
      TopicCatalog t = e.topics();
      warmUpZeroCost(label, e, follower, producer);
      List<Problem> work = new ArrayList<>();
      for (int i = 0; i < sizes.plumbingTasks(); i++) {
        work.add(problems.get(i % problems.size()));
      }
      if (profile != null) {
        profile.start();
      }
      Cpu.Snapshot before = Cpu.snapshot();
      long first = System.currentTimeMillis();
      List<String> ids = submit(e, producer, work, "z");
      awaitFinals(label, follower, ids, Duration.ofSeconds(120 + ids.size() / 10));
      Cpu.Usage cpu = Cpu.between(before, Cpu.snapshot());
      if (profile != null) {
        node.put("jfr", profile.stop("main-plumbing").toString());
      }
      long last = ids.stream().map(follower::finalOf).filter(f -> f != null)
          .mapToLong(Follower.Final::seenMs).max().orElse(System.currentTimeMillis());
      int asExpected = 0;
      for (String id : ids) {
        Follower.Final f = follower.finalOf(id);
        if (f != null && f.status().getState() == TaskState.FAILED
            && String.valueOf(f.status().getFailureReason()).startsWith(ZeroCost.ERROR_TYPE)) {
          asExpected++;
        }
      }
      if (asExpected != ids.size()) {
        failures.add(label + ": " + (ids.size() - asExpected) + " of " + ids.size()
            + " zero-cost tasks did not end FAILED with " + ZeroCost.ERROR_TYPE);
      }
      double wall = Math.max(1, last - first);
      node.put("tasks", ids.size());
      node.put("as_expected", asExpected);
      node.put("tasks_per_s", ids.size() * 1000.0 / wall);
      for (TopicSpec hop : List.of(t.tasks(), t.analyses(), t.actionItems(), t.executionResults(),
          t.validationOutcomes(), t.taskStatus())) {
        Follower.Hop h = follower.hop(hop);
        rates.put(hop.baseName(), h.ratePerSecondSince(first));
        sizesByHop.put(hop.baseName(), h.meanBytes());
      }
      node.set("cpu", cpuNode(cpu, ids.size()));
      progress(label, "%d/%d zero-cost tasks through in %.1f s: %.0f tasks/s (load %.1f)",
          asExpected, ids.size(), wall / 1000, ids.size() * 1000.0 / wall, cpu.loadAverage());
      phase(label, cpu, ids.size());
    }
    List<HopsAlone.Output> alone = hopsAlone(prefix);
    // raw Kafka on the same broker, at the sizes the hops carried
    RawKafka raw = new RawKafka(bootstrap, prefix(""));
    Map<Integer, RawKafka.Result[]> bySize = new LinkedHashMap<>();
    List<Integer> wanted = new ArrayList<>();
    if (sizes.rawPerHop()) {
      sizesByHop.values().forEach(b -> wanted.add(roundSize(b)));
    } else {
      wanted.add(roundSize(sizesByHop.values().stream().mapToDouble(Double::doubleValue).average()
          .orElse(1000)));
    }
    Cpu.Snapshot before = Cpu.snapshot();
    for (int size : wanted.stream().distinct().toList()) {
      RawKafka.Result alos = raw.measure(false, size, sizes.rawRecords());
      RawKafka.Result eos = raw.measure(true, size, sizes.rawRecords());
      bySize.put(size, new RawKafka.Result[] {alos, eos});
      progress("plumbing: raw Kafka", "%d B: at-least-once produce %.0f/s consume %.0f/s;"
          + " exactly-once produce %.0f/s consume %.0f/s (load %.1f)", size,
          alos.producePerSecond(), alos.consumePerSecond(), eos.producePerSecond(),
          eos.consumePerSecond(), Cpu.loadAverage());
    }
    phase("plumbing: raw Kafka", Cpu.between(before, Cpu.snapshot()), 1);
    // raw Kafka at a hop's size: measured per hop (full), or the one mean size (quick)
    java.util.function.Function<String, RawKafka.Result[]> rawFor = topic -> bySize.get(
        sizes.rawPerHop() ? roundSize(sizesByHop.get(topic)) : bySize.keySet().iterator().next());
    ArrayNode hops = node.putArray("hops");
    double minAlos = Double.MAX_VALUE;
    double minEos = Double.MAX_VALUE;
    for (Map.Entry<String, Double> hop : rates.entrySet()) {
      double bytes = sizesByHop.get(hop.getKey());
      RawKafka.Result[] r = rawFor.apply(hop.getKey());
      ObjectNode h = hops.addObject();
      h.put("topic", hop.getKey());
      h.put("mean_record_bytes", bytes);
      h.put("pipeline_records_per_s", hop.getValue());
      h.put("raw_bytes", r[0].recordBytes());
      h.put("raw_alos_produce_per_s", r[0].producePerSecond());
      h.put("raw_alos_consume_per_s", r[0].consumePerSecond());
      h.put("raw_eos_produce_per_s", r[1].producePerSecond());
      h.put("raw_eos_consume_per_s", r[1].consumePerSecond());
      double ra = hop.getValue() / r[0].hopPerSecond();
      double re = hop.getValue() / r[1].hopPerSecond();
      h.put("ratio_alos", ra);
      h.put("ratio_eos", re);
      if (!hop.getKey().equals("fractal.tasks")) { // the benchmark's own producer, not a hop
        minAlos = Math.min(minAlos, ra);
        minEos = Math.min(minEos, re);
      }
    }
    node.put("pipeline_worst_hop_ratio_alos", minAlos);
    node.put("pipeline_worst_hop_ratio_eos", minEos);
    ArrayNode alones = node.putArray("hops_alone");
    minAlos = Double.MAX_VALUE;
    minEos = Double.MAX_VALUE;
    for (HopsAlone.Output o : alone) {
      RawKafka.Result[] r = rawFor.apply(o.topic());
      ObjectNode h = alones.addObject();
      h.put("topic", o.topic());
      h.put("role", o.role());
      h.put("expected", o.expected());
      h.put("seen", o.seen());
      h.put("records_per_s", o.perSecond());
      h.put("mean_record_bytes", o.meanBytes());
      double ra = o.perSecond() / r[0].hopPerSecond();
      double re = o.perSecond() / r[1].hopPerSecond();
      h.put("raw_alos_per_s", r[0].hopPerSecond());
      h.put("raw_eos_per_s", r[1].hopPerSecond());
      h.put("ratio_alos", ra);
      h.put("ratio_eos", re);
      minAlos = Math.min(minAlos, ra);
      minEos = Math.min(minEos, re);
    }
    node.put("worst_hop_ratio_alos", alone.isEmpty() ? 0 : minAlos);
    node.put("worst_hop_ratio_eos", alone.isEmpty() ? 0 : minEos);
  }

  /**
   * Each hop's role alone, its input loaded with what the zero-cost run just carried on
   * {@code source}'s topics ({@link HopsAlone}); a hop that does not write what it wrote there
   * fails the benchmark.
   */
  private List<HopsAlone.Output> hopsAlone(String source) throws Exception {
    HopsAlone hops = new HopsAlone(bootstrap);
    TopicCatalog from = TopicCatalog.withPrefix(source);
    List<HopsAlone.Output> all = new ArrayList<>();
    for (HopsAlone.Hop hop : HopsAlone.hops(from)) {
      String label = "plumbing: " + hop.role() + " alone";
      String p = prefix("z" + hop.role());
      TopicCatalog to = TopicCatalog.withPrefix(p);
      Map<String, Long> expected = new LinkedHashMap<>(); // by base name: what the pipeline wrote
      for (TopicSpec out : hop.outputs()) {
        expected.put(out.baseName(), hops.count(out.name()));
      }
      Map<String, Long> copied = hops.copy(from, to, hop.inputs());
      long records = copied.values().stream().mapToLong(Long::longValue).sum();
      Cpu.Snapshot before = Cpu.snapshot();
      List<HopsAlone.Output> outs;
      try (HopsAlone.Counter counter = hops.counter(hop, to);
          PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, p, workDir.resolve(p), 0,
              Map.of(ZeroCost.SETTING, "true"), Set.of(hop.role()), Optional.empty())) {
        outs = counter.await(expected, Duration.ofSeconds(60 + records / 100));
      }
      phase(label, Cpu.between(before, Cpu.snapshot()), 1);
      List<String> line = new ArrayList<>();
      for (HopsAlone.Output o : outs) {
        all.add(o);
        line.add(String.format(Locale.ROOT, "%s %d/%d at %.0f rec/s", o.topic(), o.seen(),
            o.expected(), o.perSecond()));
        if (!o.complete()) {
          failures.add(label + ": wrote " + o.seen() + " of the " + o.expected() + " records on "
              + o.topic() + " that it wrote in the pipeline");
        }
      }
      progress(label, "from a backlog of %s: %s (load %.1f)", copied, String.join("; ", line),
          Cpu.loadAverage());
    }
    return all;
  }

  private static int roundSize(double bytes) {
    return Math.max(100, (int) (Math.round(bytes / 100.0) * 100));
  }

  // ------------------------------------------------------------------ rule propagation

  private void propagationPhase() throws Exception {
    ObjectNode node = report.putObject("rule_propagation");
    node.put("commit_interval_ms", StreamsOptions.defaults(workDir).commitInterval().toMillis());
    StreamsSettings demo = StreamsSettings.demo();
    node.set("early_emission", propagation("rules: early", "re", demo, false, sizes.earlyRules()));
    // as the production settings: a window's pattern is emitted when it closes, not at once
    StreamsSettings.Patterns p = demo.patterns();
    StreamsSettings closing = demo.withPatterns(new StreamsSettings.Patterns(p.windowSize(),
        p.advance(), p.grace(), p.minOccurrences(), 0.95));
    node.set("window_close", propagation("rules: window close", "rc", closing, true,
        sizes.closeRules()));
  }

  /**
   * For each rule: three failures of a fresh pattern (and, on the close path, an event beyond the
   * window that closes it), two more to complete the trial's sample of five, the trial's items
   * answered at once (CONTROL fails, TREATMENT and GUARD pass: the executors' work left out), and
   * the times until the CANDIDATE and then the ACTIVE rule are visible to a read_committed
   * reader. Only the streams role runs: nothing else reads these topics.
   */
  private ObjectNode propagation(String label, String phaseKey, StreamsSettings settings,
      boolean closePath, int rules) throws Exception {
    String prefix = prefix(phaseKey);
    progress(label, "starting the streams role on %s*", prefix);
    ObjectNode n = json.createObjectNode();
    List<Double> toCandidate = new ArrayList<>();
    List<Double> decidedToActive = new ArrayList<>();
    List<Double> toActive = new ArrayList<>();
    try (PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, prefix,
            workDir.resolve(prefix), 0, Map.of(), Set.of("streams"), Optional.of(settings));
        Follower follower = new Follower(stack.endpoints(), serdeConfig,
            List.of(stack.endpoints().topics().protocolRules(), stack.endpoints().topics().actionItems(),
                stack.endpoints().topics().ruleTrials()), true);
        KafkaProducer<String, SpecificRecord> producer = recordProducer()) {
      TopicCatalog t = stack.endpoints().topics();
      long eventTime = System.currentTimeMillis();
      // the guard arm's pool: five passing actions
      for (int i = 1; i <= 5; i++) {
        String task = "ok-" + i;
        send(producer, t.actionItems(), task, action(task, eventTime), eventTime);
      }
      producer.flush();
      Thread.sleep(1_000); // the actions are remembered before their outcomes arrive
      for (int i = 1; i <= 5; i++) {
        String task = "ok-" + i;
        send(producer, t.validationOutcomes(), task, outcome(task, task + ":plan:1", true, null, eventTime), eventTime);
      }
      producer.flush();
      Cpu.Snapshot before = Cpu.snapshot();
      long windowSpan = settings.patterns().windowSize().plus(settings.patterns().grace())
          .plus(settings.patterns().advance()).toMillis() + 1;
      for (int r = 0; r < rules + 1; r++) { // the first rule warms up, not counted
        String fixKey = "benchmod" + r;
        String ruleId = io.fractalrmo.streams.rules.RuleIds.ruleId(
            io.fractalrmo.streams.patterns.PatternKey.of("DEPENDENCY", "NameError", fixKey),
            io.fractalrmo.contracts.RuleActionKind.ADD_MISSING_IMPORTS);
        eventTime = Math.max(eventTime + 1, System.currentTimeMillis());
        for (int i = 1; i <= 5; i++) {
          String task = "r" + r + "-" + i;
          send(producer, t.actionItems(), task, action(task, eventTime), eventTime);
        }
        producer.flush();
        long mark = 0;
        // errors keyed by task id, as the runners write them: the outcome collector finds each
        // one's action in the same partition (the pattern extractor regroups them by pattern)
        for (int i = 1; i <= 3; i++) {
          String task = "r" + r + "-" + i;
          send(producer, t.errors(), task, error(task, fixKey, eventTime + i), eventTime + i);
        }
        producer.flush();
        mark = System.currentTimeMillis();
        if (closePath) {
          // an event beyond every window of the three: stream time passes their end + grace.
          // Sent once the streams app has committed past the three (its repartitioned copies
          // are in the same transaction), so the clock cannot overtake them through another
          // partition and make them late.
          eventTime = eventTime + windowSpan;
          if (!awaitConsumed(t.prefix() + "fractal-streams", t.errors().name(), Duration.ofSeconds(60))) {
            failures.add(label + ": the streams app did not consume the errors of " + ruleId
                + " within 60 s");
            continue;
          }
          producer.send(new ProducerRecord<>(t.errors().name(), null, eventTime, "r" + r + "-clock",
              error("r" + r + "-clock", fixKey, eventTime))).get(30, TimeUnit.SECONDS);
          mark = System.currentTimeMillis();
        }
        final long from = mark;
        if (!follower.await(() -> follower.ruleSeen(ruleId, "CANDIDATE") > 0, Duration.ofSeconds(60))) {
          failures.add(label + ": no CANDIDATE for " + ruleId + " within 60 s");
          continue;
        }
        double candidate = follower.ruleSeen(ruleId, "CANDIDATE") - from;
        for (int i = 4; i <= 5; i++) {
          String task = "r" + r + "-" + i;
          send(producer, t.errors(), task, error(task, fixKey, eventTime + i), eventTime + i);
        }
        producer.flush();
        if (!follower.await(() -> follower.trialSize(ruleId) > 0
            && follower.trialItems(ruleId).size() >= follower.trialSize(ruleId), Duration.ofSeconds(60))) {
          failures.add(label + ": the trial of " + ruleId + " did not issue its items within 60 s");
          continue;
        }
        long lastOutcome = 0;
        for (ActionItem a : follower.trialItems(ruleId)) {
          boolean pass = a.getTrial().getArm() != TrialArm.CONTROL;
          send(producer, t.validationOutcomes(), a.getTaskId(),
              outcome(a.getTaskId(), a.getActionId(), pass, a.getTrial(), eventTime), eventTime);
        }
        producer.flush();
        lastOutcome = System.currentTimeMillis();
        if (!follower.await(() -> follower.ruleSeen(ruleId, "ACTIVE") > 0, Duration.ofSeconds(60))) {
          failures.add(label + ": " + ruleId + " not ACTIVE within 60 s of its trial's outcomes");
          continue;
        }
        long active = follower.ruleSeen(ruleId, "ACTIVE");
        if (r == 0) {
          continue;
        }
        toCandidate.add(candidate);
        decidedToActive.add((double) (active - lastOutcome));
        toActive.add((double) (active - from));
      }
      Cpu.Usage cpu = Cpu.between(before, Cpu.snapshot());
      n.put("rules", toCandidate.size());
      n.put("from", closePath ? "the event that closes the window (stream time past end + grace)"
          : "the third matching error event");
      n.set("to_candidate_ms", percentiles(toCandidate));
      n.set("trial_decided_to_active_ms", percentiles(decidedToActive));
      n.set("to_active_ms", percentiles(toActive));
      progress(label, "%d rule(s): -> CANDIDATE p50 %.0f ms; trial decided -> ACTIVE p50 %.0f p99 %.0f ms;"
          + " -> ACTIVE (trial answered at once) p50 %.0f ms (load %.1f)", toCandidate.size(),
          Stats.p(toCandidate, 50), Stats.p(decidedToActive, 50), Stats.p(decidedToActive, 99),
          Stats.p(toActive, 50), cpu.loadAverage());
      phase(label, cpu, Math.max(1, toCandidate.size()));
    }
    return n;
  }

  /** Whether group {@code groupId} committed every partition of {@code topic} to its end, within {@code timeout}. */
  private boolean awaitConsumed(String groupId, String topic, Duration timeout) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
      admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
          .partitions().forEach(p -> latest.put(new TopicPartition(topic, p.partition()),
              OffsetSpec.latest()));
      Map<TopicPartition, Long> ends = new java.util.HashMap<>();
      admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS)
          .forEach((tp, info) -> ends.put(tp, info.offset()));
      long deadline = System.currentTimeMillis() + timeout.toMillis();
      while (System.currentTimeMillis() < deadline) {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
            .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        boolean all = ends.entrySet().stream().allMatch(e -> e.getValue() == 0
            || (committed.get(e.getKey()) != null
                && committed.get(e.getKey()).offset() >= e.getValue()));
        if (all) {
          return true;
        }
        Thread.sleep(20); // polling the group's offsets, not waiting for anything to happen
      }
      return false;
    }
  }

  private static ActionItem action(String task, long at) {
    return ActionItem.newBuilder().setActionId(task + ":plan:1").setTaskId(task).setSequence(1)
        .setType(ActionType.EXECUTE).setPriority(3).setEstimatedTimeMs(100L)
        .setInput(ExecutionInput.newBuilder().setCode("def add(a, b):\n    return a + b\n")
            .setTestCode("def check(candidate):\n    assert candidate(1, 2) == 3\n")
            .setEntryPoint("add").build())
        .setConstraints(ExecutionConstraints.newBuilder().setTimeoutMs(5_000L).build())
        .setFindings(List.of()).setMissingAspects(List.of()).setAppliedRuleIds(List.of())
        .setAttempt(1).setValidationLevel(3).setTrial(null).setCreatedAt(Instant.ofEpochMilli(at))
        .build();
  }

  private static ErrorEvent error(String task, String fixKey, long at) {
    return ErrorEvent.newBuilder().setErrorId("e-" + task).setAgentId("fractal-bench")
        .setAgentType("executor").setTaskId(task).setActionId(task + ":plan:1")
        .setCategory(ErrorCategory.DEPENDENCY).setErrorType("NameError")
        .setMessage("name '" + fixKey + "' is not defined").setFixKey(fixKey).setTrialId(null)
        .setContext(Map.of("missing_name", fixKey)).setOccurredAt(Instant.ofEpochMilli(at)).build();
  }

  private static ValidationOutcome outcome(String task, String actionId, boolean ok,
      io.fractalrmo.contracts.TrialSpec trial, long at) {
    return ValidationOutcome.newBuilder().setTaskId(task).setActionId(actionId)
        .setValidatorId("fractal-bench").setSuccess(ok).setLevelRequested(3)
        .setLevelReached(ok ? 3 : 2).setDurationMs(5).setExecutionDurationMs(20).setTrial(trial)
        .setValidatedAt(Instant.ofEpochMilli(at)).build();
  }

  private static void send(KafkaProducer<String, SpecificRecord> p, TopicSpec topic, String key,
      SpecificRecord value, long ts) {
    p.send(new ProducerRecord<>(topic.name(), null, ts, key, value));
  }

  // ------------------------------------------------------------------ scaling

  private void scalingPhase() throws Exception {
    ArrayNode node = report.putArray("scaling");
    double bareRate = report.path("bare_tasks_per_s").asDouble();
    List<Problem> work = problems.subList(0, Math.min(sizes.scalingTasks(), problems.size()));
    for (int k : sizes.scaling()) {
      ObjectNode run = pipelineRun("scaling x" + k, "s", work, k, false);
      run.put("instances_per_worker_role", k);
      run.put("ratio", bareRate == 0 ? 0 : run.path("tasks_per_s").asDouble() / bareRate);
      node.add(run);
    }
  }

  // ------------------------------------------------------------------ telemetry

  /**
   * What metrics and tracing cost: the zero-cost plumbing workload (where the pipeline's own
   * work is all there is) run off, on, on, off in this run, each on fresh topics. Off: no trace
   * headers, no metrics bound. On: trace headers on every record (the process's tracing, as
   * {@code fractal up} runs it) and every role's meters — Kafka's client and Streams metrics
   * included — bound to a Prometheus registry scraped every 5 s.
   */
  private void telemetryPhase() throws Exception {
    ObjectNode node = report.putObject("telemetry");
    io.fractalrmo.runtime.trace.Tracing base = io.fractalrmo.runtime.trace.Tracing.process();
    node.put("tracing_when_on", base.enabled() ? "on" : "off (FRACTAL_TRACING=off)");
    List<double[]> off = new ArrayList<>();
    List<double[]> on = new ArrayList<>();
    ArrayNode runs = node.putArray("runs");
    try {
      // a first run, not counted, warms the JIT (the first run here cost 60 % more CPU per task)
      io.fractalrmo.runtime.trace.Tracing.setProcess(base);
      telemetryRun("telemetry warm-up (not counted)", "tw", true, node.putArray("warm_up"));
      // off, on, on, off: a linear drift of the machine (other load) cancels out
      for (int round = 0; round < 2; round++) {
        for (boolean enabled : round == 0 ? new boolean[] {false, true}
            : new boolean[] {true, false}) {
          io.fractalrmo.runtime.trace.Tracing.setProcess(enabled ? base
              : io.fractalrmo.runtime.trace.Tracing.off());
          double[] r = telemetryRun("telemetry " + (enabled ? "on" : "off") + " #" + (round + 1),
              "t" + (enabled ? "1" : "0") + round, enabled, runs);
          (enabled ? on : off).add(r);
        }
      }
    } finally {
      io.fractalrmo.runtime.trace.Tracing.setProcess(base);
    }
    double offCpu = off.stream().mapToDouble(r -> r[0]).average().orElse(0);
    double onCpu = on.stream().mapToDouble(r -> r[0]).average().orElse(0);
    double offRate = off.stream().mapToDouble(r -> r[1]).average().orElse(0);
    double onRate = on.stream().mapToDouble(r -> r[1]).average().orElse(0);
    node.put("off_cpu_ms_per_task", offCpu);
    node.put("on_cpu_ms_per_task", onCpu);
    node.put("cpu_overhead_share", offCpu == 0 ? 0 : onCpu / offCpu - 1);
    node.put("off_tasks_per_s", offRate);
    node.put("on_tasks_per_s", onRate);
    node.put("throughput_change_share", offRate == 0 ? 0 : onRate / offRate - 1);
    progress("telemetry", "zero-cost tasks, mean of 2 runs each: off %.1f ms CPU/task %.0f tasks/s;"
        + " on %.1f ms CPU/task %.0f tasks/s: CPU %+.1f%%, throughput %+.1f%% (load %.1f)",
        offCpu, offRate, onCpu, onRate, offCpu == 0 ? 0 : (onCpu / offCpu - 1) * 100,
        offRate == 0 ? 0 : (onRate / offRate - 1) * 100, Cpu.loadAverage());
  }

  /** One zero-cost run; returns {CPU ms per task (fractal's processes), tasks/s}. */
  private double[] telemetryRun(String label, String key, boolean telemetry, ArrayNode runs)
      throws Exception {
    String prefix = prefix(key);
    progress(label, "starting the roles with %s=true on %s*", ZeroCost.SETTING, prefix);
    io.micrometer.prometheusmetrics.PrometheusMeterRegistry meters = null;
    io.fractalrmo.app.observe.RoleMetrics metrics = null;
    java.util.concurrent.ScheduledExecutorService scraper = null;
    try (PhaseStack stack = PhaseStack.start(bootstrap, registry, jdbc, prefix,
            workDir.resolve(prefix), 0, Map.of(ZeroCost.SETTING, "true"), roles(), Optional.empty());
        Follower follower = new Follower(stack.endpoints(), serdeConfig, hopTopics(stack.endpoints().topics()), false);
        KafkaProducer<String, Task> producer = producer()) {
      if (telemetry) {
        meters = io.fractalrmo.app.observe.ProcessMetrics.registry();
        metrics = new io.fractalrmo.app.observe.RoleMetrics(meters);
        for (Map.Entry<String, Object> r : stack.running().entrySet()) {
          metrics.bindRole(r.getKey(), r.getValue(),
              io.fractalrmo.app.observe.RoleProbe.of(r.getKey(), r.getValue()));
        }
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry scraped = meters;
        scraper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        scraper.scheduleAtFixedRate(scraped::scrape, 0, 5, TimeUnit.SECONDS);
      }
      Endpoints e = stack.endpoints();
      warmUpZeroCost(label, e, follower, producer);
      List<Problem> work = new ArrayList<>();
      for (int i = 0; i < sizes.plumbingTasks(); i++) {
        work.add(problems.get(i % problems.size()));
      }
      Cpu.Snapshot before = Cpu.snapshot();
      long first = System.currentTimeMillis();
      List<String> ids = submit(e, producer, work, key);
      if (!awaitFinals(label, follower, ids, Duration.ofSeconds(120 + ids.size() / 10))) {
        failures.add(label + ": not every zero-cost task finished");
      }
      Cpu.Usage cpu = Cpu.between(before, Cpu.snapshot());
      long last = ids.stream().map(follower::finalOf).filter(f -> f != null)
          .mapToLong(Follower.Final::seenMs).max().orElse(System.currentTimeMillis());
      double wall = Math.max(1, last - first);
      double perTask = (double) cpu.treeMs() / ids.size();
      double rate = ids.size() * 1000.0 / wall;
      ObjectNode run = runs.addObject();
      run.put("telemetry", telemetry);
      run.put("tasks", ids.size());
      run.put("tasks_per_s", rate);
      run.put("mean_task_record_bytes", follower.hop(e.topics().analyses()).meanBytes());
      run.set("cpu", cpuNode(cpu, ids.size()));
      progress(label, "%d tasks in %.1f s: %.0f tasks/s, %.1f ms CPU per task in fractal's processes"
          + " (load %.1f)", ids.size(), wall / 1000, rate, perTask, cpu.loadAverage());
      phase(label, cpu, ids.size());
      return new double[] {perTask, rate};
    } finally {
      if (scraper != null) {
        scraper.shutdownNow();
      }
      if (metrics != null) {
        metrics.close();
      }
      if (meters != null) {
        meters.close();
      }
    }
  }

  // ------------------------------------------------------------------ shared

  private Set<String> roles() {
    return outbox ? ALL_ROLES : Set.of("sink", "streams", "validator", "executor", "analyzer");
  }

  private String prefix(String phase) {
    return "bench-" + runId + "-" + phase + ".";
  }

  private static List<TopicSpec> hopTopics(TopicCatalog t) {
    return List.of(t.tasks(), t.analyses(), t.actionItems(), t.executionResults(),
        t.validationOutcomes(), t.taskStatus());
  }

  private ObjectNode recordBytes(Follower follower, TopicCatalog t) {
    ObjectNode n = json.createObjectNode();
    for (TopicSpec hop : hopTopics(t)) {
      n.put(hop.baseName(), follower.hop(hop).meanBytes());
    }
    return n;
  }

  private void warmUp(String label, Endpoints e, Follower follower, KafkaProducer<String, Task> producer,
      List<Problem> from) throws Exception {
    List<Problem> w = from.subList(0, Math.min(sizes.warmUp(), from.size()));
    List<String> ids = submit(e, producer, w, "warm");
    if (!awaitFinals(label + " warm-up", follower, ids, Duration.ofSeconds(120))) {
      failures.add(label + ": the warm-up tasks did not finish within 120 s");
    }
  }

  private void warmUpZeroCost(String label, Endpoints e, Follower follower,
      KafkaProducer<String, Task> producer) throws Exception {
    List<Problem> w = problems.subList(0, 20);
    List<String> ids = submit(e, producer, w, "warm");
    awaitFinals(label + " warm-up", follower, ids, Duration.ofSeconds(120));
  }

  private boolean awaitFinals(String label, Follower follower, List<String> ids, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long lastPrint = System.nanoTime();
    // counted as final statuses arrive, not by looking every id up each time: this JVM's CPU is
    // part of what the benchmark measures
    int seen = follower.finalCount(); // before the look-ups: a final status seen meanwhile counts
    Set<String> waiting = new java.util.HashSet<>(ids);
    waiting.removeIf(id -> follower.finalOf(id) != null);
    while (true) {
      List<String> newFinals = follower.finalsFrom(seen);
      seen += newFinals.size();
      newFinals.forEach(waiting::remove);
      long done = ids.size() - waiting.size();
      if (done == ids.size()) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        progress(label, "%d of %d tasks without a final status after %d s; moving on",
            ids.size() - done, ids.size(), timeout.toSeconds());
        return false;
      }
      if (System.nanoTime() - lastPrint > 5_000_000_000L) {
        progress(label, "%d/%d final (load %.1f)", done, ids.size(), Cpu.loadAverage());
        lastPrint = System.nanoTime();
      }
      follower.await(() -> false, Duration.ofMillis(20));
    }
  }

  private List<String> submit(Endpoints e, KafkaProducer<String, Task> producer, List<Problem> work,
      String tag) throws Exception {
    List<String> ids = new ArrayList<>();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (int i = 0; i < work.size(); i++) {
      Problem p = work.get(i);
      String id = "bench-" + runId + "-" + tag + "-" + i + "-" + p.taskId().replace('/', '-');
      ids.add(id);
      long now = System.currentTimeMillis();
      sends.add(producer.send(new ProducerRecord<>(e.topics().tasks().name(), id, task(id, p, tag, now))));
    }
    producer.flush();
    for (Future<RecordMetadata> f : sends) {
      f.get(30, TimeUnit.SECONDS);
    }
    return ids;
  }

  /** The Task an upstream producer sends for a canonical solution: code, tests, entry point. */
  static Task task(String id, Problem p, String tag, long now) {
    return Task.newBuilder().setTaskId(id).setDescription(p.taskId() + " (canonical solution)")
        .setPriority(3).setLanguage(Language.PYTHON).setCode(p.solution())
        .setEntryPoint(p.entryPoint()).setTestCode(p.test()).setTimeLimitMs(TIME_LIMIT_MS)
        .setMemoryLimitMb(256).setValidationLevel(3).setSource("fractal-bench")
        .setSubmittedAt(Instant.ofEpochMilli(now))
        .setAttributes(Map.of("bench.problem", p.taskId(), "bench.phase", tag))
        .build();
  }

  private KafkaProducer<String, Task> producer() {
    Map<String, Object> p = producerConfig();
    Serializer<Task> values = FractalSerdes.value(Task.class, serdeConfig).serializer();
    return new KafkaProducer<>(p, new StringSerializer(), values);
  }

  private KafkaProducer<String, SpecificRecord> recordProducer() {
    Map<String, Serializer<SpecificRecord>> byType = new java.util.concurrent.ConcurrentHashMap<>();
    Serializer<SpecificRecord> values = (topic, value) -> value == null ? null
        : byType.computeIfAbsent(value.getClass().getName(), k -> serializer(value.getClass()))
            .serialize(topic, value);
    return new KafkaProducer<>(producerConfig(), new StringSerializer(), values);
  }

  @SuppressWarnings("unchecked")
  private Serializer<SpecificRecord> serializer(Class<?> type) {
    return (Serializer<SpecificRecord>) (Serializer<?>) FractalSerdes.value(
        (Class<? extends SpecificRecord>) type, serdeConfig).serializer();
  }

  private Map<String, Object> producerConfig() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "fractal-bench");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return p;
  }

  private ObjectNode cpuNode(Cpu.Usage u, int tasks) {
    ObjectNode n = json.createObjectNode();
    n.put("wall_s", u.wallMs() / 1000);
    n.put("load_average_1m", u.loadAverage());
    n.put("machine_busy_ms", u.machineBusyMs());
    n.put("machine_busy_share", u.machineBusyShare());
    n.put("machine_busy_ms_per_task", (double) u.machineBusyMs() / tasks);
    n.put("tree_ms", u.treeMs());
    n.put("tree_ms_per_task", (double) u.treeMs() / tasks);
    ObjectNode kinds = n.putObject("tree_ms_by_process");
    u.byKind().forEach(kinds::put);
    ObjectNode threads = n.putObject("jvm_threads_ms");
    u.jvmThreadsMs().entrySet().stream().limit(15).forEach(e -> threads.put(e.getKey(), e.getValue()));
    return n;
  }

  private void phase(String label, Cpu.Usage u, int tasks) {
    ObjectNode n = cpuNode(u, tasks);
    n.put("phase", label);
    phases.add(n);
  }

  private ObjectNode percentiles(List<Double> xs) {
    ObjectNode n = json.createObjectNode();
    n.put("n", xs.size());
    n.put("p50", Stats.p(xs, 50));
    n.put("p99", Stats.p(xs, 99));
    n.put("max", xs.stream().mapToDouble(Double::doubleValue).max().orElse(0));
    return n;
  }

  private void progress(String phase, String format, Object... args) {
    out.printf(Locale.ROOT, "[%s] %s%n", phase, String.format(Locale.ROOT, format, args));
    out.flush();
  }

  /** Percentiles (nearest rank). */
  static final class Stats {
    private Stats() {
    }

    static double p(List<Double> xs, int pct) {
      if (xs.isEmpty()) {
        return 0;
      }
      List<Double> s = xs.stream().sorted().toList();
      int rank = (int) Math.ceil(pct / 100.0 * s.size()) - 1;
      return s.get(Math.max(0, Math.min(s.size() - 1, rank)));
    }
  }
}
