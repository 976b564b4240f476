package io.fractalrmo.agentworkers.rules;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.LoopContext;
import io.fractalrmo.runtime.RetryPolicy;
import io.fractalrmo.runtime.Supervised;
import io.fractalrmo.runtime.TopicReader;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol rules as they stand on the compacted {@code fractal.protocol-rules} topic: read
 * from the beginning at start (all partitions assigned, read_committed, no consumer group, nothing
 * committed), then followed, on the {@link ConsumeLoop} skeleton as a {@link TopicReader}. The
 * latest record per rule id wins; a tombstone removes the rule. {@link #activeRules()} is a
 * snapshot of the ACTIVE ones, safe from any thread.
 *
 * <p>Rules are never silently missing: a record whose schema cannot be fetched (the registry
 * down or slow) is retried — the book waits and reads it again, it does not skip it — and is
 * DEGRADED meanwhile; a record that can never be read (corrupt bytes) is reported: the book is
 * DEGRADED, naming it, until a later record of that rule replaces it. {@link #lag()} says how far
 * behind the book is; it is {@link Supervised}, so the workers using it fail when its follower
 * does (retries exhausted, or a fatal error), with its cause.
 */
public final class KafkaRuleBook implements RuleBook, AutoCloseable, Supervised {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaRuleBook.class);
  private static final String UNREADABLE = "unreadable";

  private final String topic;
  private final Deserializer<ProtocolRule> deserializer;
  private final Map<String, ProtocolRule> rules = new ConcurrentHashMap<>();
  private final Map<String, String> unreadable = new ConcurrentHashMap<>();
  private final TopicReader<String, byte[]> reader;
  private final ConsumeLoop<String, byte[]> loop;
  private volatile LoopContext<String, byte[]> context;

  /** Takes ownership of {@code consumer} (closed with the book) and starts following the topic. */
  public KafkaRuleBook(Consumer<String, byte[]> consumer, String topic,
      Deserializer<ProtocolRule> deserializer) {
    this(consumer, topic, deserializer, RetryPolicy.defaults());
  }

  /** As above, with the retry policy of the follower (how long an outage is waited out). */
  public KafkaRuleBook(Consumer<String, byte[]> consumer, String topic,
      Deserializer<ProtocolRule> deserializer, RetryPolicy retry) {
    this.topic = Objects.requireNonNull(topic, "topic");
    this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
    this.reader = new TopicReader<>(this::apply, this::onUnreadable, null);
    this.loop = TopicReader.loop("rule cache on " + topic, consumer, List.of(topic), reader)
        .pollTimeout(Duration.ofMillis(200))
        .retry(retry)
        .build();
    this.loop.start();
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
   * @return true when caught up, false when the timeout passed first or the book failed
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!reader.isCaughtUp() && loop.isRunning()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      reader.awaitCaughtUp(Duration.ofNanos(Math.min(left, Duration.ofMillis(100).toNanos())));
    }
    return reader.isCaughtUp();
  }

  public boolean isCaughtUp() {
    return reader.isCaughtUp();
  }

  /** Records not read yet: to the end offsets at start while catching up, then the fetch lag. */
  public long lag() {
    return reader.lag();
  }

  /** Rule records that cannot be read, by rule id ({@code partition@offset}). */
  public Map<String, String> unreadable() {
    return Map.copyOf(unreadable);
  }

  @Override
  public String name() {
    return loop.name();
  }

  @Override
  public HealthState.Snapshot health() {
    return loop.health();
  }

  /** Why the follower stopped on its own, or null. */
  @Override
  public Throwable failure() {
    return loop.failure();
  }

  /** A one-line account: caught up or how far behind, health. */
  public String describe() {
    return (reader.isCaughtUp() ? "caught up" : reader.lag() < 0 ? "not started reading"
        : reader.lag() + " record(s) behind") + ", " + rules.size() + " rules, health "
        + loop.health();
  }

  private void apply(ConsumerRecord<String, byte[]> record) {
    String key = record.key();
    if (record.value() == null) {
      ProtocolRule removed = key == null ? null : rules.remove(key);
      if (removed != null) {
        LOG.info("rule {} removed (tombstone)", key);
      }
      readable(key);
      return;
    }
    // may throw: transient (registry) → read again after a backoff; else → onUnreadable
    ProtocolRule rule = deserializer.deserialize(record.topic(), record.headers(), record.value());
    String id = key != null ? key : rule.getRuleId();
    ProtocolRule previous = rules.put(id, rule);
    readable(id);
    RuleStatus was = previous == null ? null : previous.getStatus();
    if (was != rule.getStatus() || previous.getVersion() != rule.getVersion()) {
      LOG.info("rule {} v{} {} -> {} ({}): {}", id, rule.getVersion(), was, rule.getStatus(),
          rule.getAction().getKind(), rule.getDescription());
    }
  }

  private void onUnreadable(ConsumerRecord<String, byte[]> record, Throwable error,
      LoopContext<String, byte[]> loopContext) {
    context = loopContext;
    String key = record.key() == null ? "(no key)" : record.key();
    unreadable.put(key, record.partition() + "@" + record.offset());
    LOG.error("rule record {}-{}@{} (rule {}) cannot be read and is NOT applied: {}",
        record.topic(), record.partition(), record.offset(), key, error.toString());
    updateCondition();
  }

  private void readable(String key) {
    if (key != null && unreadable.remove(key) != null) {
      updateCondition();
    }
  }

  private void updateCondition() {
    LoopContext<String, byte[]> ctx = context;
    if (ctx == null) {
      return;
    }
    ctx.condition(UNREADABLE, unreadable.isEmpty() ? null
        : "unreadable rule records, not applied: " + new TreeMap<>(unreadable));
  }

  /** Stops following the topic and closes the consumer. */
  @Override
  public void close() {
    loop.stop();
    try {
      if (!loop.awaitStopped(Duration.ofSeconds(30))) {
        LOG.warn("rule cache on {} did not stop within 30 s", topic);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    deserializer.close();
  }
}
