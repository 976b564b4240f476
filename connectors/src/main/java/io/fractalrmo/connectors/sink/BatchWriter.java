package io.fractalrmo.connectors.sink;

import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.registry.client.RestClientException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one batch of records into the database inside the caller's transaction, without
 * committing it: one row per record (through {@link RowWriter}, which never lets an older offset
 * replace a newer row) and, per partition, the offset to resume from in {@code sink_offsets}
 * (which only moves forward). Records that cannot be read or stored are returned as DLQ records;
 * the caller must have them acknowledged by the broker before it commits, so that a committed
 * offset never covers a record that is neither in a table nor in the DLQ.
 */
final class BatchWriter {

  private static final Logger LOG = LoggerFactory.getLogger(BatchWriter.class);
  static final String STAGE = "sink";
  /** Header naming the SQLSTATE of a record the database refused. */
  static final String SQL_STATE_HEADER = "fractal.dlq.sql.state";
  /** Longest exception message put in a DLQ header (a PostgreSQL message can quote the row). */
  static final int MAX_MESSAGE_CHARS = 2_000;

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

  private final String groupId;
  private final String agentId;
  private final TopicCatalog catalog;
  private final Map<String, Deserializer<? extends SpecificRecord>> deserializers;

  BatchWriter(String groupId, String agentId, TopicCatalog catalog,
      Map<String, Deserializer<? extends SpecificRecord>> deserializers) {
    this.groupId = Objects.requireNonNull(groupId, "groupId");
    this.agentId = Objects.requireNonNull(agentId, "agentId");
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.deserializers = Map.copyOf(deserializers);
  }

  /**
   * What a written (not yet committed) batch did.
   *
   * @param written rows inserted or replaced
   * @param stale records skipped because their row already held the same or a later offset
   * @param deadLetters records for the DLQ, to be acknowledged before the commit
   * @param nextOffsets per partition, the offset after the batch's last record
   */
  record Outcome(long written, long stale, List<ProducerRecord<byte[], byte[]>> deadLetters,
      Map<TopicPartition, Long> nextOffsets) {
  }

  /**
   * Writes the batch. It is first tried without savepoints (one round trip per row); only when a
   * row is refused as a bad row ({@link SqlErrors#BAD_ROW}) is it rolled back and redone with a
   * savepoint per record, so that the refused record alone goes to the DLQ.
   *
   * @throws SQLException any failure other than a bad row; the transaction is then rolled back
   */
  Outcome write(Connection c, Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> batch)
      throws SQLException {
    try {
      return write(c, batch, false);
    } catch (SQLException e) {
      rollbackQuietly(c);
      if (SqlErrors.classify(e) != SqlErrors.BAD_ROW) {
        throw e;
      }
    }
    try {
      return write(c, batch, true);
    } catch (SQLException | RuntimeException e) {
      rollbackQuietly(c);
      throw e;
    }
  }

  private Outcome write(Connection c,
      Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> batch, boolean isolateRecords)
      throws SQLException {
    List<ProducerRecord<byte[], byte[]>> dlq = new ArrayList<>();
    Map<TopicPartition, Long> next = new LinkedHashMap<>();
    long written = 0;
    long stale = 0;
    for (Map.Entry<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> entry
        : batch.entrySet()) {
      TopicPartition tp = entry.getKey();
      List<ConsumerRecord<byte[], byte[]>> records = entry.getValue();
      if (records.isEmpty()) {
        continue;
      }
      for (ConsumerRecord<byte[], byte[]> record : records) {
        SpecificRecord value;
        try {
          value = read(record);
        } catch (RuntimeException e) {
          if (registryUnavailable(e)) {
            // The record may be fine: the registry that holds its schema did not answer.
            throw new RegistryUnavailable(e);
          }
          // SerializationException for bad bytes, IllegalArgumentException for a record that
          // breaks the contract: either way this record, not the sink, is broken.
          dlq.add(deadLetter(record, e));
          continue;
        }
        Savepoint savepoint = isolateRecords ? c.setSavepoint() : null;
        try {
          Boolean changed = store(c, record, value);
          if (changed == Boolean.TRUE) {
            written++;
          } else if (changed == Boolean.FALSE) {
            stale++;
          }
          if (savepoint != null) {
            c.releaseSavepoint(savepoint);
          }
        } catch (SQLException e) {
          if (savepoint == null || SqlErrors.classify(e) != SqlErrors.BAD_ROW) {
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
      long nextOffset = records.get(records.size() - 1).offset() + 1;
      try (PreparedStatement ps = c.prepareStatement(UPSERT_OFFSET)) {
        ps.setString(1, groupId);
        ps.setString(2, tp.topic());
        ps.setInt(3, tp.partition());
        ps.setLong(4, nextOffset);
        ps.executeUpdate();
      }
      next.put(tp, nextOffset);
    }
    return new Outcome(written, stale, List.copyOf(dlq), Map.copyOf(next));
  }

  /** The stored resume offset of each partition that has one; the transaction is left open. */
  Map<TopicPartition, OptionalLong> storedOffsets(Connection c,
      Collection<TopicPartition> partitions) throws SQLException {
    Map<TopicPartition, OptionalLong> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(SELECT_OFFSET)) {
      for (TopicPartition tp : partitions) {
        ps.setString(1, groupId);
        ps.setString(2, tp.topic());
        ps.setInt(3, tp.partition());
        try (ResultSet rs = ps.executeQuery()) {
          out.put(tp, rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty());
        }
      }
    }
    return out;
  }

  /** The schema registry could not be asked for a record's schema: the batch waits. */
  static final class RegistryUnavailable extends KafkaException {
    RegistryUnavailable(Throwable cause) {
      super("the schema registry did not answer: " + cause.getMessage(), cause);
    }
  }

  /**
   * Whether a deserialization failure is an outage of the registry (connection refused or reset,
   * timed out, a 5xx answer) rather than a broken record.
   */
  static boolean registryUnavailable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.net.ConnectException || t instanceof java.net.SocketException
          || t instanceof java.net.SocketTimeoutException
          || t instanceof java.net.http.HttpTimeoutException
          || t instanceof java.nio.channels.ClosedChannelException) {
        return true;
      }
      if (t instanceof RestClientException r && (r.status() >= 500 || r.status() <= 0)) {
        return true;
      }
    }
    return false;
  }

  private SpecificRecord read(ConsumerRecord<byte[], byte[]> record) {
    if (record.value() == null) {
      return null;
    }
    Deserializer<? extends SpecificRecord> deserializer = deserializers.get(record.topic());
    if (deserializer == null) {
      throw new IllegalArgumentException("the sink does not store topic " + record.topic());
    }
    return deserializer.deserialize(record.topic(), record.headers(), record.value());
  }

  /** TRUE: row written; FALSE: the row holds this offset or a later one; null: nothing to do. */
  private Boolean store(Connection c, ConsumerRecord<byte[], byte[]> record,
      SpecificRecord value) throws SQLException {
    RowWriter.Position at = new RowWriter.Position(record.partition(), record.offset());
    String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    if (value == null) {
      if (record.topic().equals(catalog.protocolRules().name()) && key != null) {
        return RowWriter.tombstoneRule(c, key, Instant.ofEpochMilli(record.timestamp()), at);
      }
      return null; // a tombstone on another compacted topic: the durable record stays
    }
    return RowWriter.write(c, value, at);
  }

  ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> record, Exception e) {
    String sqlState = e instanceof SQLException s ? s.getSQLState() : null;
    LOG.warn("sink sends {}-{}@{} to the DLQ{}: {}", record.topic(), record.partition(),
        record.offset(), sqlState == null ? "" : " (SQLSTATE " + sqlState + ")",
        bounded(e.toString(), 300));
    RecordHeaders headers = new RecordHeaders(record.headers().toArray());
    headers.add(DlqHeaders.TOPIC, utf8(record.topic()));
    headers.add(DlqHeaders.PARTITION, utf8(String.valueOf(record.partition())));
    headers.add(DlqHeaders.OFFSET, utf8(String.valueOf(record.offset())));
    headers.add(DlqHeaders.EXCEPTION_CLASS, utf8(e.getClass().getName()));
    headers.add(DlqHeaders.EXCEPTION_MESSAGE,
        utf8(bounded(String.valueOf(e.getMessage()), MAX_MESSAGE_CHARS)));
    headers.add(DlqHeaders.STAGE, utf8(STAGE));
    headers.add(DlqHeaders.AGENT_ID, utf8(agentId));
    if (sqlState != null) {
      headers.add(SQL_STATE_HEADER, utf8(sqlState));
    }
    return new ProducerRecord<>(catalog.dlq().name(), null, record.key(), record.value(),
        headers);
  }

  static String bounded(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "… (" + s.length() + " chars)";
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      LOG.debug("rollback failed: {}", e.toString());
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
