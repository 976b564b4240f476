package io.fractalrmo.platform.kafka;

import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.Ports;
import io.fractalrmo.platform.ServiceDir;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRaft cluster of several nodes on this machine, each a child JVM with its data under
 * {@code DIR/node-<id>}: replication factor {@code min(3, nodes)} for new and internal topics
 * and {@code min.insync.replicas} one less (2 for three nodes), so an {@code acks=all} write
 * survives the loss of any one node.
 *
 * <p>Every node is a combined broker and controller, and the controller quorum is all of them
 * (static voters). Separate controller processes would be what a production cluster runs —
 * controllers isolated from broker load and restarted independently — but on one machine they
 * would add three more JVMs (≈ 300 MB and a JVM start each) for no extra fault tolerance: with
 * three combined nodes the quorum keeps a majority when any one node dies, which is the failure
 * this cluster exists to survive. Like {@link EmbeddedKafka}, nodes stop when this JVM closes
 * them, exits, or dies (their standard input closes), and nodes left by a killed run on the same
 * directory are stopped first. {@link #kill(int)} and {@link #restart(int)} take one node down
 * and back, for fault tests and the chaos run.
 */
public final class KafkaCluster implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaCluster.class);
  private static final String NODE_HEAP = System.getProperty("fractal.kafka.cluster-heap",
      "-Xmx512m");

  private final Path dataDir;
  private final List<KafkaNode> nodes;
  private final int replicationFactor;
  private volatile boolean closed;

  private KafkaCluster(Path dataDir, List<KafkaNode> nodes, int replicationFactor) {
    this.dataDir = dataDir;
    this.nodes = List.copyOf(nodes);
    this.replicationFactor = replicationFactor;
  }

  /**
   * Starts {@code size} nodes (ports and cluster id reused from an earlier run on the same
   * directory) and returns once all are registered and a topic with the cluster's replication
   * factor could be created.
   */
  public static KafkaCluster start(Path dataDir, int size) {
    if (size < 1 || size > 9) {
      throw new IllegalArgumentException("a local cluster has 1 to 9 nodes, not " + size);
    }
    Instant started = Instant.now();
    ServiceDir serviceDir = ServiceDir.open(dataDir, "fractal-cluster.properties",
        "ports and cluster id of the embedded Kafka cluster; reused on the next start");
    Path dir = serviceDir.path();
    String clusterId = serviceDir.get("cluster.id");
    if (clusterId == null) {
      clusterId = Uuid.randomUuid().toString();
    }
    String previousSize = serviceDir.get("nodes");
    if (previousSize != null && !previousSize.equals(Integer.toString(size))) {
      throw new PlatformException("the Kafka cluster in " + dir + " has " + previousSize
          + " nodes; start it with --brokers " + previousSize + " or use another --data-dir");
    }
    Set<Integer> taken = new HashSet<>();
    int[] ports = new int[size];
    int[] controllerPorts = new int[size];
    for (int i = 0; i < size; i++) {
      ports[i] = distinctPort(serviceDir, "node." + (i + 1) + ".port", taken);
      controllerPorts[i] = distinctPort(serviceDir, "node." + (i + 1) + ".controller.port", taken);
    }
    serviceDir.set("cluster.id", clusterId);
    serviceDir.set("nodes", Integer.toString(size));
    serviceDir.store();
    int rf = Math.min(3, size);
    int minIsr = Math.max(1, rf - 1);
    List<String> voters = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      voters.add((i + 1) + "@127.0.0.1:" + controllerPorts[i]);
    }
    List<KafkaNode> nodes = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Path nodeDir = dir.resolve("node-" + (i + 1));
      ServiceDir.createWritableDir(nodeDir);
      nodes.add(new KafkaNode(new KafkaNode.Spec(i + 1, nodeDir, ports[i], controllerPorts[i],
          String.join(",", voters), clusterId, rf, minIsr, NODE_HEAP)));
    }
    KafkaCluster cluster = new KafkaCluster(dir, nodes, rf);
    try {
      // a quorum needs a majority of voters up: start them all at once
      nodes.forEach(KafkaNode::stopLeftover);
      nodes.forEach(KafkaNode::start);
      KafkaReadiness.await(cluster.bootstrapServers(), size, nodes,
          started.plus(EmbeddedKafka.START_TIMEOUT), EmbeddedKafka.START_TIMEOUT);
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
    LOG.info("Kafka cluster of {} nodes ready at {} in {} ms (data {})", size,
        cluster.bootstrapServers(), Duration.between(started, Instant.now()).toMillis(), dir);
    return cluster;
  }

  private static int distinctPort(ServiceDir serviceDir, String key, Set<Integer> taken) {
    int port = serviceDir.previousPortOrFree(key);
    while (!taken.add(port)) {
      port = Ports.free();
    }
    serviceDir.set(key, Integer.toString(port));
    return port;
  }

  /** Every node's PLAINTEXT address, comma-separated. */
  public String bootstrapServers() {
    return nodes.stream().map(KafkaNode::address).collect(Collectors.joining(","));
  }

  public int size() {
    return nodes.size();
  }

  /** The replication factor of new and internal topics (3 for three nodes or more). */
  public int replicationFactor() {
    return replicationFactor;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Node ids, 1..size. */
  public List<Integer> nodeIds() {
    return nodes.stream().map(n -> n.spec().nodeId()).toList();
  }

  /** The pid of each node's JVM, by node id (-1 while a node is down). */
  public Map<Integer, Long> pids() {
    return nodes.stream().collect(Collectors.toMap(n -> n.spec().nodeId(), KafkaNode::pid));
  }

  public boolean isRunning(int nodeId) {
    return node(nodeId).isRunning();
  }

  /** Kills one node with SIGKILL, as a crash would; the others carry on. */
  public void kill(int nodeId) {
    node(nodeId).kill();
    LOG.info("Kafka node {} killed", nodeId);
  }

  /**
   * Starts one node again on its directory and ports and waits until the cluster sees it
   * registered again (it then catches up its replicas in the background).
   */
  public void restart(int nodeId) {
    Instant started = Instant.now();
    KafkaNode node = node(nodeId);
    if (node.isRunning()) {
      node.stop();
    }
    node.start();
    Instant deadline = started.plus(EmbeddedKafka.START_TIMEOUT);
    node.awaitListening(deadline);
    awaitRegistered(nodeId, deadline);
    LOG.info("Kafka node {} restarted in {} ms", nodeId,
        Duration.between(started, Instant.now()).toMillis());
  }

  private void awaitRegistered(int nodeId, Instant deadline) {
    try (Admin admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000))) {
      while (Instant.now().isBefore(deadline)) {
        node(nodeId).checkAlive("restarting");
        try {
          if (admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).stream()
              .map(Node::id).anyMatch(id -> id == nodeId)) {
            return;
          }
        } catch (java.util.concurrent.ExecutionException
            | java.util.concurrent.TimeoutException e) {
          // not answering yet
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new PlatformException("interrupted while waiting for Kafka node " + nodeId, e);
        }
        KafkaNode.pause(100);
      }
    }
    throw new PlatformException("Kafka node " + nodeId + " did not register again within "
        + EmbeddedKafka.START_TIMEOUT.toSeconds() + " s; see " + node(nodeId).log());
  }

  private KafkaNode node(int nodeId) {
    if (nodeId < 1 || nodeId > nodes.size()) {
      throw new IllegalArgumentException("no node " + nodeId + " in a cluster of " + nodes.size());
    }
    return nodes.get(nodeId - 1);
  }

  /** Stops every node (controlled shutdown, all at once) and waits for them to exit. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    CompletableFuture.allOf(nodes.stream()
        .map(n -> CompletableFuture.runAsync(n::close))
        .toArray(CompletableFuture[]::new)).join();
  }

  @Override
  public String toString() {
    return "KafkaCluster[" + bootstrapServers() + ", " + dataDir + "]";
  }
}
