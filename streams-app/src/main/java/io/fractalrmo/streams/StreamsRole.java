package io.fractalrmo.streams;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams role: owns {@link KafkaStreams} for {@link FractalTopology} — exactly_once_v2,
 * the DLQ handlers, a state listener, an uncaught-exception handler that replaces a failed
 * thread at most {@code maxThreadReplacements} times and then shuts the application down with
 * a clear log, a shutdown hook, and {@code close(Duration)}.
 */
public final class StreamsRole implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StreamsRole.class);
  /** Start-up may take this many times {@link StreamsOptions#startTimeout()} while it progresses. */
  static final int START_CAP_FACTOR = 5;

  private final KafkaStreams streams;
  private final StreamsOptions options;
  private final Thread shutdownHook;

  private StreamsRole(KafkaStreams streams, StreamsOptions options) {
    this.streams = streams;
    this.options = options;
    this.shutdownHook = new Thread(this::closeQuietly, "fractal-streams-shutdown");
  }

  /**
   * Starts the role; returns once every stream thread is RUNNING. Waits as long as start-up makes
   * progress (a state change, changelog records restored) — no progress for
   * {@link StreamsOptions#startTimeout()}, more than {@value #START_CAP_FACTOR} times that in all,
   * or ERROR / NOT_RUNNING, and it throws saying which (see {@link StartWatch}).
   */
  public static StreamsRole start(Endpoints endpoints, StreamsOptions options) {
    RecordSerdes serdes = RecordSerdes.fromConfig(FractalSerdes.config(
        endpoints.schemaRegistryUrl()));
    Topology topology = FractalTopology.build(endpoints.topics(), options.settings(), serdes);
    return start(endpoints, options, topology);
  }

  /**
   * Builds the topology once and throws it away, so that its classes (the DSL, the stores, the
   * record classes and their serdes) are loaded and linked before {@link #start} needs them:
   * {@code fractal up} does it while its broker starts, since the streams role is the last to be
   * ready. No I/O (the serdes only keep the registry URL).
   */
  public static void warmUp(io.fractalrmo.contracts.TopicCatalog topics,
      StreamsSettings settings) {
    FractalTopology.build(topics, settings, RecordSerdes.forRegistry("http://127.0.0.1:1"))
        .describe();
  }

  /** {@link #start(Endpoints, StreamsOptions)} with a topology of the caller's (for tests). */
  static StreamsRole start(Endpoints endpoints, StreamsOptions options, Topology topology) {
    Properties props = properties(endpoints, options);
    LOG.debug("streams topology:\n{}", topology.describe());
    String appId = props.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
    java.nio.file.Path appDir = java.nio.file.Path.of(
        props.getProperty(StreamsConfig.STATE_DIR_CONFIG)).resolve(appId);
    // after a crash: skip Streams' open-find-corrupt-wipe round of every store (see the class)
    UncleanStateDirs.remove(appDir);
    // a static member rejoining with a changed topology must rebalance (see the class)
    TopologyChange change = TopologyChange.of(appDir, topology);
    if (props.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)) {
      change.removeStaticMembers(endpoints.bootstrapServers(), appId);
    }
    KafkaStreams streams = new KafkaStreams(topology, props);
    StreamsRole role = new StreamsRole(streams, options);
    StartWatch watch = new StartWatch(options.startTimeout(),
        options.startTimeout().multipliedBy(START_CAP_FACTOR))
        .watchingThreads(() -> threadsOf(streams));
    streams.setStateListener((now, before) -> {
      LOG.info("streams {} -> {}", before, now);
      watch.onStateChange(now);
    });
    streams.setGlobalStateRestoreListener(watch);
    streams.setUncaughtExceptionHandler(new ThreadFailurePolicy(options.maxThreadReplacements()));
    streams.start();
    try {
      StartWatch.Outcome outcome = watch.await(Duration.ofSeconds(15),
          progress -> LOG.info("streams app still starting: {}", progress));
      if (outcome != StartWatch.Outcome.RUNNING) {
        String how = switch (outcome) {
          case FAILED -> "stopped while starting";
          case STALLED -> "made no progress (no state change, no changelog record restored) for "
              + options.startTimeout().toSeconds() + " s";
          default -> "was still not RUNNING after " + watch.cap().toSeconds() + " s, although"
              + " it kept making progress";
        };
        String detail = watch.describe();
        streams.close(options.closeTimeout());
        throw new IllegalStateException("streams app " + how + " (" + detail + "); see the"
            + " Streams log lines above for the cause");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.close(options.closeTimeout());
      throw new IllegalStateException("interrupted while starting the streams app", e);
    }
    change.record();
    Runtime.getRuntime().addShutdownHook(role.shutdownHook);
    LOG.info("streams app {} running against {}", props.get(StreamsConfig.APPLICATION_ID_CONFIG),
        endpoints.bootstrapServers());
    return role;
  }

  /** Each stream thread's state and how many active/standby tasks it holds, e.g. "1:RUNNING 5/0". */
  static String threadsOf(KafkaStreams streams) {
    StringBuilder out = new StringBuilder();
    for (org.apache.kafka.streams.ThreadMetadata t : streams.metadataForLocalThreads()) {
      if (out.length() > 0) {
        out.append(", ");
      }
      String name = t.threadName();
      out.append(name.substring(name.lastIndexOf('-') + 1)).append(':').append(t.threadState())
          .append(' ').append(t.activeTasks().size()).append('/').append(t.standbyTasks().size());
    }
    return out.toString();
  }

  /** How long the stream thread waits in one poll when no records come (see properties()). */
  static final long POLL_MS = 20;

  /** The streams producer's linger (see properties()). */
  static final int STREAMS_LINGER_MS = 5;

  static Properties properties(Endpoints endpoints, StreamsOptions options) {
    Properties p = new Properties();
    String appId = options.applicationId()
        .orElse(endpoints.topics().prefix() + "fractal-streams");
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, options.stateDir().toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, options.threads());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, options.commitInterval().toMillis());
    // The stream thread blocks in poll() up to poll.ms when no records come; only then do its
    // punctuators run, among them CommitPacer's, which commits an output held back by the pacing
    // spacing (50 ms). At Kafka's 100 ms such an output waited for the commit interval anyway.
    // Measured (bench rules, back to back): trial decided -> ACTIVE p50/p99 138-158/145-196 ms
    // -> 75-85/86-113 ms; 50 ms here left the window-close path at p99 188-216 ms. The cost: the
    // idle fractal JVM 72 -> 82-91 ms of CPU per second (its stream thread loops more often).
    p.put(StreamsConfig.POLL_MS_CONFIG, POLL_MS);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) options.replicationFactor());
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, endpoints.topics().dlq().name());
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterDeserializationHandler.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterProcessingHandler.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    p.put(DeadLetters.AGENT_ID_CONFIG, appId);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Kafka Streams 4.3 sleeps retry.backoff.ms after each internal topic it creates while others
    // of the batch are unchecked (KAFKA-21033, a regression of the makeReady refactoring): the
    // first start of this topology, with 23 changelog and repartition topics, slept 2.3 s before
    // its first assignment — every fresh `fractal up`, bench phase and test app. The partition
    // assignor, which creates them, reads the main consumer's settings: 10 ms there (the main
    // consumer's own retries back off exponentially from it, up to retry.backoff.max.ms) and in
    // Streams' own loops; the restore and global consumers, producer and admin keep Kafka's 100.
    p.put(StreamsConfig.RETRY_BACKOFF_MS_CONFIG, 10L);
    p.put(StreamsConfig.mainConsumerPrefix(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG), 10L);
    p.put(StreamsConfig.consumerPrefix(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG), 100L);
    p.put(StreamsConfig.producerPrefix(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG), 100L);
    p.put(StreamsConfig.adminClientPrefix(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG), 100L);
    // Kafka Streams lingers its producer 100 ms: between commits the outputs and changelog writes
    // wait in the producer, and each commit's flush then sends them all and waits for their acks
    // (awaitFlushCompletion was half the stream thread's blocked time on a backlog, JFR). At 5 ms
    // they are mostly sent and acknowledged by the time the commit comes. Measured (bench
    // plumbing, the streams app alone on 2020 zero-cost tasks, alternated): 785/956 -> 1084/1271
    // plans/s, its JVM CPU 3860/3220 -> 3470/3170 ms; work and idle latency unchanged within noise
    // (a commit flushes a lone output at once either way). No linger, as the workers' single-batch
    // transactions have, sends each record of a backlog on its own: 777/881 plans/s against
    // 1090/1062 at 5, with 3530 ms of JVM CPU against 2890/3100.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), STREAMS_LINGER_MS);
    p.putAll(options.extraProperties());
    return p;
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  /** The running instance, for binding its metrics (e.g. Micrometer's KafkaStreamsMetrics); this role owns its life cycle. */
  public KafkaStreams kafkaStreams() {
    return streams;
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is exiting and the hook is running or has run: nothing to remove
    }
    closeQuietly();
  }

  private void closeQuietly() {
    // Leave the group: a replacement instance is assigned the tasks at once instead of after
    // the session timeout of this one.
    if (!streams.close(CloseOptions.timeout(options.closeTimeout())
        .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP))) {
      LOG.warn("streams app did not close within {}", options.closeTimeout());
    }
  }
}
