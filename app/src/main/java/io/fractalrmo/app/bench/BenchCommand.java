package io.fractalrmo.app.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.terminal.RoleLogs;
import io.fractalrmo.app.up.LocalStack;
import io.fractalrmo.app.up.StackSettings;
import io.fractalrmo.platform.FileTrees;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fractal bench}: every figure of the pipeline's cost, side by side with its baseline. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Measure the pipeline against what it exists to do, in one run, and print one table side by "
            + "side (also DIR/bench.json and an HTML chart beside it). Starts the embedded broker, "
            + "registry and PostgreSQL (or attaches to the ones given with --bootstrap-servers and "
            + "--schema-registry-url, and --jdbc-url for the sink), then starts the pipeline's roles "
            + "for each phase on topics of its own (prefix bench-<run>-<phase>.), as 'fractal up' "
            + "starts them.",
        "",
        "Figures (each phase prints a progress line; CPU is counted for every phase):",
        "  work        the 164 canonical HumanEval solutions with their tests through the whole "
            + "pipeline, submitted at once as an upstream producer would (after a few warm-up tasks); "
            + "tasks/s = tasks / (first submission -> last final status visible to a read_committed "
            + "reader). Every one must SUCCEED. Bare: the same programs (solution, tests, "
            + "check(entry_point), then a completion marker) run with python3 -I, as many at once as "
            + "there are cores, once before and once after; the average is the baseline. ratio = "
            + "pipeline / bare tasks/s (goal >= 0.5). CPU ms per task: fractal's processes (this JVM, "
            + "the broker, PostgreSQL, helpers, sandboxes, from /proc/<pid>/stat) and the machine "
            + "(/proc/stat busy time, other sessions included); the CPU ratio (bare / pipeline CPU "
            + "per task) barely moves with the machine's load.",
        "  latency     one task at a time on an idle pipeline: submission (submitted_at) -> final "
            + "transition, p50/p99 (goal p50 <= 60 ms and <= bare + 40 ms), the time until the final "
            + "status is visible, each stage's share from the TaskStatus transitions (RECEIVED, "
            + "ANALYZING, PLANNED, EXECUTING, VALIDATING, final), against one bare run of the same "
            + "program; and the floor under each of a task's five exactly-once hops: one raw Kafka "
            + "hop on the same broker (a read_committed consumer, a transactional producer with no "
            + "linger sending one record and the consumed offset, commit), start of the transaction "
            + "-> visible to a read_committed reader.",
        "  plumbing    the same workers and topology with the worker roles' bench.zero-cost=true "
            + "(each record answered at once with an output of its real shape; never a success, "
            + "no ErrorEvent): records/s on each hop's output topic, against Kafka's own "
            + "ProducerPerformance/ConsumerPerformance on the same broker at that hop's mean record "
            + "size, at-least-once (acks=all, idempotent) and exactly-once (transactions every "
            + "100 ms, read_committed); raw = min(produce, consume). First the whole pipeline "
            + "(every hop at the pace of its slowest stage), then each hop's role alone (analyzer, "
            + "streams, executor, validator) on a prefix of its own, its input loaded beforehand "
            + "with the records the pipeline run carried, its output counted by a read_committed "
            + "reader from first to last record: the hop's own capacity, which the goal (>= 0.5 / "
            + ">= 0.35) is for. A hop alone that writes fewer records than in the pipeline fails "
            + "the benchmark.",
        "  rules       rule propagation with only the streams role: three matching error events "
            + "-> CANDIDATE visible, the trial's items answered at once -> ACTIVE visible to a "
            + "read_committed reader; 'decided -> ACTIVE' starts at the last trial outcome (goal "
            + "p99 <= commit interval + 100 ms). Early emission (the demo's settings) and window "
            + "close (a pattern emitted when stream time passes its window's end + grace, as the "
            + "production settings do).",
        "  scaling     the work ratio with 1, 2 and 4 instances per worker role.",
        "",
        "The machine's load average is printed with every figure; on a shared machine trust the "
            + "CPU figures over the wall-clock ones. Exit code 0 when every outcome was as "
            + "expected, 1 otherwise (the figures are written either way)."})
public final class BenchCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--quick", description = "Every section with tiny samples: a run of about a "
      + "minute on an idle machine (the suite runs it).")
  boolean quick;

  @Option(names = "--workloads", paramLabel = "NAME", split = ",",
      description = "Run only these workloads (comma-separated, of: work, latency, plumbing, "
          + "rules, scaling, telemetry; default all but telemetry — the overhead of metrics and "
          + "tracing, zero-cost runs with both off and on). Scaling's ratios need work's bare "
          + "baseline.")
  java.util.List<String> workloads;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where the embedded stack, the report, the chart and the roles' log "
          + "(logs/fractal.log) go (default: a temporary directory; everything but the report, "
          + "the chart, the profile and the log is deleted).")
  Path dataDir;

  @Option(names = "--report", paramLabel = "FILE",
      description = "The JSON report (default DIR/bench.json; bench.html beside it). An existing "
          + "directory gets bench.json in it; a missing parent directory is created before the "
          + "run starts.")
  Path reportFile;

  @Option(names = "--profile", paramLabel = "DIR",
      description = "Record JFR profiles into DIR: this JVM during the work and plumbing phases, "
          + "the embedded broker over the whole run; their top items go into the report.")
  Path profileDir;

  @Option(names = "--verbose", description = "Show the roles' log lines here instead of in DIR/logs/fractal.log.")
  boolean verbose;

  @Mixin
  EndpointOptions endpoints;

  @Override
  public Integer call() throws Exception {
    PrintWriter writer = spec.commandLine().getOut();
    PrintStream out = new PrintStream(new WriterOutputStream(writer), true, StandardCharsets.UTF_8);
    if (workloads != null && !BenchRunner.PHASES.containsAll(workloads)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--workloads: unknown " + workloads.stream().filter(w -> !BenchRunner.PHASES.contains(w))
              .toList() + " (known: " + String.join(", ", BenchRunner.PHASES) + ")");
    }
    Path given = null;
    if (reportFile != null) {
      try {
        given = writableReport(reportFile);
      } catch (IOException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--report: cannot write " + reportFile + " (" + e.getMessage() + ")");
      }
    }
    boolean temporary = dataDir == null;
    Path dir = temporary ? Files.createTempDirectory("fractal-bench") : Files.createDirectories(dataDir);
    Path json = given != null ? given : dir.resolve("bench.json");
    RoleLogs logs = verbose ? null : RoleLogs.toFileOrConsole(RoleLogs.fileIn(dir));
    Profile profile = profileDir == null ? null : new Profile(profileDir);
    LocalStack stack = null;
    int code;
    try {
      String bootstrap;
      String registry;
      Optional<String> jdbc;
      boolean embedded = !endpoints.anyGiven();
      if (embedded) {
        if (profile != null) {
          System.setProperty("fractal.kafka.jvm-options", profile.brokerJvmOption());
        }
        out.println("Starting the embedded broker, registry and PostgreSQL in " + dir + " ...");
        stack = LocalStack.start(StackSettings.defaults(dir.resolve("stack")).withRoles(false));
        out.printf("ready in %.1f s (load %.1f)%n", stack.startup().toMillis() / 1000.0, Cpu.loadAverage());
        bootstrap = stack.endpoints().bootstrapServers();
        registry = stack.endpoints().schemaRegistryUrl();
        jdbc = stack.endpoints().jdbcUrl();
      } else {
        var e = endpoints.resolve();
        bootstrap = e.bootstrapServers();
        registry = e.schemaRegistryUrl();
        jdbc = e.jdbcUrl();
        out.println("Attaching to Kafka " + bootstrap + " and the registry " + registry
            + (jdbc.isPresent() ? "" : " (no --jdbc-url: the sink does not run)"));
      }
      BenchRunner runner = new BenchRunner(bootstrap, registry, jdbc, embedded, dir.resolve("work"),
          quick ? BenchRunner.Sizes.quick() : BenchRunner.Sizes.full(),
          java.util.Set.copyOf(workloads == null ? BenchRunner.DEFAULT_PHASES : workloads), out, profile);
      ObjectNode report = runner.run();
      if (stack != null) {
        stack.close(); // the broker's recording is written when it exits
        stack = null;
      }
      if (profile != null) {
        addProfiles(report, profile);
      }
      String table = BenchReport.table(report);
      out.print(table);
      Path parent = json.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Files.writeString(json, new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(report) + "\n", StandardCharsets.UTF_8);
      String name = json.getFileName().toString().replaceAll("\\.json$", "");
      Path html = parent.resolve(name + ".html");
      Files.writeString(html, BenchReport.html(report, table), StandardCharsets.UTF_8);
      out.println("report: " + json.toAbsolutePath() + "\nchart:  " + html.toAbsolutePath()
          + (logs == null || logs.file() == null ? "" : "\nlogs:   " + logs.file()));
      code = runner.failures().isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
    } finally {
      if (stack != null) {
        stack.close();
      }
      if (logs != null) {
        logs.close();
      }
      if (temporary) {
        for (String sub : new String[] {"stack", "work"}) {
          FileTrees.deleteTree(dir.resolve(sub));
        }
      }
      out.flush();
    }
    return code;
  }

  /**
   * Where {@code --report} puts the JSON: the file named, or bench.json in it when it is an
   * existing directory. Its directory is made (and checked) now, so a report that cannot be
   * written fails before the run rather than after it.
   */
  static Path writableReport(Path given) throws IOException {
    Path file = Files.isDirectory(given) ? given.resolve("bench.json") : given;
    if (Files.isDirectory(file)) {
      throw new IOException(file + " is a directory");
    }
    Path parent = file.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (FileAlreadyExistsException e) {
      throw new IOException(e.getFile() + " exists and is not a directory");
    }
    if (!Files.isWritable(parent)) {
      throw new IOException(parent + " is not writable");
    }
    return file;
  }

  private static void addProfiles(ObjectNode report, Profile profile) throws Exception {
    ArrayNode tops = report.putArray("profile");
    Map<String, String> files = new java.util.LinkedHashMap<>();
    files.put("fractal JVM (work phase)", "main-work.jfr");
    files.put("fractal JVM (plumbing phase)", "main-plumbing.jfr");
    files.put("Kafka broker (whole run)", "broker.jfr");
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path file = profile.dir().resolve(f.getValue());
      if (!Files.isRegularFile(file)) {
        continue;
      }
      Profile.Top top = Profile.top(f.getKey(), file, 25);
      ObjectNode n = tops.addObject();
      n.put("jvm", top.jvm());
      n.put("file", file.toString());
      n.put("samples", top.samples());
      ObjectNode t = n.putObject("by_thread");
      top.byThread().forEach(t::put);
      ObjectNode fr = n.putObject("by_top_frame");
      top.byTopFrame().forEach(fr::put);
      ObjectNode own = n.putObject("by_fractal_frame");
      top.byFractalFrame().forEach(own::put);
    }
  }

  /** Bytes to the command's writer (picocli's out), so tests capture the progress lines. */
  private static final class WriterOutputStream extends java.io.OutputStream {
    private final PrintWriter writer;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

    WriterOutputStream(PrintWriter writer) {
      this.writer = writer;
    }

    @Override
    public synchronized void write(int b) {
      line.write(b);
      if (b == '\n') {
        flush();
      }
    }

    @Override
    public synchronized void flush() {
      writer.print(line.toString(StandardCharsets.UTF_8));
      writer.flush();
      line.reset();
    }
  }
}
