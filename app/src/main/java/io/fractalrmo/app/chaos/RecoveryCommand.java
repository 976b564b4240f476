package io.fractalrmo.app.chaos;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.chaos.ChaosTasks.ChaosTask;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.platform.kafka.HangingTransactions;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.streams.StreamsSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code fractal chaos recovery}: the recovery benchmark. Starts {@code fractal up} (every role)
 * as a process of its own, and for each cycle feeds real tasks, waits until some are done and
 * the rest in flight, kills the {@code up} process, its broker, its PostgreSQL and its
 * interpreters with SIGKILL all at once, starts {@code fractal up} again on the same data
 * directory, and measures how long until it is ready (it prints "fractal is up") and until every
 * task in flight has its final status. Prints each cycle and the medians; the verifier then
 * checks that every task ended once and right.
 */
@Command(name = "recovery", mixinStandardHelpOptions = true,
    description = {"Benchmark: kill -9 of a whole 'fractal up' (broker, PostgreSQL, roles) with tasks in "
        + "flight, then 'fractal up' again on the same data dir; prints the time to ready and to every "
        + "in-flight task done, per cycle and the p50."})
public final class RecoveryCommand implements Callable<Integer> {

  private static final Pattern UP = Pattern.compile("fractal is up \\(([0-9.]+) s\\)");

  @Spec
  CommandSpec spec;

  @Mixin
  RunOptions run;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    int cycles = run.cycles(5);
    int tasks = run.tasks(30);
    long seed = run.seed(7);
    Path runDir = run.runDir("fractal-recovery-");
    Path data = runDir.resolve("data");
    // as ./fractal starts it (FRACTAL_JAVA_OPTS, else the script's default)
    List<String> jvm = java.util.Arrays.stream(System.getenv().getOrDefault("FRACTAL_JAVA_OPTS",
        "-Xms64m -Xmx1g -XX:TieredStopAtLevel=1").trim().split("\\s+"))
        .filter(o -> !o.isEmpty()).toList();
    List<ChaosTask> submitted = new ArrayList<>();
    List<Double> ready = new ArrayList<>();
    List<Double> reportedUp = new ArrayList<>();
    List<Double> done = new ArrayList<>();
    List<Double> cpus = new ArrayList<>();
    FractalProcess up = null;
    boolean passed = false;
    int hangingLeft = 0;
    try {
      int start = 0;
      up = startUp(data, runDir, start, jvm);
      double first = awaitUp(up, Duration.ofMinutes(5));
      out.printf(Locale.ROOT, "fractal up (fresh) ready: %.1f s as it reports%n", first);
      out.flush();
      String runId = "recovery-" + Long.toHexString(System.currentTimeMillis()).substring(5);
      for (int cycle = 1; cycle <= cycles; cycle++) {
        Endpoints endpoints = EndpointOptions.read(data.resolve(EndpointOptions.ENDPOINTS_FILE));
        Map<String, Object> serde = FractalSerdes.config(endpoints.schemaRegistryUrl());
        List<ChaosTask> batch = ChaosTasks.plan(tasks, seed + cycle, runId + "-c" + cycle, 10_000)
            .stream().map(t -> new ChaosTask(t.taskId(), t.faulted(), ChaosTasks.Via.KAFKA))
            .toList();
        int finalBeforeKill;
        try (StatusFollower follower = new StatusFollower(endpoints, serde);
             KafkaProducer<String, Task> producer = producer(endpoints, serde)) {
          for (ChaosTask t : batch) {
            producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), t.taskId(),
                t.task(10_000, System.currentTimeMillis()))).get(2, TimeUnit.MINUTES);
            submitted.add(t);
          }
          // kill while tasks are in flight: a third of them done, the rest not
          long deadline = System.currentTimeMillis() + 180_000;
          while (countFinal(follower, batch) < Math.max(1, tasks / 3)
              && System.currentTimeMillis() < deadline) {
            Thread.sleep(100); // polling the follower, bounded by the deadline
          }
          finalBeforeKill = countFinal(follower, batch);
        }
        up.kill(); // the up JVM, its broker, PostgreSQL and every sandboxed interpreter
        long killedAt = System.nanoTime();
        start++;
        up = startUp(data, runDir, start, jvm);
        double reported = awaitUp(up, Duration.ofMinutes(5));
        double readyS = (System.nanoTime() - killedAt) / 1e9;
        Map<String, Double> cpuBy = up.cpuByProcess();
        double cpu = cpuBy.values().stream().mapToDouble(Double::doubleValue).sum();
        double load = loadAverage();
        Endpoints again = EndpointOptions.read(data.resolve(EndpointOptions.ENDPOINTS_FILE));
        // the restart must have left no transaction hanging (fractal up aborts those the kill
        // left; one left over would hold read_committed readers for good)
        List<String> left = hangingTransactions(again.bootstrapServers());
        hangingLeft += left.size();
        left.forEach(h -> out.println("  hanging transaction left after the restart: " + h));
        double doneS;
        try (StatusFollower follower = new StatusFollower(again,
            FractalSerdes.config(again.schemaRegistryUrl()))) {
          long deadline = System.currentTimeMillis() + 300_000;
          while (countFinal(follower, batch) < batch.size()
              && System.currentTimeMillis() < deadline) {
            Thread.sleep(100); // polling the follower, bounded by the deadline
          }
          doneS = countFinal(follower, batch) < batch.size() ? Double.NaN
              : (System.nanoTime() - killedAt) / 1e9;
        }
        ready.add(readyS);
        cpus.add(cpu);
        reportedUp.add(reported);
        done.add(doneS);
        out.printf(Locale.ROOT, "cycle %d: %d of %d tasks final at the kill; ready %.1f s after the"
                + " kill (up reports %.1f s; %.1f CPU-s to ready %s, load average %.1f), every"
                + " task final %.1f s after the kill%n", cycle, finalBeforeKill, batch.size(),
            readyS, reported, cpu, describeCpu(cpuBy), load, doneS);
        out.flush();
      }
      Endpoints endpoints = EndpointOptions.read(data.resolve(EndpointOptions.ENDPOINTS_FILE));
      Verifier verifier = new Verifier(endpoints,
          FractalSerdes.config(endpoints.schemaRegistryUrl()), endpoints.jdbcUrl().orElseThrow(),
          StreamsSettings.demo());
      boolean caughtUp = verifier.awaitSinkCaughtUp("fractal-sink", Duration.ofMinutes(3));
      Verifier.Findings f = verifier.verify(submitted);
      out.printf(Locale.ROOT, "%nrecovery after kill -9 of everything, %d cycles, %d tasks each%n",
          cycles, tasks);
      out.printf(Locale.ROOT, "  ready          p50 %.1f s (max %.1f s)%n", p50(ready), max(ready));
      out.printf(Locale.ROOT, "  up reports     p50 %.1f s (its own start to ready)%n",
          p50(reportedUp));
      out.printf(Locale.ROOT, "  CPU to ready   p50 %.1f CPU-s (every process of the stack; on 2"
          + " idle cores the wall time cannot be less than half of it)%n", p50(cpus));
      out.printf(Locale.ROOT, "  tasks done     p50 %.1f s (max %.1f s) after the kill%n", p50(done),
          max(done));
      out.printf(Locale.ROOT, "  verifier       %d tasks, final %s, lost %d, duplicated %d, wrong %d,"
              + " postgres %s%s%n", f.tasks, f.finals, f.lostCount(), f.duplicatedCount(),
          f.wrong.size(), f.postgres.isEmpty() ? "consistent" : f.postgres,
          caughtUp ? "" : " (sink not caught up)");
      f.wrong.stream().limit(10).forEach(w -> out.println("    wrong " + w));
      f.lost.stream().limit(10).forEach(w -> out.println("    lost " + w));
      out.printf(Locale.ROOT, "  hanging txns   %d left after the restarts%n", hangingLeft);
      passed = f.lostCount() == 0 && f.duplicatedCount() == 0 && f.wrong.isEmpty()
          && f.postgres.isEmpty() && hangingLeft == 0;
      out.println("  result         " + (passed ? "PASS" : "FAIL"));
      out.flush();
    } finally {
      if (up != null) {
        up.stop(Duration.ofSeconds(60));
      }
      if (passed && !run.keepWhenPassed()) {
        FileTrees.deleteTree(runDir);
      } else if (!passed) {
        // a failed or aborted run keeps what explains it: the up logs and the data dir
        out.println("recovery: the run's directory is kept: " + runDir + " (logs of each 'fractal"
            + " up' in " + runDir.resolve("logs") + ", role logs in "
            + data.resolve("logs").resolve("fractal.log") + ")");
        out.flush();
      }
    }
    return passed ? ExitCodes.OK : ExitCodes.FAILED;
  }

  private static FractalProcess startUp(Path data, Path runDir, int run, List<String> jvm)
      throws IOException {
    Files.createDirectories(runDir.resolve("tmp"));
    List<String> options = new ArrayList<>(jvm);
    options.add("-Djava.io.tmpdir=" + runDir.resolve("tmp"));
    return new FractalProcess("up-" + run, List.of("up", "--data-dir", data.toString()),
        runDir.resolve("logs").resolve("up-" + run + ".log"), options, Map.of()).start();
  }

  /** Waits for "fractal is up (N s)" in this run's log; returns N. */
  private static double awaitUp(FractalProcess up, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(up.log())) {
        Matcher m = UP.matcher(Files.readString(up.log()));
        if (m.find()) {
          return Double.parseDouble(m.group(1));
        }
      }
      if (!up.isAlive()) {
        throw new IllegalStateException("fractal up exited with " + up.exitCode().orElse(-1)
            + "; see " + up.log() + ", which ends with:\n" + tail(up.log(), 3000));
      }
      Thread.sleep(100); // polling its log, bounded by the deadline
    }
    throw new IllegalStateException("fractal up not ready after " + timeout + "; see " + up.log());
  }

  private static String tail(Path file, int maxBytes) {
    return io.fractalrmo.platform.ChildProcesses.tail(file, maxBytes);
  }

  /** The hanging transactions on the cluster (see {@link HangingTransactions#find}), described. */
  static List<String> hangingTransactions(String bootstrapServers) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrapServers))) {
      return HangingTransactions.find(admin, Duration.ofSeconds(60)).stream()
          .map(HangingTransactions.Hanging::toString).toList();
    }
  }

  private static String describeCpu(Map<String, Double> byKind) {
    StringBuilder b = new StringBuilder("(");
    byKind.forEach((kind, s) -> b.append(b.length() > 1 ? ", " : "")
        .append(String.format(Locale.ROOT, "%s %.1f", kind, s)));
    return b.append(')').toString();
  }

  /** The 1-minute load average (Linux), -1 if unknown. */
  static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static int countFinal(StatusFollower follower, List<ChaosTask> tasks) {
    return (int) tasks.stream().filter(t -> follower.finalSeenAt(t.taskId()) > 0).count();
  }

  private static KafkaProducer<String, Task> producer(Endpoints e, Map<String, Object> serde) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(Task.class, serde).serializer());
  }

  private static double p50(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    return sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() / 2);
  }

  private static double max(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }
}
