package io.fractalrmo.agentworkers.rules;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol rules as they stand on the compacted {@code fractal.protocol-rules} topic: read
 * from the beginning at start (all partitions assigned, read_committed, no consumer group, nothing
 * committed), then followed by a background thread. The latest record per rule id wins; a
 * tombstone removes the rule. {@link #activeRules()} is a snapshot of the ACTIVE ones, safe from
 * any thread. A record that does not deserialize is logged and skipped (the book never stops).
 */
public final class KafkaRuleBook implements RuleBook, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaRuleBook.class);
  private static final Duration POLL = Duration.ofMillis(200);

  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final Deserializer<ProtocolRule> deserializer;
  private final Map<String, ProtocolRule> rules = new ConcurrentHashMap<>();
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;
  private volatile Map<TopicPartition, Long> startEndOffsets;
  private volatile Throwable failure;

  /** Takes ownership of {@code consumer} (closed with the book) and starts following the topic. */
  public KafkaRuleBook(Consumer<String, byte[]> consumer, String topic,
      Deserializer<ProtocolRule> deserializer) {
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
    this.thread = new Thread(this::follow, "rule-book-" + topic);
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** A book over {@code endpoints}' rules topic with its own consumer. */
  public static KafkaRuleBook start(Endpoints endpoints, Map<String, ?> serdeConfig) {
    Consumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClientConfigs.assignedReader(
        endpoints.bootstrapServers(), "rule-book-" + UUID.randomUUID()));
    return new KafkaRuleBook(consumer, endpoints.topics().protocolRules().name(),
        FractalSerdes.value(ProtocolRule.class, serdeConfig).deserializer());
  }

  @Override
  public List<ProtocolRule> activeRules() {
    return rules.values().stream()
        .filter(r -> r.getStatus() == RuleStatus.ACTIVE)
        .sorted(Comparator.comparing(r -> r.getRuleId().toString()))
        .toList();
  }

  /** Every rule currently on the topic (any status), by rule id. */
  public Map<String, ProtocolRule> allRules() {
    return Map.copyOf(rules);
  }

  /**
   * Waits until everything that was on the topic when the book started has been read.
   *
   * @return true when caught up, false when the timeout passed first
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public boolean isCaughtUp() {
    return caughtUp.getCount() == 0;
  }

  /** Why the follower thread stopped on its own, or null. */
  public Throwable failure() {
    return failure;
  }

  private void follow() {
    try {
      List<TopicPartition> partitions = partitions();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      // read_committed: the end offsets are last stable offsets, i.e. what is committed now.
      startEndOffsets = Map.copyOf(consumer.endOffsets(partitions));
      checkCaughtUp();
      while (running.get()) {
        ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
        for (ConsumerRecord<String, byte[]> record : records) {
          apply(record);
        }
        if (caughtUp.getCount() > 0) {
          checkCaughtUp();
        }
      }
    } catch (WakeupException e) {
      if (running.get()) {
        failure = e;
      }
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("rule book on {} stopped following the topic", topic, e);
    } finally {
      try {
        consumer.close();
      } catch (RuntimeException e) {
        LOG.warn("closing rule book consumer: {}", e.toString());
      }
      deserializer.close();
      stopped.countDown();
    }
  }

  private List<TopicPartition> partitions() {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
      if (infos != null && !infos.isEmpty()) {
        return infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
      }
      if (System.nanoTime() > deadline || !running.get()) {
        throw new IllegalStateException("topic " + topic + " does not exist");
      }
      LOG.info("waiting for topic {} to exist", topic);
      try {
        // A retry delay before asking the broker again, not synchronisation.
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + topic, e);
      }
    }
  }

  private void checkCaughtUp() {
    Map<TopicPartition, Long> targets = startEndOffsets;
    for (Map.Entry<TopicPartition, Long> e : targets.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return;
      }
    }
    if (caughtUp.getCount() > 0) {
      LOG.info("rule book caught up with {}: {} rules, {} active", topic, rules.size(),
          activeRules().size());
      caughtUp.countDown();
    }
  }

  private void apply(ConsumerRecord<String, byte[]> record) {
    String key = record.key();
    if (record.value() == null) {
      ProtocolRule removed = key == null ? null : rules.remove(key);
      if (removed != null) {
        LOG.info("rule {} removed (tombstone)", key);
      }
      return;
    }
    ProtocolRule rule;
    try {
      rule = deserializer.deserialize(record.topic(), record.headers(), record.value());
    } catch (RuntimeException e) {
      LOG.warn("skipping rule record {}-{}@{} (key {}) that does not deserialize: {}",
          record.topic(), record.partition(), record.offset(), key, e.toString());
      return;
    }
    String id = key != null ? key : rule.getRuleId().toString();
    ProtocolRule previous = rules.put(id, rule);
    RuleStatus was = previous == null ? null : previous.getStatus();
    if (was != rule.getStatus() || previous.getVersion() != rule.getVersion()) {
      LOG.info("rule {} v{} {} -> {} ({}): {}", id, rule.getVersion(), was, rule.getStatus(),
          rule.getAction().getKind(), rule.getDescription());
    }
  }

  /** Stops following the topic and closes the consumer. */
  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("rule book follower did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
