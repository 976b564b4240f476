package io.fractalrmo.platform.kafka;

import io.fractalrmo.platform.ChildProcesses;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.Ports;
import io.fractalrmo.platform.ServiceDir;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.Uuid;
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
 * replication factor 1 and min ISR 1 for the offsets, transaction and share-state topics. For
 * several nodes see {@link KafkaCluster}.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

  /** How long {@link #start} waits for the broker to become ready. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(
      Long.getLong("fractal.kafka.start-timeout-seconds", 90));

  private final Path dataDir;
  private final KafkaNode node;
  private volatile boolean closed;

  private EmbeddedKafka(Path dataDir, KafkaNode node) {
    this.dataDir = dataDir;
    this.node = node;
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
    ChildProcesses.stopLeftover(dir.resolve("broker.pid"), BrokerMain.class.getName(),
        KafkaNode.STOP_TIMEOUT);

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

    KafkaNode node = new KafkaNode(new KafkaNode.Spec(1, dir, brokerPort, controllerPort,
        "1@127.0.0.1:" + controllerPort, clusterId, 1, 1, null));
    node.start();
    EmbeddedKafka kafka = new EmbeddedKafka(dir, node);
    try {
      KafkaReadiness.await(kafka.bootstrapServers(), 1, List.of(node),
          started.plus(START_TIMEOUT), START_TIMEOUT);
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
    return node.address();
  }

  public int port() {
    return node.port();
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The broker's process id (for measurements and diagnostics). */
  public long pid() {
    return node.pid();
  }

  public boolean isRunning() {
    return node.isRunning();
  }

  /** Closes the broker's standard input, as the death of this JVM would (for tests). */
  void closeStdinAsIfParentDied() throws IOException {
    node.closeStdinAsIfParentDied();
  }

  /**
   * Kills the broker with SIGKILL (a crash: no clean shutdown), for fault tests; {@link #restart}
   * brings it back on the same directory and port.
   */
  public void kill() {
    node.kill();
  }

  /** Starts the broker again after {@link #kill} (or a crash), and waits until it is ready. */
  public void restart() {
    Instant started = Instant.now();
    if (node.isRunning()) {
      node.stop();
    }
    node.start();
    KafkaReadiness.await(bootstrapServers(), 1, List.of(node), started.plus(START_TIMEOUT),
        START_TIMEOUT);
    LOG.info("Kafka broker restarted at {} in {} ms", bootstrapServers(),
        Duration.between(started, Instant.now()).toMillis());
  }

  /** Stops the broker (controlled shutdown, forced after a deadline) and waits for it to exit. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    node.close();
  }

  @Override
  public String toString() {
    return "EmbeddedKafka[" + bootstrapServers() + ", " + dataDir + "]";
  }
}
