package io.fractalrmo.connectors.sink;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL sink role: consumes the record topics and upserts one row per record, keyed by
 * the record's id. The offsets it has applied are written to {@code sink_offsets} in the same
 * database transaction as the rows, and a (re)assigned partition resumes from there, so a crash
 * and replay neither duplicates nor loses a row. A row is only replaced by a record from a later
 * offset and stored offsets only move forward, so an instance that lost its partitions and
 * commits late changes nothing the new owner wrote.
 *
 * <p>Failures, by SQLSTATE ({@link SqlErrors}): a record the database refuses goes to
 * {@code fractal.dlq} with the SQL state, and so does one that does not deserialize; DLQ records
 * are acknowledged by the broker before the transaction that skips them commits. A transient
 * error is retried a bounded number of times, then the sink stops ({@link Health#FAILED}). While
 * the database (or the DLQ) is unreachable the sink is {@link Health#DEGRADED}: it pauses its
 * partitions, keeps its group membership, and resumes from the stored offsets once it is back.
 */
public final class SinkRole implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkRole.class);
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);

  /** The sink's health, as an operator (or a supervisor) reads it. */
  public enum Health {
    /** Not yet polled. */
    STARTING,
    /** Consuming and writing. */
    RUNNING,
    /** Waiting for the database or the broker to come back; nothing is lost meanwhile. */
    DEGRADED,
    /** Stopped by an error no retry fixes; {@link #failure()} says which. */
    FAILED,
    /** Closed. */
    STOPPED
  }

  /**
   * How the sink runs.
   *
   * @param groupId consumer group; offsets in {@code sink_offsets} are kept per group
   * @param pollTimeout longest wait of one poll
   * @param maxPollRecords records per database transaction at most
   * @param agentId names this instance in DLQ headers and logs
   * @param maxTransientRetries transient SQL failures in a row before the sink gives up
   * @param maxBackoff longest wait between two attempts (the first is 100 ms, doubling)
   * @param sendTimeout how long a DLQ send may take before it counts as failed
   * @param instanceId a stable {@code group.instance.id} (static membership: a restarted sink
   *     takes its partitions back at once instead of waiting for its dead predecessor's session
   *     to expire); empty = a dynamic member
   * @param sessionTimeout how long the group waits for a member that stopped heartbeating (a
   *     killed instance's partitions stay unserved this long unless it comes back)
   */
  public record Options(String groupId, Duration pollTimeout, int maxPollRecords,
      String agentId, int maxTransientRetries, Duration maxBackoff, Duration sendTimeout,
      Optional<String> instanceId, Duration sessionTimeout) {

    public Options {
      Objects.requireNonNull(groupId, "groupId");
      Objects.requireNonNull(pollTimeout, "pollTimeout");
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      Objects.requireNonNull(sendTimeout, "sendTimeout");
      Objects.requireNonNull(instanceId, "instanceId");
      Objects.requireNonNull(sessionTimeout, "sessionTimeout");
      if (maxPollRecords < 1) {
        throw new IllegalArgumentException("maxPollRecords must be >= 1");
      }
      if (maxTransientRetries < 0) {
        throw new IllegalArgumentException("maxTransientRetries must be >= 0");
      }
      if (sendTimeout.toMillis() < 1_000) {
        throw new IllegalArgumentException("sendTimeout must be at least 1 s");
      }
    }

    public static Options defaults() {
      return new Options("fractal-sink", Duration.ofMillis(500), 500,
          "sink-" + UUID.randomUUID().toString().substring(0, 8), 5, Duration.ofSeconds(5),
          Duration.ofSeconds(30), Optional.empty(), Duration.ofSeconds(15));
    }

    public Options withGroupId(String group) {
      return new Options(group, pollTimeout, maxPollRecords, agentId, maxTransientRetries,
          maxBackoff, sendTimeout, instanceId, sessionTimeout);
    }

    public Options withRetries(int transientRetries, Duration backoff) {
      return new Options(groupId, pollTimeout, maxPollRecords, agentId, transientRetries,
          backoff, sendTimeout, instanceId, sessionTimeout);
    }

    public Options withSendTimeout(Duration timeout) {
      return new Options(groupId, pollTimeout, maxPollRecords, agentId, maxTransientRetries,
          maxBackoff, timeout, instanceId, sessionTimeout);
    }

    /** A static member with this id (its agent id too, so logs and DLQ headers name it). */
    public Options withInstanceId(String id) {
      return new Options(groupId, pollTimeout, maxPollRecords, id, maxTransientRetries,
          maxBackoff, sendTimeout, Optional.of(id), sessionTimeout);
    }
  }

  private final String jdbcUrl;
  private final Properties jdbcProperties;
  private final Options options;
  private final Map<String, Object> producerConfig;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, Deserializer<? extends SpecificRecord>> deserializers;
  private final BatchWriter writer;
  private final Thread thread;
  private final CountDownLatch firstPoll = new CountDownLatch(1);
  private final AtomicLong rowsWritten = new AtomicLong();
  private final AtomicLong staleSkipped = new AtomicLong();
  private final AtomicLong recordsApplied = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong failedAttempts = new AtomicLong();
  /** Assigned partitions whose position must first be read from {@code sink_offsets}. */
  private final Set<TopicPartition> unpositioned = new LinkedHashSet<>();
  /**
   * The least time between two informational offset commits. They only feed lag monitoring (the
   * sink resumes from sink_offsets): one per applied batch was one OffsetCommit per record on an
   * idle pipeline, 8 per task, beside the transactions on the task's path.
   */
  static final Duration LAG_COMMIT_SPACING = Duration.ofSeconds(1);
  /** Applied but not yet committed for lag monitoring (the sink's thread only). */
  private final Map<TopicPartition, OffsetAndMetadata> lagOffsets = new HashMap<>();
  private long lagCommittedAt = System.nanoTime() - LAG_COMMIT_SPACING.toNanos();
  private volatile KafkaProducer<byte[], byte[]> dlqProducer;
  private volatile boolean running = true;
  private volatile Health health = Health.STARTING;
  private volatile Throwable failure;
  private volatile String lastProblem;
  private Connection connection;
  private int consecutiveFailures;
  private boolean databaseDown;
  private int consecutiveTransient;
  private long nextAttemptNanos;

  private SinkRole(Endpoints endpoints, Options options) {
    this.jdbcUrl = endpoints.requireJdbcUrl();
    this.jdbcProperties = jdbcDefaults();
    this.options = options;
    TopicCatalog catalog = endpoints.topics();
    Map<String, Object> serde = FractalSerdes.config(endpoints.schemaRegistryUrl());
    this.deserializers = new LinkedHashMap<>();
    for (TopicSpec spec : sunkTopics(catalog)) {
      deserializers.put(spec.name(), deserializer(spec, serde));
    }
    this.writer = new BatchWriter(options.groupId(), options.agentId(), catalog, deserializers);
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, options.groupId());
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, options.agentId());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxPollRecords());
    c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) options.sessionTimeout().toMillis());
    c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
        (int) Math.max(500, options.sessionTimeout().toMillis() / 5));
    options.instanceId().ifPresent(id -> c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, id));
    this.consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    long send = options.sendTimeout().toMillis();
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, options.agentId() + "-dlq");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(30_000, send / 2));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) send);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, send);
    this.producerConfig = Map.copyOf(p);
    this.dlqProducer = newDlqProducer();
    this.thread = new Thread(this::run, "fractal-sink-" + options.agentId());
  }

  /** The topics the sink stores, in the catalogue's order. */
  public static List<TopicSpec> sunkTopics(TopicCatalog catalog) {
    return List.of(catalog.tasks(), catalog.actionItems(), catalog.validationOutcomes(),
        catalog.errors(), catalog.errorPatterns(), catalog.protocolRules(), catalog.taskStatus(),
        catalog.agentStatus());
  }

  /**
   * Applies the migrations, starts the sink and returns once its consumer has joined the group
   * (or after 30 s, with a warning). {@link #close()} stops it.
   */
  public static SinkRole start(Endpoints endpoints, Options options) {
    // The sink owns the schema: bring it up to date (idempotent; Flyway locks against replicas).
    Migrations.apply(endpoints.requireJdbcUrl());
    SinkRole sink = new SinkRole(endpoints, options);
    sink.thread.start();
    try {
      if (!sink.firstPoll.await(30, TimeUnit.SECONDS)) {
        LOG.warn("sink {} has not completed its first poll after 30 s; continuing",
            options.agentId());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (sink.failure != null) {
      sink.close();
      throw new IllegalStateException("sink failed to start", sink.failure);
    }
    return sink;
  }

  /** Rows inserted or replaced (upserts and tombstones) since start. */
  /** Kafka's own metrics of the sink's consumer and DLQ producer (for metrics binding). */
  public Map<org.apache.kafka.common.MetricName, org.apache.kafka.common.Metric> clientMetrics() {
    Map<org.apache.kafka.common.MetricName, org.apache.kafka.common.Metric> all =
        new java.util.HashMap<>(consumer.metrics());
    KafkaProducer<byte[], byte[]> p = dlqProducer;
    if (p != null) {
      all.putAll(p.metrics());
    }
    return all;
  }

  public long rowsWritten() {
    return rowsWritten.get();
  }

  /** Records whose row already held them or a later record (replays, late instances). */
  public long staleSkipped() {
    return staleSkipped.get();
  }

  /** Records committed since start: written, skipped as stale, or dead-lettered. */
  public long recordsApplied() {
    return recordsApplied.get();
  }

  /** Records sent to the DLQ (and acknowledged) since start. */
  public long deadLettered() {
    return deadLettered.get();
  }

  /** Attempts that failed and were retried (transient errors, outages) since start. */
  public long failedAttempts() {
    return failedAttempts.get();
  }

  public Health health() {
    return health;
  }

  /** The error that stopped the sink ({@link Health#FAILED}), else null. */
  public Throwable failure() {
    return failure;
  }

  /** The last problem that made it retry or degrade, for status output (null if none yet). */
  public String lastProblem() {
    return lastProblem;
  }

  private void run() {
    try {
      consumer.subscribe(deserializers.keySet(), new Rebalance());
      while (running) {
        if (!unpositioned.isEmpty() && System.nanoTime() - nextAttemptNanos >= 0) {
          position();
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout());
        firstPoll.countDown();
        commitLagOffsets(false);
        if (records.isEmpty()) {
          if (unpositioned.isEmpty() && consecutiveFailures == 0) {
            markRunning();
          }
          continue;
        }
        try {
          apply(records); // marks the sink RUNNING once its batch is committed
          // only a committed batch proves the trouble is over
          consecutiveFailures = 0;
          consecutiveTransient = 0;
        } catch (SQLException | KafkaException e) {
          if (e instanceof WakeupException w) {
            throw w;
          }
          retryLater(e);
        }
      }
      health = Health.STOPPED;
    } catch (WakeupException e) {
      health = Health.STOPPED; // close() asked us to stop
    } catch (RuntimeException | Error e) {
      failure = e;
      health = Health.FAILED;
      LOG.error("sink {} stopped: {}", options.agentId(), e.toString(), e);
    } finally {
      firstPoll.countDown();
      closeConnection();
      try {
        commitLagOffsets(true); // the consumer's close waits for it
      } catch (RuntimeException e) {
        LOG.debug("informational offset commit at stop: {}", e.toString());
      }
      try {
        // leave the group even as a static member: a sink stopped on purpose hands its
        // partitions over now (only a crash leaves them to the session timeout)
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5))
            .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
      } catch (RuntimeException e) {
        LOG.debug("closing the sink's consumer: {}", e.toString());
      }
    }
  }

  /** While partitions wait for their position, poll only as long as the next attempt is away. */
  private Duration pollTimeout() {
    if (unpositioned.isEmpty()) {
      return options.pollTimeout();
    }
    long wait = Math.max(0, nextAttemptNanos - System.nanoTime());
    return Duration.ofNanos(Math.min(wait, options.pollTimeout().toNanos()));
  }

  /**
   * One poll = one database transaction: rows, then the offsets that produced them, then the
   * DLQ records acknowledged by the broker, then the commit.
   */
  private void apply(ConsumerRecords<byte[], byte[]> records) throws SQLException {
    Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> batch = new LinkedHashMap<>();
    for (TopicPartition tp : records.partitions()) {
      batch.put(tp, records.records(tp));
    }
    Connection c = connection();
    BatchWriter.Outcome outcome;
    try {
      outcome = writer.write(c, batch);
      // Before the commit, and acknowledged: a crash or failure in between re-sends (at least
      // once), never loses a record.
      sendDeadLetters(outcome.deadLetters());
      c.commit();
    } catch (SQLException | RuntimeException e) {
      safeRollback(c);
      throw e;
    }
    // before the counters: whoever sees them counting this batch also sees the health it proves
    markRunning();
    rowsWritten.addAndGet(outcome.written());
    staleSkipped.addAndGet(outcome.stale());
    deadLettered.addAndGet(outcome.deadLetters().size());
    recordsApplied.addAndGet(records.count());
    outcome.nextOffsets().forEach((tp, offset) -> lagOffsets.put(tp, new OffsetAndMetadata(offset)));
    commitLagOffsets(false);
  }

  /**
   * For lag monitoring only (the sink resumes from sink_offsets, not from these): commits what was
   * applied at most once per {@link #LAG_COMMIT_SPACING}, or now if {@code now}; a partition this
   * sink no longer owns is left to its new owner.
   */
  private void commitLagOffsets(boolean now) {
    if (lagOffsets.isEmpty()
        || (!now && System.nanoTime() - lagCommittedAt < LAG_COMMIT_SPACING.toNanos())) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>(lagOffsets);
    lagOffsets.clear();
    next.keySet().retainAll(consumer.assignment());
    lagCommittedAt = System.nanoTime();
    if (next.isEmpty()) {
      return;
    }
    consumer.commitAsync(next, (offsets, e) -> {
      if (e != null) {
        LOG.debug("informational offset commit failed: {}", e.toString());
      }
    });
  }

  /** Sends and waits for every acknowledgement; throws if any record was not stored. */
  private void sendDeadLetters(List<ProducerRecord<byte[], byte[]>> records) {
    if (records.isEmpty()) {
      return;
    }
    List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
    try {
      for (ProducerRecord<byte[], byte[]> record : records) {
        sent.add(dlqProducer.send(record));
      }
      dlqProducer.flush();
      for (Future<RecordMetadata> f : sent) {
        f.get();
      }
    } catch (ExecutionException e) {
      replaceDlqProducer();
      throw new DeadLetterFailure(e.getCause());
    } catch (KafkaException e) {
      replaceDlqProducer();
      throw new DeadLetterFailure(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WakeupException();
    }
  }

  /** The DLQ did not acknowledge a record: the batch is not committed. */
  static final class DeadLetterFailure extends KafkaException {
    DeadLetterFailure(Throwable cause) {
      super("a DLQ record was not acknowledged: " + cause, cause);
    }
  }

  /**
   * Decides what a failed attempt means: a fatal error stops the sink; otherwise nothing of the
   * batch was committed, every assigned partition is paused and will resume from the offsets
   * stored in the database after a backoff (doubling up to the maximum).
   */
  private void retryLater(Exception e) {
    // A KafkaException here is the DLQ not acknowledging, or the registry not answering.
    SqlErrors kind = e instanceof SQLException sql ? SqlErrors.classify(sql)
        : SqlErrors.UNAVAILABLE;
    lastProblem = describe(e);
    switch (kind) {
      case FATAL, BAD_ROW -> {
        // BAD_ROW cannot reach here (the batch writer isolates the record); if it does, it is
        // a statement outside any record, which no retry fixes either.
        throw new IllegalStateException("sink cannot go on: " + lastProblem, e);
      }
      case TRANSIENT -> {
        consecutiveTransient++;
        if (consecutiveTransient > options.maxTransientRetries()) {
          throw new IllegalStateException("sink gave up after " + consecutiveTransient
              + " transient failures in a row; last: " + lastProblem, e);
        }
        LOG.warn("sink batch failed (transient, attempt {} of {}): {}", consecutiveTransient,
            options.maxTransientRetries() + 1, lastProblem);
      }
      case UNAVAILABLE -> {
        databaseDown = e instanceof SQLException;
        if (health != Health.DEGRADED) {
          LOG.warn("sink {} DEGRADED: {}; pausing until it is back", options.agentId(),
              lastProblem);
        }
        health = Health.DEGRADED;
      }
      default -> throw new IllegalStateException("unknown " + kind);
    }
    failedAttempts.incrementAndGet();
    consecutiveFailures++;
    closeConnection();
    Set<TopicPartition> assigned = consumer.assignment();
    unpositioned.addAll(assigned);
    consumer.pause(assigned);
    nextAttemptNanos = System.nanoTime() + backoff().toNanos();
  }

  private Duration backoff() {
    long ms = FIRST_BACKOFF.toMillis() << Math.min(20, Math.max(0, consecutiveFailures - 1));
    return Duration.ofMillis(Math.min(ms, options.maxBackoff().toMillis()));
  }

  private void markRunning() {
    if (health != Health.RUNNING) {
      if (health == Health.DEGRADED) {
        LOG.info("sink {} RUNNING again", options.agentId());
      }
      health = Health.RUNNING;
    }
  }

  /**
   * Seeks each partition waiting for its position to the offset stored with the rows (or to the
   * beginning when none is stored: the database has none of its records) and resumes it. On a
   * database error the partitions stay paused and the attempt is repeated after a backoff.
   */
  private void position() {
    Set<TopicPartition> assigned = consumer.assignment();
    unpositioned.retainAll(assigned);
    if (unpositioned.isEmpty()) {
      return;
    }
    Map<TopicPartition, OptionalLong> stored;
    try {
      Connection c = connection();
      try {
        stored = writer.storedOffsets(c, unpositioned);
        c.commit();
      } catch (SQLException e) {
        safeRollback(c);
        throw e;
      }
    } catch (SQLException e) {
      retryLater(e);
      return;
    }
    List<TopicPartition> fresh = new ArrayList<>();
    stored.forEach((tp, offset) -> {
      if (offset.isPresent()) {
        consumer.seek(tp, offset.getAsLong());
      } else {
        fresh.add(tp);
      }
    });
    if (!fresh.isEmpty()) {
      consumer.seekToBeginning(fresh);
    }
    consumer.resume(stored.keySet());
    if (databaseDown) {
      // the database answered: the outage is over (a batch that failed for another reason
      // stays DEGRADED until it commits)
      databaseDown = false;
      consecutiveFailures = 0;
      markRunning();
    }
    LOG.info("sink {} positioned {} partition(s) from its stored offsets, {} from the beginning",
        options.agentId(), stored.size(), fresh.size());
    unpositioned.clear();
  }

  /**
   * Assignment touches no database: new partitions are paused until {@link #position()} has read
   * their stored offsets, so a database outage during a rebalance only delays them.
   */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      consumer.pause(partitions);
      unpositioned.addAll(partitions);
      nextAttemptNanos = System.nanoTime();
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Nothing to flush: every applied batch is already committed with its offsets (in the
      // database); the lag figures of the partitions that go are brought up to date.
      commitLagOffsets(true);
      unpositioned.removeAll(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      unpositioned.removeAll(partitions);
    }
  }

  private Connection connection() throws SQLException {
    if (connection == null || connection.isClosed()) {
      connection = DriverManager.getConnection(jdbcUrl, jdbcProperties);
      connection.setAutoCommit(false);
    }
    return connection;
  }

  /**
   * Timeouts for the sink's connections unless the URL sets them: a database that stops
   * answering (paused, network gone) becomes an error the sink can act on, not a hang.
   */
  private static Properties jdbcDefaults() {
    Properties p = new Properties();
    p.setProperty("connectTimeout", "10");
    p.setProperty("loginTimeout", "15");
    p.setProperty("socketTimeout", "60");
    p.setProperty("tcpKeepAlive", "true");
    return p;
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        LOG.debug("closing the sink's connection: {}", e.toString());
      }
      connection = null;
    }
  }

  private KafkaProducer<byte[], byte[]> newDlqProducer() {
    return new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  /** A producer whose send failed may be left in an error state: start afresh. */
  private void replaceDlqProducer() {
    try {
      dlqProducer.close(Duration.ZERO);
    } catch (RuntimeException e) {
      LOG.debug("closing the failed DLQ producer: {}", e.toString());
    }
    dlqProducer = newDlqProducer();
  }

  private static void safeRollback(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      LOG.debug("rollback failed: {}", e.toString());
    }
  }

  private static String describe(Exception e) {
    String state = e instanceof SQLException s && s.getSQLState() != null
        ? " (SQLSTATE " + s.getSQLState() + ")" : "";
    return BatchWriter.bounded(e.getClass().getSimpleName() + state + ": " + e.getMessage(), 500);
  }

  private static Deserializer<? extends SpecificRecord> deserializer(TopicSpec spec,
      Map<String, Object> serde) {
    Class<? extends SpecificRecord> type = spec.valueClass()
        .orElseThrow(() -> new IllegalStateException("no value class for " + spec.name()));
    return FractalSerdes.value(type, serde).deserializer();
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(Duration.ofSeconds(15).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    dlqProducer.close(Duration.ofSeconds(5));
    deserializers.values().forEach(Deserializer::close);
  }
}
