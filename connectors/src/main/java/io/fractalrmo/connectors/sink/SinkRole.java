package io.fractalrmo.connectors.sink;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL sink role: consumes the record topics and upserts one row per record, keyed by
 * the record's id. The offsets it has applied are written to {@code sink_offsets} in the same
 * database transaction as the rows, and a (re)assigned partition resumes from there, so a crash
 * and replay neither duplicates nor loses a row. A record that cannot be read or stored goes to
 * {@code fractal.dlq} (with {@link DlqHeaders}) and the sink moves on.
 */
public final class SinkRole implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkRole.class);
  private static final String STAGE = "sink";
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private static final String SELECT_OFFSET = """
      SELECT next_offset FROM sink_offsets
      WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?""";
  /** Never backwards: an instance that lost the partition mid-batch cannot rewind the owner. */
  private static final String UPSERT_OFFSET = """
      INSERT INTO sink_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at)
      VALUES (?, ?, ?, ?, now())
      ON CONFLICT (consumer_group, topic, kafka_partition)
      DO UPDATE SET next_offset = GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset),
        updated_at = now()""";

  /**
   * How the sink runs.
   *
   * @param groupId consumer group; offsets in {@code sink_offsets} are kept per group
   * @param pollTimeout longest wait of one poll
   * @param maxPollRecords records per database transaction at most
   * @param agentId names this instance in DLQ headers and logs
   */
  public record Options(String groupId, Duration pollTimeout, int maxPollRecords,
      String agentId) {

    public Options {
      Objects.requireNonNull(groupId, "groupId");
      Objects.requireNonNull(pollTimeout, "pollTimeout");
      Objects.requireNonNull(agentId, "agentId");
      if (maxPollRecords < 1) {
        throw new IllegalArgumentException("maxPollRecords must be >= 1");
      }
    }

    public static Options defaults() {
      return new Options("fractal-sink", Duration.ofMillis(500), 500,
          "sink-" + UUID.randomUUID().toString().substring(0, 8));
    }

    public Options withGroupId(String group) {
      return new Options(group, pollTimeout, maxPollRecords, agentId);
    }
  }

  private final String jdbcUrl;
  private final Options options;
  private final TopicCatalog catalog;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> dlqProducer;
  private final Map<String, Deserializer<? extends SpecificRecord>> deserializers;
  private final Thread thread;
  private final CountDownLatch firstPoll = new CountDownLatch(1);
  private final AtomicLong rowsWritten = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private volatile boolean running = true;
  private volatile Throwable failure;
  private Connection connection;

  private SinkRole(Endpoints endpoints, Options options) {
    this.jdbcUrl = endpoints.requireJdbcUrl();
    this.options = options;
    this.catalog = endpoints.topics();
    Map<String, Object> serde = FractalSerdes.config(endpoints.schemaRegistryUrl());
    this.deserializers = new LinkedHashMap<>();
    for (TopicSpec spec : sunkTopics(catalog)) {
      deserializers.put(spec.name(), deserializer(spec, serde));
    }
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, options.groupId());
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, options.agentId());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, options.maxPollRecords());
    this.consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, options.agentId() + "-dlq");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    this.dlqProducer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
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

  /** Rows written (upserts and tombstones) since start. */
  public long rowsWritten() {
    return rowsWritten.get();
  }

  /** Records sent to the DLQ since start. */
  public long deadLettered() {
    return deadLettered.get();
  }

  private void run() {
    Duration backoff = Duration.ofMillis(100);
    try {
      consumer.subscribe(deserializers.keySet(), new Rebalance());
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(options.pollTimeout());
        firstPoll.countDown();
        if (records.isEmpty()) {
          continue;
        }
        try {
          apply(records);
          backoff = Duration.ofMillis(100);
        } catch (SQLException | KafkaException e) {
          if (e instanceof WakeupException) {
            throw (WakeupException) e;
          }
          LOG.warn("sink batch failed, retrying after {} ms: {}", backoff.toMillis(), e.toString());
          closeConnection();
          rewind(records);
          sleep(backoff);
          backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF
              : backoff.multipliedBy(2);
        }
      }
    } catch (WakeupException e) {
      // close() asked us to stop
    } catch (RuntimeException | Error e) {
      failure = e;
      LOG.error("sink {} stopped", options.agentId(), e);
    } finally {
      firstPoll.countDown();
      closeConnection();
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /**
   * One poll = one database transaction: rows, then the offsets that produced them. The batch is
   * first tried without savepoints (one round trip per row); only when a row breaks a constraint
   * is it redone with a savepoint per record, so that the broken record alone goes to the DLQ.
   */
  private void apply(ConsumerRecords<byte[], byte[]> records) throws SQLException {
    try {
      apply(records, false);
    } catch (SQLException e) {
      if (!isDataError(e)) {
        throw e;
      }
      apply(records, true);
    }
  }

  private void apply(ConsumerRecords<byte[], byte[]> records, boolean isolateRecords)
      throws SQLException {
    Connection c = connection();
    List<ProducerRecord<byte[], byte[]>> dlq = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    long written = 0;
    try {
      for (TopicPartition tp : records.partitions()) {
        List<ConsumerRecord<byte[], byte[]>> batch = records.records(tp);
        for (ConsumerRecord<byte[], byte[]> record : batch) {
          SpecificRecordOrTombstone value;
          try {
            value = read(record);
          } catch (RuntimeException e) {
            // SerializationException for bad bytes, IllegalArgumentException for a record
            // that breaks the contract: either way this record, not the sink, is broken.
            dlq.add(deadLetter(record, e));
            continue;
          }
          Savepoint savepoint = isolateRecords ? c.setSavepoint() : null;
          try {
            if (store(c, record, value)) {
              written++;
            }
            if (savepoint != null) {
              c.releaseSavepoint(savepoint);
            }
          } catch (SQLException e) {
            if (savepoint == null || !isDataError(e)) {
              throw e;
            }
            c.rollback(savepoint);
            dlq.add(deadLetter(record, e));
          } catch (RuntimeException e) {
            // A record the row writer cannot map (it throws before executing its statement).
            if (savepoint != null) {
              c.rollback(savepoint);
            }
            dlq.add(deadLetter(record, e));
          }
        }
        long nextOffset = batch.get(batch.size() - 1).offset() + 1;
        try (PreparedStatement ps = c.prepareStatement(UPSERT_OFFSET)) {
          ps.setString(1, options.groupId());
          ps.setString(2, tp.topic());
          ps.setInt(3, tp.partition());
          ps.setLong(4, nextOffset);
          ps.executeUpdate();
        }
        next.put(tp, new OffsetAndMetadata(nextOffset));
      }
      if (!dlq.isEmpty()) {
        // Before the commit: a crash in between re-sends (at least once), never loses.
        dlq.forEach(dlqProducer::send);
        dlqProducer.flush();
      }
      c.commit();
    } catch (SQLException | RuntimeException e) {
      safeRollback(c);
      throw e;
    }
    rowsWritten.addAndGet(written);
    deadLettered.addAndGet(dlq.size());
    // For lag monitoring only: the sink resumes from sink_offsets, not from these.
    consumer.commitAsync(next, (offsets, e) -> {
      if (e != null) {
        LOG.debug("informational offset commit failed: {}", e.toString());
      }
    });
  }

  /** A deserialized value, or null for a tombstone. */
  private record SpecificRecordOrTombstone(SpecificRecord value) {
  }

  private SpecificRecordOrTombstone read(ConsumerRecord<byte[], byte[]> record) {
    if (record.value() == null) {
      return new SpecificRecordOrTombstone(null);
    }
    return new SpecificRecordOrTombstone(deserializers.get(record.topic())
        .deserialize(record.topic(), record.headers(), record.value()));
  }

  /** Returns true when a row was written or tombstoned. */
  private boolean store(Connection c, ConsumerRecord<byte[], byte[]> record,
      SpecificRecordOrTombstone read) throws SQLException {
    String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    if (read.value() == null) {
      if (record.topic().equals(catalog.protocolRules().name()) && key != null) {
        RowWriter.tombstoneRule(c, key, Instant.ofEpochMilli(record.timestamp()));
        return true;
      }
      return false; // a tombstone on another compacted topic: the durable record stays
    }
    RowWriter.write(c, read.value());
    return true;
  }

  private ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> record,
      Exception e) {
    LOG.warn("sink sends {}-{}@{} to the DLQ: {}", record.topic(), record.partition(),
        record.offset(), e.toString());
    RecordHeaders headers = new RecordHeaders(record.headers().toArray());
    headers.add(DlqHeaders.TOPIC, utf8(record.topic()));
    headers.add(DlqHeaders.PARTITION, utf8(String.valueOf(record.partition())));
    headers.add(DlqHeaders.OFFSET, utf8(String.valueOf(record.offset())));
    headers.add(DlqHeaders.EXCEPTION_CLASS, utf8(e.getClass().getName()));
    headers.add(DlqHeaders.EXCEPTION_MESSAGE, utf8(String.valueOf(e.getMessage())));
    headers.add(DlqHeaders.STAGE, utf8(STAGE));
    headers.add(DlqHeaders.AGENT_ID, utf8(options.agentId()));
    return new ProducerRecord<>(catalog.dlq().name(), null, record.key(), record.value(),
        headers);
  }

  private void rewind(ConsumerRecords<byte[], byte[]> records) {
    for (TopicPartition tp : records.partitions()) {
      if (consumer.assignment().contains(tp)) {
        consumer.seek(tp, records.records(tp).get(0).offset());
      }
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      List<TopicPartition> fresh = new ArrayList<>();
      try {
        Connection c = connection();
        try (PreparedStatement ps = c.prepareStatement(SELECT_OFFSET)) {
          for (TopicPartition tp : partitions) {
            ps.setString(1, options.groupId());
            ps.setString(2, tp.topic());
            ps.setInt(3, tp.partition());
            try (ResultSet rs = ps.executeQuery()) {
              if (rs.next()) {
                consumer.seek(tp, rs.getLong(1));
              } else {
                fresh.add(tp);
              }
            }
          }
        }
        c.commit();
      } catch (SQLException e) {
        closeConnection();
        throw new KafkaException("cannot read the sink's stored offsets", e);
      }
      // Nothing applied yet for these partitions: the database has none of their records.
      if (!fresh.isEmpty()) {
        consumer.seekToBeginning(fresh);
      }
      LOG.info("sink {} assigned {} partition(s), {} from the beginning", options.agentId(),
          partitions.size(), fresh.size());
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Nothing to flush: every applied batch is already committed with its offsets.
    }
  }

  private Connection connection() throws SQLException {
    if (connection == null || connection.isClosed()) {
      connection = DriverManager.getConnection(jdbcUrl);
      connection.setAutoCommit(false);
    }
    return connection;
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

  private static void safeRollback(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      LOG.debug("rollback failed: {}", e.toString());
    }
  }

  /** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation). */
  private static boolean isDataError(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("22") || state.startsWith("23"));
  }

  private static Deserializer<? extends SpecificRecord> deserializer(TopicSpec spec,
      Map<String, Object> serde) {
    Class<? extends SpecificRecord> type = spec.valueClass()
        .orElseThrow(() -> new IllegalStateException("no value class for " + spec.name()));
    return FractalSerdes.value(type, serde).deserializer();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
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
