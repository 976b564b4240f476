package io.fractalrmo.agentworkers.worker;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Client settings of the exactly-once workers, in one place: read_committed consumers without
 * auto-commit, cooperative rebalancing (only the partitions that move are revoked, so the others'
 * work in flight goes on), idempotent {@code acks=all} producers with a per-instance
 * transactional id. Short session and transaction timeouts: a worker's loop polls continuously
 * (handlers run on their own threads) and its transactions only span a commit, so a SIGKILLed
 * instance's partitions move after the session timeout and a transaction it left open is aborted
 * within {@link #DEFAULT_TRANSACTION_TIMEOUT} (at once when its restart fences it).
 * Keys are strings, values raw bytes (the worker (de)serializes values itself so a record that
 * does not deserialize can go to the DLQ unchanged).
 */
public final class KafkaClientConfigs {

  /**
   * Records per poll, modest. Slow handlers (sandbox runs) are bounded by the worker's commit
   * interval and batch time budget, not by this; fast ones need enough records per transaction
   * to amortise its ~30 ms commit (one worker, trivial handler, on 2 loaded cores: 10 per poll
   * ~240 records/s, 100 ~3 000-3 300, 200 ~6 300, 500 ~12 000-19 000).
   */
  public static final int DEFAULT_MAX_POLL_RECORDS = 200;
  /** The loop never blocks long between polls (handlers run on slot threads). */
  public static final Duration DEFAULT_MAX_POLL_INTERVAL = Duration.ofMinutes(1);
  /** How long a SIGKILLed member's partitions wait for another member (unless it is restarted). */
  public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
  /** A worker's transaction lasts one commit (milliseconds); this bounds an orphan's. */
  public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofSeconds(10);
  /** Longest a producer call blocks (a commit under a broker outage; bounds a stop). */
  public static final Duration DEFAULT_MAX_BLOCK = Duration.ofSeconds(5);

  private KafkaClientConfigs() {
  }

  /**
   * Consumer of a worker group; {@code overrides} win (e.g. session.timeout.ms in tests). With
   * {@code group.instance.id} among them the member is static: restarted with the same id, it
   * gets its partitions back without a rebalance.
   */
  public static Map<String, Object> workerConsumer(String bootstrapServers, String groupId,
      String clientId, Map<String, ?> overrides) {
    Map<String, Object> config = assignedReader(bootstrapServers, clientId);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, DEFAULT_MAX_POLL_RECORDS);
    config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG,
        (int) DEFAULT_MAX_POLL_INTERVAL.toMillis());
    config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) DEFAULT_SESSION_TIMEOUT.toMillis());
    config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
        (int) DEFAULT_HEARTBEAT_INTERVAL.toMillis());
    config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName());
    config.putAll(overrides);
    return config;
  }

  /**
   * Consumer that reads by assignment (no group, nothing committed), read_committed; the base
   * of {@link #workerConsumer}.
   */
  public static Map<String, Object> assignedReader(String bootstrapServers, String clientId) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
        ByteArrayDeserializer.class.getName());
    return config;
  }

  /**
   * Transactional producer: {@code acks=all}, idempotence on, the given transactional id, no
   * linger. A worker sends a transaction's outputs right before {@code sendOffsetsToTransaction}
   * and {@code commitTransaction}. With linger the batch waited in the accumulator while the
   * sender, which sends no data while a transactional request is in flight, sent TxnOffsetCommit;
   * only the commit's flush sent it, so every commit paid TxnOffsetCommit, Produce and EndTxn one
   * after the other (the broker's request log of a lone task). Without linger the batch goes out
   * at {@code send()}, alongside TxnOffsetCommit (transaction version 2 needs no
   * AddPartitionsToTxn first). Broker-side commit span, p50, same load: analyzers 19.7 / 20.3 ms
   * -> 15.7 / 17.7, executor 4.9 / 5.9 -> 4.2 / 5.6, validator 6.7 / 5.6 -> 5.1 / 4.8. A commit's
   * records are appended in one loop while a request is in flight, so a burst still batches.
   */
  public static Map<String, Object> transactionalProducer(String bootstrapServers,
      String transactionalId, Map<String, ?> overrides) {
    Map<String, Object> config = plainProducer(bootstrapServers, transactionalId);
    config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
        (int) DEFAULT_TRANSACTION_TIMEOUT.toMillis());
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) DEFAULT_MAX_BLOCK.toMillis());
    config.putAll(overrides);
    return config;
  }

  /** Non-transactional producer ({@code acks=all}, idempotent), e.g. for status heartbeats. */
  public static Map<String, Object> plainProducer(String bootstrapServers, String clientId) {
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return config;
  }
}
