package io.fractalrmo.app.chaos;

import io.fractalrmo.app.chaos.ChaosTasks.ChaosTask;
import io.fractalrmo.connectors.outbox.OutboxWriter;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.streams.StreamsSettings;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * One chaos run: the infrastructure in this JVM ({@link ChaosStack}), every role as its own
 * {@code fractal run} process, a steady feed of real HumanEval tasks (through Kafka, and every
 * fourth through the outbox table), and {@code cycles} faults, each followed by its recovery:
 * most cycles SIGKILL a random role instance and start it again on its state directory; some
 * kill a broker and restart it, some freeze PostgreSQL (SIGSTOP of the server's processes) for a
 * few seconds. After each fault one canary task per partition of {@code fractal.tasks} is
 * submitted: the cycle's recovery time is from the fault until every canary has its final
 * state, so it covers the killed instance's partitions, whichever they were. At the end the
 * {@link Verifier} judges what the pipeline recorded.
 */
final class ChaosRun {

  /**
   * How a run goes.
   *
   * @param instances how many processes of each role (sink and outbox: at most 1 each)
   * @param roleJvmOptions options of each role's JVM
   */
  record Options(int cycles, int brokers, long seed, int tasks, Map<String, Integer> instances,
      Path dir, Duration recoveryTimeout, Duration drainTimeout, long timeLimitMs,
      List<String> roleJvmOptions, boolean keep, List<String> faults) {

    /** Cycle {@code c} (from 1) injects {@code faults[(c - 1) % size]}. */
    static final List<String> DEFAULT_FAULTS = List.of("role", "role", "broker", "role", "role",
        "postgres", "role");

    Options {
      faults = List.copyOf(faults);
      if (faults.isEmpty() || !List.of("role", "broker", "postgres").containsAll(faults)) {
        throw new IllegalArgumentException("faults are role, broker or postgres: " + faults);
      }
    }
  }

  private static final List<String> ROLE_ORDER = List.of("sink", "outbox", "streams",
      "validator", "executor", "analyzer");

  private final Options options;
  private final PrintWriter out;
  private final Random random;
  private final List<ChaosTask> submitted = new CopyOnWriteArrayList<>();
  private final Map<String, Integer> kills = new LinkedHashMap<>();
  private final List<Long> recoveries = new ArrayList<>();
  private int brokerRestarts;
  private int postgresPauses;
  private int notRecovered;
  private long baselineMs = -1;
  private String lastVictim = "";
  private final Map<String, List<Long>> byFault = new LinkedHashMap<>();

  ChaosRun(Options options, PrintWriter out) {
    this.options = options;
    this.out = out;
    this.random = new Random(options.seed());
  }

  /** Runs the whole thing and returns the tally (also printed). */
  Tally run() throws Exception {
    Path dir = options.dir();
    Files.createDirectories(dir);
    long started = System.currentTimeMillis();
    String runId = "chaos-" + Long.toHexString(options.seed()) + "-"
        + Long.toHexString(started).substring(6);
    TopicCatalog catalog = TopicCatalog.defaults();
    out.printf(Locale.ROOT, "chaos: %d cycles, %d broker(s), seed %d, %d tasks, roles %s; in %s%n",
        options.cycles(), options.brokers(), options.seed(), options.tasks(),
        options.instances(), dir);
    out.flush();
    List<RoleInstance> roles = new ArrayList<>();
    Feeder feeder = null;
    boolean passed = false;
    try (ChaosStack stack = ChaosStack.start(dir.resolve("infra"), options.brokers(), catalog)) {
      Endpoints endpoints = stack.endpoints();
      Map<String, Object> serde = FractalSerdes.config(endpoints.schemaRegistryUrl());
      for (String role : ROLE_ORDER) {
        for (int i = 1; i <= options.instances().getOrDefault(role, 0); i++) {
          roles.add(new RoleInstance(role, i, process(role, i, stack)));
        }
      }
      long t0 = System.currentTimeMillis();
      roles.forEach(r -> r.process.start());
      for (RoleInstance r : roles) {
        // Streams waits while its start-up progresses (up to 10 min): so does this
        r.awaitRunning(1, Duration.ofMinutes(11));
      }
      out.printf(Locale.ROOT, "%d role processes running after %.1f s%n", roles.size(),
          (System.currentTimeMillis() - t0) / 1000.0);
      out.flush();

      try (StatusFollower follower = new StatusFollower(endpoints, serde);
           KafkaProducer<String, Task> producer = producer(endpoints, serde)) {
        List<ChaosTask> plan = ChaosTasks.plan(options.tasks(), options.seed(), runId,
            options.timeLimitMs());
        long interval = Math.max(150, options.cycles() * 12_000L / Math.max(1, options.tasks()));
        feeder = new Feeder(plan, interval, producer, endpoints, stack.jdbcUrl());
        feeder.start();

        // twice: the first canaries also pay for warming every JVM up
        probe(-1, System.currentTimeMillis(), runId, producer, endpoints, follower);
        long baseline = probe(0, System.currentTimeMillis(), runId, producer, endpoints, follower);
        out.printf(Locale.ROOT, "cycle  0: no fault (baseline)         canaries final in %s%n",
            baseline < 0 ? "NOT within " + options.recoveryTimeout().toSeconds() + " s"
                : String.format(Locale.ROOT, "%.1f s", baseline / 1000.0));
        out.flush();
        recoveries.clear(); // neither the warm-up nor the baseline is a recovery
        notRecovered = 0;
        this.baselineMs = baseline;
        long lastFault = System.currentTimeMillis();
        for (int cycle = 1; cycle <= options.cycles(); cycle++) {
          String fault = chooseFault(cycle);
          long at = System.currentTimeMillis();
          String what = inject(fault, roles, stack);
          lastFault = System.currentTimeMillis();
          long recovery = probe(cycle, at, runId, producer, endpoints, follower);
          if (recovery >= 0) {
            byFault.computeIfAbsent(lastVictim, k -> new ArrayList<>()).add(recovery);
          }
          out.printf(Locale.ROOT, "cycle %2d: %-28s recovered in %s%n", cycle, what,
              recovery < 0 ? "NOT within " + options.recoveryTimeout().toSeconds() + " s"
                  : String.format(Locale.ROOT, "%.1f s", recovery / 1000.0));
          out.flush();
          Thread.sleep(500 + random.nextInt(1500)); // the run's rhythm, not synchronisation
        }
        feeder.awaitDone(Duration.ofMinutes(10));
        boolean drained = awaitAllFinal(follower, options.drainTimeout());
        long drain = System.currentTimeMillis() - lastFault;
        out.printf(Locale.ROOT, "%d tasks submitted; %s %.1f s after the last fault%n",
            submitted.size(), drained ? "all final" : "NOT all final", drain / 1000.0);
        out.flush();

        Verifier verifier = new Verifier(endpoints, serde, stack.jdbcUrl(),
            StreamsSettings.demo());
        boolean sinkCaughtUp = verifier.awaitSinkCaughtUp("fractal-sink", Duration.ofMinutes(3));
        Verifier.Findings findings = verifier.verify(List.copyOf(submitted));
        Tally tally = new Tally(options, kills, brokerRestarts, postgresPauses, recoveries,
            notRecovered, findings, sinkCaughtUp, feeder.outboxed(),
            System.currentTimeMillis() - started, baselineMs, drained ? drain : -1, byFault);
        tally.print(out);
        passed = tally.passed();
        return tally;
      }
    } finally {
      if (feeder != null) {
        feeder.stop();
      }
      // all at once: each stops on its own (20 s each, one after the other, added up to minutes)
      roles.forEach(r -> r.process.requestStop());
      for (RoleInstance r : roles) {
        r.process.awaitStopped(Duration.ofSeconds(20));
      }
      if (passed && !options.keep()) {
        FileTrees.deleteTree(dir);
      } else if (!passed) {
        // what to look at when a run fails (or aborts): its logs and data stay
        out.println("chaos: the run's directory is kept: " + dir + " (logs in "
            + dir.resolve("logs") + ")");
        out.flush();
      }
    }
  }

  private FractalProcess process(String role, int index, ChaosStack stack) {
    Endpoints e = stack.endpoints();
    Path state = options.dir().resolve("roles").resolve(role + "-" + index);
    List<String> args = new ArrayList<>(List.of("run", role,
        "--bootstrap-servers", e.bootstrapServers(),
        "--schema-registry-url", e.schemaRegistryUrl(),
        "--jdbc-url", stack.jdbcUrl(),
        "--state-dir", state.toString()));
    List<String> jvm = new ArrayList<>(options.roleJvmOptions());
    jvm.add("-Djava.io.tmpdir=" + options.dir().resolve("tmp").resolve(role + "-" + index));
    try {
      Files.createDirectories(options.dir().resolve("tmp").resolve(role + "-" + index));
    } catch (java.io.IOException ex) {
      throw new java.io.UncheckedIOException(ex);
    }
    return new FractalProcess(role + "-" + index, args,
        options.dir().resolve("logs").resolve(role + "-" + index + ".log"), jvm, Map.of());
  }

  /** The schedule of faults, repeated (by default a broker in cycle 3, PostgreSQL in 6 of 7). */
  private String chooseFault(int cycle) {
    return options.faults().get((cycle - 1) % options.faults().size());
  }

  private String inject(String fault, List<RoleInstance> roles, ChaosStack stack)
      throws InterruptedException {
    switch (fault) {
      case "broker" -> {
        List<Integer> nodes = stack.kafka().nodeIds();
        int node = nodes.get(random.nextInt(nodes.size()));
        stack.kafka().kill(node);
        Thread.sleep(2_000 + random.nextInt(3_000)); // how long the node stays down
        stack.kafka().restart(node);
        brokerRestarts++;
        lastVictim = "broker";
        return "broker " + node + " killed+restarted";
      }
      case "postgres" -> {
        stack.postgres().pause();
        long frozen = 4_000 + random.nextInt(6_000);
        Thread.sleep(frozen); // how long the database stays frozen
        stack.postgres().resume();
        postgresPauses++;
        lastVictim = "postgres";
        return String.format(Locale.ROOT, "postgres frozen %.1f s", frozen / 1000.0);
      }
      default -> {
        RoleInstance victim = roles.get(random.nextInt(roles.size()));
        victim.process.kill();
        kills.merge(victim.role, 1, Integer::sum);
        lastVictim = victim.role;
        Thread.sleep(random.nextInt(1_500)); // a supervisor's restart delay
        victim.restarts++;
        victim.process.start();
        return "SIGKILL " + victim.process.name();
      }
    }
  }

  /**
   * Submits one canary per partition of the tasks topic and waits for their final states;
   * returns the time from {@code faultAt} until the last of them, or -1 after the timeout.
   */
  private long probe(int cycle, long faultAt, String runId, KafkaProducer<String, Task> producer,
      Endpoints endpoints, StatusFollower follower) throws Exception {
    int partitions = endpoints.topics().tasks().partitions();
    List<ChaosTask> canaries = new ArrayList<>();
    for (int p = 0, n = 0; p < partitions; n++) {
      String id = runId + "-canary-" + (cycle < 0 ? "warmup" : cycle) + "-" + n;
      int partition = Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8)))
          % partitions;
      if (partition == p) {
        canaries.add(ChaosTasks.canary(id, options.seed()));
        p++;
      }
    }
    for (ChaosTask c : canaries) {
      producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), c.taskId(),
          c.task(options.timeLimitMs(), System.currentTimeMillis()))).get(10, TimeUnit.MINUTES);
      submitted.add(c);
    }
    long deadline = System.currentTimeMillis() + options.recoveryTimeout().toMillis();
    while (System.currentTimeMillis() < deadline) {
      long last = -1;
      boolean all = true;
      for (ChaosTask c : canaries) {
        long seen = follower.finalSeenAt(c.taskId());
        all &= seen > 0;
        last = Math.max(last, seen);
      }
      if (all) {
        long recovery = last - faultAt;
        recoveries.add(recovery);
        return recovery;
      }
      Thread.sleep(100); // polling the follower, bounded by the deadline
    }
    notRecovered++;
    return -1;
  }

  private boolean awaitAllFinal(StatusFollower follower, Duration timeout)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    while (System.currentTimeMillis() < deadline) {
      if (submitted.stream().allMatch(t -> follower.finalSeenAt(t.taskId()) > 0)) {
        return true;
      }
      Thread.sleep(250); // polling the follower, bounded by the deadline
    }
    return false;
  }

  private static KafkaProducer<String, Task> producer(Endpoints e, Map<String, Object> serde) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "fractal-chaos-feed");
    // a broker restart must not turn a submission into an unknown: wait out any outage
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 600_000);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 600_000L);
    return new KafkaProducer<>(p, new StringSerializer(),
        FractalSerdes.value(Task.class, serde).serializer());
  }

  /** One role process and how often it was restarted. */
  private static final class RoleInstance {
    final String role;
    final int index;
    final FractalProcess process;
    int restarts;

    RoleInstance(String role, int index, FractalProcess process) {
      this.role = role;
      this.index = index;
      this.process = process;
    }

    void awaitRunning(int times, Duration timeout) throws InterruptedException {
      long deadline = System.currentTimeMillis() + timeout.toMillis();
      while (System.currentTimeMillis() < deadline) {
        if (process.logContains("role " + role + " running against")) {
          return;
        }
        if (!process.isAlive()) {
          throw new IllegalStateException(process.name() + " exited with "
              + process.exitCode().orElse(-1) + "; see " + process.log());
        }
        Thread.sleep(200); // polling its log, bounded by the deadline
      }
      throw new IllegalStateException(process.name() + " not running after " + timeout
          + "; see " + process.log());
    }
  }

  /**
   * Feeds the plan at a steady rate: a Kafka task counts as submitted once the broker
   * acknowledged it, an outbox task once its row is committed (after a failed insert the row is
   * looked up: a commit whose answer was lost is not submitted twice).
   */
  private final class Feeder {
    private final List<ChaosTask> plan;
    private final long intervalMs;
    private final KafkaProducer<String, Task> producer;
    private final Endpoints endpoints;
    private final String jdbcUrl;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile int outboxed;
    private volatile Throwable failure;

    Feeder(List<ChaosTask> plan, long intervalMs, KafkaProducer<String, Task> producer,
        Endpoints endpoints, String jdbcUrl) {
      this.plan = plan;
      this.intervalMs = intervalMs;
      this.producer = producer;
      this.endpoints = endpoints;
      this.jdbcUrl = jdbcUrl + "&socketTimeout=5&connectTimeout=5&loginTimeout=5";
      this.thread = new Thread(this::feed, "fractal-chaos-feeder");
      this.thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    int outboxed() {
      return outboxed;
    }

    private void feed() {
      try {
        for (ChaosTask t : plan) {
          if (!running) {
            return;
          }
          long now = System.currentTimeMillis();
          if (t.via() == ChaosTasks.Via.OUTBOX) {
            insertIntoOutbox(t, now);
          } else {
            producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), t.taskId(),
                t.task(options.timeLimitMs(), now)), (md, e) -> {
                  if (e == null) {
                    submitted.add(t);
                  }
                });
          }
          Thread.sleep(intervalMs); // the feed's rate
        }
        producer.flush();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        failure = e;
      }
    }

    private void insertIntoOutbox(ChaosTask t, long now) throws InterruptedException {
      while (running) {
        try (Connection c = DriverManager.getConnection(jdbcUrl)) {
          OutboxWriter.insert(c, t.task(options.timeLimitMs(), now));
          submitted.add(t);
          outboxed++;
          return;
        } catch (SQLException e) {
          // the commit may have happened before the answer was lost: ask until told
          Boolean exists = rowExists(t.taskId());
          while (exists == null && running) {
            Thread.sleep(1_000); // the database is frozen or away
            exists = rowExists(t.taskId());
          }
          if (Boolean.TRUE.equals(exists)) {
            submitted.add(t);
            outboxed++;
            return;
          }
        }
      }
    }

    /** Whether the task's outbox row is there; null when the database cannot say. */
    private Boolean rowExists(String taskId) {
      try (Connection c = DriverManager.getConnection(jdbcUrl);
           PreparedStatement ps = c.prepareStatement(
               "SELECT 1 FROM outbox WHERE aggregateid = ?")) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      } catch (SQLException e) {
        return null;
      }
    }

    void awaitDone(Duration timeout) throws InterruptedException {
      thread.join(timeout.toMillis());
      if (failure != null) {
        throw new IllegalStateException("the feed failed", failure);
      }
    }

    void stop() {
      running = false;
      thread.interrupt();
    }
  }

  static List<Long> sorted(List<Long> values) {
    List<Long> copy = new ArrayList<>(values);
    Collections.sort(copy);
    return copy;
  }
}
