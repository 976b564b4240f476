package io.fractalrmo.platform.kafka;

import io.fractalrmo.platform.ChildProcesses;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.Ports;
import io.fractalrmo.platform.ServiceDir;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker in KRaft mode (combined broker and controller, one node) running as
 * a child JVM on 127.0.0.1, with its data under a directory of the caller.
 *
 * <p>{@link #start} returns once the broker has registered and accepts topic creation. The broker
 * is stopped by {@link #close()}, by the JVM's shutdown hook, and — should this JVM be killed
 * outright — by itself when it sees its standard input close. A broker left running by an earlier
 * run on the same directory is stopped before a new one starts. Settings suit a single node:
 * replication factor 1 and min ISR 1 for the offsets, transaction and share-state topics.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

  /** How long {@link #start} waits for the broker to become ready. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(
      Long.getLong("fractal.kafka.start-timeout-seconds", 90));
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final String HEAP = System.getProperty("fractal.kafka.heap", "-Xmx768m");

  private final Path dataDir;
  private final int port;
  private final Process process;
  private final Thread shutdownHook;
  private volatile boolean closed;

  private EmbeddedKafka(Path dataDir, int port, Process process) {
    this.dataDir = dataDir;
    this.port = port;
    this.process = process;
    this.shutdownHook = new Thread(this::stopProcess, "fractal-kafka-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts a broker on a free port with its data under {@code dataDir}. */
  public static EmbeddedKafka start(Path dataDir) {
    return start(dataDir, 0);
  }

  /**
   * Starts a broker with its data under {@code dataDir} (created if missing; a directory used
   * before comes back with its topics and offsets).
   *
   * @param port the PLAINTEXT port, 0 for a free one (the previous run's port is reused when free)
   * @throws PlatformException if the port is taken, the directory unusable, or the broker does
   *     not become ready within {@link #START_TIMEOUT}
   */
  public static EmbeddedKafka start(Path dataDir, int port) {
    Instant started = Instant.now();
    ServiceDir serviceDir = ServiceDir.open(dataDir, "fractal-broker.properties",
        "ports and cluster id of the embedded broker; reused on the next start");
    Path dir = serviceDir.path();
    Path pidFile = dir.resolve("broker.pid");
    ChildProcesses.stopLeftover(pidFile, BrokerMain.class.getName(), STOP_TIMEOUT);

    int brokerPort = port != 0
        ? Ports.resolve(port, "Kafka", "--kafka-port") : serviceDir.previousPortOrFree("port");
    int controllerPort = serviceDir.previousPortOrFree("controller.port");
    while (controllerPort == brokerPort) {
      controllerPort = Ports.free();
    }
    String clusterId = serviceDir.get("cluster.id");
    if (clusterId == null) {
      clusterId = Uuid.randomUuid().toString();
    }
    serviceDir.set("port", Integer.toString(brokerPort));
    serviceDir.set("controller.port", Integer.toString(controllerPort));
    serviceDir.set("cluster.id", clusterId);
    serviceDir.store();

    Path logDir = dir.resolve("logs");
    Path serverProperties = dir.resolve("server.properties");
    writeServerProperties(serverProperties, logDir, brokerPort, controllerPort);
    Path log4j = dir.resolve("log4j2-broker.properties");
    writeLog4j(log4j);

    Path out = dir.resolve("broker.log");
    List<String> command = new ArrayList<>(ChildProcesses.ownSessionPrefix());
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xms256m");
    command.add(HEAP);
    command.add("-XX:+UseG1GC");
    command.add("-XX:MaxGCPauseMillis=20");
    // C1 only: halves the broker's CPU to ready (≈ 5.4 → 2.8 CPU-s measured on 2 shared cores)
    // with no measurable loss of produce throughput for one local node; override with
    // FRACTAL_KAFKA_JVM_OPTS=-XX:TieredStopAtLevel=4.
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-Djava.awt.headless=true");
    command.add("-Dlog4j2.configurationFile=" + log4j.toUri());
    command.add("-Dlog4j.shutdownHookEnabled=false");
    // Extra JVM options for the broker, e.g. FRACTAL_KAFKA_JVM_OPTS="-Xmx2g" (split on spaces).
    String extra = System.getProperty("fractal.kafka.jvm-options", System.getenv().getOrDefault("FRACTAL_KAFKA_JVM_OPTS", ""));
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
    command.add(clusterId);

    Process process;
    try {
      process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
          .start();
    } catch (IOException e) {
      throw new PlatformException("cannot start the Kafka broker JVM: " + e.getMessage(), e);
    }
    ChildProcesses.writePid(pidFile, process.pid());
    EmbeddedKafka kafka = new EmbeddedKafka(dir, brokerPort, process);
    try {
      kafka.awaitReady(started.plus(START_TIMEOUT), out);
    } catch (RuntimeException e) {
      kafka.close();
      throw e;
    }
    LOG.info("Kafka broker ready at {} in {} ms (data {})", kafka.bootstrapServers(),
        Duration.between(started, Instant.now()).toMillis(), dir);
    return kafka;
  }

  /** {@code 127.0.0.1:PORT} of the PLAINTEXT listener. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The broker's process id (for measurements and diagnostics). */
  public long pid() {
    return process.pid();
  }

  public boolean isRunning() {
    return process.isAlive();
  }

  /** Closes the broker's standard input, as the death of this JVM would (for tests). */
  void closeStdinAsIfParentDied() throws IOException {
    process.getOutputStream().close();
  }

  /** Stops the broker (controlled shutdown, forced after a deadline) and waits for it to exit. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopProcess();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down; the hook does the same work
    }
    try {
      Files.deleteIfExists(dataDir.resolve("broker.pid"));
    } catch (IOException e) {
      LOG.debug("could not delete the broker pid file", e);
    }
  }

  private void stopProcess() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy(); // SIGTERM: Kafka's shutdown hook closes the log cleanly
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("Kafka broker did not stop within {}; killing it", STOP_TIMEOUT);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      OutputStream stdin = process.getOutputStream();
      stdin.close();
    } catch (IOException e) {
      // already closed
    }
  }

  private void awaitReady(Instant deadline, Path out) {
    Map<String, Object> config = Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000,
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200,
        AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 200);
    String lastProblem = "no answer yet";
    // Wait for the listener first: an admin client polling a closed port only fills the log.
    while (!acceptsConnections() && Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        break;
      }
      pause(100);
    }
    try (Admin admin = Admin.create(config)) {
      while (Instant.now().isBefore(deadline)) {
        if (!process.isAlive()) {
          throw new PlatformException("the Kafka broker exited with code " + process.exitValue()
              + " while starting; its log (" + out + ") ends with:\n" + ChildProcesses.tail(out, 3000));
        }
        try {
          if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
            // validateOnly: succeeds only once the controller sees an unfenced broker to place replicas on
            admin.createTopics(List.of(new NewTopic("fractal-readiness-probe", 1, (short) 1)),
                new CreateTopicsOptions().validateOnly(true)).all().get(3, TimeUnit.SECONDS);
            return;
          }
          lastProblem = "no broker registered yet";
        } catch (ExecutionException e) {
          if (e.getCause() instanceof TopicExistsException) {
            return;
          }
          lastProblem = String.valueOf(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
          lastProblem = "timed out waiting for an answer";
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new PlatformException("interrupted while waiting for the Kafka broker", e);
        }
        pause(100);
      }
    }
    throw new PlatformException("the Kafka broker at " + bootstrapServers() + " was not ready within "
        + START_TIMEOUT.toSeconds() + " s (" + lastProblem + "); see " + out);
  }

  private boolean acceptsConnections() {
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void pause(long millis) {
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

  private static void writeServerProperties(Path file, Path logDir, int port, int controllerPort) {
    String controller = "127.0.0.1:" + controllerPort;
    String text = String.join("\n",
        "# Written by fractal on every start; edits are overwritten.",
        "process.roles=broker,controller",
        "node.id=1",
        // Static voter set: the controller port may change between runs without re-formatting.
        "controller.quorum.voters=1@" + controller,
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://" + controller,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs=" + logDir,
        "num.partitions=3",
        "default.replication.factor=1",
        "min.insync.replicas=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=10",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "num.network.threads=2",
        "num.io.threads=4",
        "num.recovery.threads.per.data.dir=2",
        "log.cleaner.dedupe.buffer.size=16777216",
        "log.cleaner.threads=1",
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
    return "EmbeddedKafka[" + bootstrapServers() + ", " + dataDir + "]";
  }
}
