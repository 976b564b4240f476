package io.fractalrmo.platform.kafka;

import io.fractalrmo.platform.ChildProcesses;
import io.fractalrmo.platform.PlatformException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One KRaft node (combined broker and controller) as a child JVM running {@link BrokerMain}: its
 * directory, ports and process. It writes its {@code server.properties} on every start, can be
 * stopped (controlled shutdown), killed (SIGKILL, as a crash) and started again on the same
 * directory and ports. {@link EmbeddedKafka} is one node; {@link KafkaCluster} several.
 */
final class KafkaNode {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaNode.class);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final String HEAP = System.getProperty("fractal.kafka.heap", "-Xmx768m");
  /** Broker default for segment.index.bytes; see the comment where it is written. */
  static final int INDEX_SIZE_MAX_BYTES = 1024 * 1024;

  /**
   * What a node is: its id, where it keeps its data, its ports, and the cluster it belongs to.
   *
   * @param voters the static controller quorum, {@code id@host:port,...}
   * @param replicationFactor of the internal topics (offsets, transactions, share state) and
   *     the cluster's default for new topics
   * @param minInsyncReplicas the cluster's default and that of the internal topics
   */
  record Spec(int nodeId, Path dir, int port, int controllerPort, String voters,
      String clusterId, int replicationFactor, int minInsyncReplicas, String heap) {
  }

  private final Spec spec;
  private final Thread shutdownHook;
  private volatile Process process;

  KafkaNode(Spec spec) {
    this.spec = spec;
    this.shutdownHook = new Thread(this::stop, "fractal-kafka-stop-" + spec.nodeId());
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  Spec spec() {
    return spec;
  }

  int port() {
    return spec.port();
  }

  String address() {
    return "127.0.0.1:" + spec.port();
  }

  Path pidFile() {
    return spec.dir().resolve("broker.pid");
  }

  Path log() {
    return spec.dir().resolve("broker.log");
  }

  /** Stops a node process left running by a killed parent on this directory. */
  void stopLeftover() {
    ChildProcesses.stopLeftover(pidFile(), BrokerMain.class.getName(), STOP_TIMEOUT);
  }

  /** Starts the node's JVM (returns at once; readiness is the caller's to wait for). */
  synchronized void start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("node " + spec.nodeId() + " is already running");
    }
    Path logDir = spec.dir().resolve("logs");
    Path serverProperties = spec.dir().resolve("server.properties");
    writeServerProperties(serverProperties, logDir);
    Path log4j = spec.dir().resolve("log4j2-broker.properties");
    writeLog4j(log4j);

    List<String> command = new ArrayList<>(ChildProcesses.ownSessionPrefix());
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xms256m");
    command.add(spec.heap() != null ? spec.heap() : HEAP);
    // Extra JVM options for the broker, e.g. FRACTAL_KAFKA_JVM_OPTS="-Xmx2g" (split on spaces).
    String extra = System.getProperty("fractal.kafka.jvm-options",
        System.getenv().getOrDefault("FRACTAL_KAFKA_JVM_OPTS", ""));
    if (!selectsCollector(extra)) {
      // a second collector on the command line is an error of the JVM's: the operator's wins
      command.add("-XX:+UseG1GC");
      command.add("-XX:MaxGCPauseMillis=20");
    }
    // C1 only: halves the broker's CPU to ready (≈ 5.4 → 2.8 CPU-s measured on 2 shared cores)
    // with no measurable loss of produce throughput for one local node; override with
    // FRACTAL_KAFKA_JVM_OPTS=-XX:TieredStopAtLevel=4.
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-Djava.awt.headless=true");
    command.add("-Dlog4j2.configurationFile=" + log4j.toUri());
    command.add("-Dlog4j.shutdownHookEnabled=false");
    for (String option : extra.trim().split("\\s+")) {
      if (!option.isEmpty()) {
        command.add(option);
      }
    }
    command.add("-cp");
    command.add(absoluteClassPath());
    command.add(BrokerMain.class.getName());
    command.add(serverProperties.toString());
    command.add(logDir.toString());
    command.add(spec.clusterId());
    try {
      process = new ProcessBuilder(command)
          .directory(spec.dir().toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
          .start();
    } catch (IOException e) {
      throw new PlatformException("cannot start the Kafka broker JVM: " + e.getMessage(), e);
    }
    ChildProcesses.writePid(pidFile(), process.pid());
  }

  private static final java.util.regex.Pattern COLLECTOR =
      java.util.regex.Pattern.compile("(^|\\s)-XX:\\+Use\\w+GC(\\s|$)");

  /** True if the options choose a garbage collector ({@code -XX:+UseSerialGC} and the like). */
  static boolean selectsCollector(String options) {
    return COLLECTOR.matcher(options).find();
  }

  boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  long pid() {
    Process p = process;
    return p == null ? -1 : p.pid();
  }

  /** Throws with the log's tail if the process has exited. */
  void checkAlive(String while_) {
    Process p = process;
    if (p != null && !p.isAlive()) {
      throw new PlatformException("Kafka node " + spec.nodeId() + " exited with code "
          + p.exitValue() + " while " + while_ + "; its log (" + log() + ") ends with:\n"
          + ChildProcesses.tail(log(), 3000));
    }
  }

  /** Waits until the PLAINTEXT listener accepts connections (or the process is gone). */
  void awaitListening(Instant deadline) {
    while (!acceptsConnections() && Instant.now().isBefore(deadline)) {
      checkAlive("starting");
      pause(100);
    }
  }

  boolean acceptsConnections() {
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(),
          spec.port()), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Controlled shutdown (SIGTERM), forced after a deadline; waits for the exit. */
  synchronized void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      closeStdin(p);
      return;
    }
    p.destroy(); // SIGTERM: Kafka's shutdown hook closes the log cleanly
    try {
      if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("Kafka node {} did not stop within {}; killing it", spec.nodeId(), STOP_TIMEOUT);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    closeStdin(p);
  }

  /** SIGKILL, as a crash of the machine would end it: no shutdown hook, no clean log close. */
  synchronized void kill() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroyForcibly();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeStdin(p);
  }

  /** Stops the node for good: no shutdown hook left, pid file removed. */
  void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down; the hook does the same work
    }
    try {
      Files.deleteIfExists(pidFile());
    } catch (IOException e) {
      LOG.debug("could not delete the broker pid file", e);
    }
  }

  /** Closes the node's standard input, as the death of this JVM would (for tests). */
  void closeStdinAsIfParentDied() throws IOException {
    process.getOutputStream().close();
  }

  private static void closeStdin(Process p) {
    if (p == null) {
      return;
    }
    try {
      OutputStream stdin = p.getOutputStream();
      stdin.close();
    } catch (IOException e) {
      // already closed
    }
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis); // polling interval of a deadline-bounded readiness wait
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while waiting for the Kafka broker", e);
    }
  }

  /** This JVM's class path with every entry absolute (the broker runs in its data dir). */
  private static String absoluteClassPath() {
    StringBuilder out = new StringBuilder();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (entry.isEmpty()) {
        continue;
      }
      if (out.length() > 0) {
        out.append(java.io.File.pathSeparatorChar);
      }
      out.append(Path.of(entry).toAbsolutePath().normalize());
    }
    return out.toString();
  }

  private void writeServerProperties(Path file, Path logDir) {
    String controller = "127.0.0.1:" + spec.controllerPort();
    int rf = spec.replicationFactor();
    int minIsr = spec.minInsyncReplicas();
    String text = String.join("\n",
        "# Written by fractal on every start; edits are overwritten.",
        "process.roles=broker,controller",
        "node.id=" + spec.nodeId(),
        // Static voter set: the controller ports may change between runs without re-formatting.
        "controller.quorum.voters=" + spec.voters(),
        "listeners=PLAINTEXT://127.0.0.1:" + spec.port() + ",CONTROLLER://" + controller,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + spec.port(),
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs=" + logDir,
        "num.partitions=3",
        "default.replication.factor=" + rf,
        "min.insync.replicas=" + minIsr,
        "offsets.topic.replication.factor=" + rf,
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=" + rf,
        "transaction.state.log.min.isr=" + minIsr,
        "transaction.state.log.num.partitions=10",
        "share.coordinator.state.topic.replication.factor=" + rf,
        "share.coordinator.state.topic.min.isr=" + minIsr,
        "group.initial.rebalance.delay.ms=0",
        // A restarted node registers only once the controller considers its previous
        // incarnation's session over (DUPLICATE_BROKER_REGISTRATION until then: an activating
        // controller gives every broker unfenced in the metadata log a full session, and after
        // kill -9 the node is still unfenced), and a killed node of a cluster is fenced — its
        // partitions led elsewhere — after the same time: 2.5 s instead of Kafka's 9 s for both
        // (4 s measured 4.3 s of a 6.2 s broker restart after kill -9). Heartbeats every 250 ms,
        // ten per session, keep a loaded node unfenced through a 2 s stall.
        "broker.session.timeout.ms=2500",
        "broker.heartbeat.interval.ms=250",
        // A transaction whose producer died is aborted once its timeout passes; look every
        // second rather than every 10 s, so read_committed readers wait no longer than needed.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
        "num.network.threads=2",
        "num.io.threads=4",
        "num.recovery.threads.per.data.dir=2",
        "log.cleaner.dedupe.buffer.size=16777216",
        "log.cleaner.threads=1",
        // A segment's offset and time indexes are preallocated sparse files of this size, then
        // memory-mapped; the first touch of a mapping faults and the kernel reads ahead up to
        // read_ahead_kb of it, zero-filling the holes. With Kafka's 10 MiB and a device
        // readahead of 8 MiB (this VM's), every new partition cost ~20 MiB of memset in the
        // request handlers: 7-8 % of the machine's CPU in `fractal bench` work (perf). 1 MiB
        // still indexes ~350 MB of log per segment (an entry per 4 KiB) before it rolls.
        "log.index.size.max.bytes=" + INDEX_SIZE_MAX_BYTES,
        "auto.create.topics.enable=false", // a mistyped topic name fails loudly instead of creating a topic
        "")
        .replace("\\", "\\\\");
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private static void writeLog4j(Path file) {
    String text = String.join("\n",
        "status = warn",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d] %p %m (%c)%n",
        "rootLogger.level = warn",
        "rootLogger.appenderRef.console.ref = console",
        "logger.server.name = kafka.server.KafkaRaftServer",
        "logger.server.level = info",
        "");
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "KafkaNode[" + spec.nodeId() + " " + address() + ", " + spec.dir() + "]";
  }
}
