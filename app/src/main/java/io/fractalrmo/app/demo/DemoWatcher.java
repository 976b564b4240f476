package io.fractalrmo.app.demo;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code fractal.task-status}, {@code fractal.error-patterns} and
 * {@code fractal.protocol-rules} (read_committed, no consumer group) on its own thread, and keeps
 * what the demo needs: the final state of the demo's tasks, every pattern, the latest version of
 * every rule. Reports each new pattern and each rule change to a listener as a line of text.
 */
public final class DemoWatcher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DemoWatcher.class);
  private static final Set<TaskState> FINAL = Set.of(TaskState.SUCCEEDED, TaskState.FAILED,
      TaskState.REJECTED);

  private final Endpoints endpoints;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Deserializer<TaskStatus> statusDeserializer;
  private final Deserializer<ErrorPattern> patternDeserializer;
  private final Deserializer<ProtocolRule> ruleDeserializer;
  private final Set<String> taskIds = ConcurrentHashMap.newKeySet();
  private final Map<String, TaskStatus> finals = new ConcurrentHashMap<>();
  private final Map<String, Long> submittedAt = new ConcurrentHashMap<>();
  private final Map<String, RuleView> rules = new ConcurrentHashMap<>();
  private final List<PatternView> patterns = new CopyOnWriteArrayList<>();
  private final Map<String, Long> shownPatterns = new ConcurrentHashMap<>();
  private final Consumer<String> events;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean caughtUp;
  private volatile Throwable failure;

  public DemoWatcher(Endpoints endpoints, Map<String, Object> serdeConfig, Consumer<String> events) {
    this.endpoints = endpoints;
    this.events = events;
    Map<String, Object> p = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        "fractal-demo-watcher");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    this.statusDeserializer = FractalSerdes.value(TaskStatus.class, serdeConfig).deserializer();
    this.patternDeserializer = FractalSerdes.value(ErrorPattern.class, serdeConfig).deserializer();
    this.ruleDeserializer = FractalSerdes.value(ProtocolRule.class, serdeConfig).deserializer();
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(endpoints.topics().taskStatus().name(),
        endpoints.topics().errorPatterns().name(), endpoints.topics().protocolRules().name())) {
      consumer.partitionsFor(topic, Duration.ofSeconds(30))
          .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    this.thread = new Thread(this::loop, "fractal-demo-watcher");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Remember a task as the demo's before it is submitted. */
  public void expect(String taskId, long submittedAtMs) {
    taskIds.add(taskId);
    submittedAt.put(taskId, submittedAtMs);
  }

  public boolean caughtUp() {
    return caughtUp;
  }

  public Throwable failure() {
    return failure;
  }

  /** The outcome of a task, UNFINISHED while it has no final state. */
  public TaskOutcome outcome(String taskId) {
    TaskStatus status = finals.get(taskId);
    long submitted = submittedAt.getOrDefault(taskId, -1L);
    if (status == null) {
      return new TaskOutcome(taskId, TaskOutcome.UNFINISHED, null, null, List.of(), submitted, -1);
    }
    long finishedAt = status.getUpdatedAt().toEpochMilli();
    for (StateTransition t : status.getTransitions()) {
      if (t.getState() == status.getState()) {
        finishedAt = t.getAt().toEpochMilli();
      }
    }
    return new TaskOutcome(taskId, status.getState().name(),
        status.getFailureCategory() == null ? null : status.getFailureCategory().name(),
        status.getFailureReason(), List.copyOf(status.getAppliedRuleIds()), submitted,
        finishedAt, status.getMissingAspects().stream().map(Enum::name).toList());
  }

  public Map<String, RuleView> rules() {
    return Map.copyOf(rules);
  }

  public List<PatternView> patterns() {
    return List.copyOf(patterns);
  }

  private void loop() {
    try {
      while (running) {
        var records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, byte[]> r : records) {
          try {
            handle(r);
          } catch (RuntimeException e) {
            LOG.warn("skipping a record the demo cannot read on {}-{}@{}: {}", r.topic(),
                r.partition(), r.offset(), e.toString());
          }
        }
        if (!caughtUp && records.isEmpty()) {
          caughtUp = true;
        }
      }
    } catch (WakeupException e) {
      if (running) {
        failure = e;
      }
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("the demo's watcher stopped", e);
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private void handle(ConsumerRecord<String, byte[]> r) {
    String topic = r.topic();
    if (topic.equals(endpoints.topics().taskStatus().name())) {
      if (r.value() == null || r.key() == null || !taskIds.contains(r.key())) {
        return;
      }
      TaskStatus status = statusDeserializer.deserialize(topic, r.value());
      if (FINAL.contains(status.getState())) {
        finals.putIfAbsent(r.key(), status);
      }
    } else if (topic.equals(endpoints.topics().errorPatterns().name())) {
      if (r.value() == null) {
        return;
      }
      ErrorPattern p = patternDeserializer.deserialize(topic, r.value());
      PatternView view = new PatternView(p.getPatternKey(), p.getFrequency(), p.getConfidence(),
          p.getWindowStart().toEpochMilli(), p.getWindowEnd().toEpochMilli(),
          p.getSuggestedAction().name(), System.currentTimeMillis());
      patterns.add(view);
      // Hopping windows report the same burst once per window: say it once per key and size.
      Long shown = shownPatterns.get(p.getPatternKey());
      if (shown != null && shown >= p.getFrequency()) {
        return;
      }
      shownPatterns.put(p.getPatternKey(), p.getFrequency());
      events.accept(String.format(Locale.ROOT,
          "pattern  %-40s x%d in its window, confidence %.2f, suggests %s", p.getPatternKey(),
          p.getFrequency(), p.getConfidence(), p.getSuggestedAction()));
    } else if (topic.equals(endpoints.topics().protocolRules().name())) {
      if (r.value() == null) {
        RuleView gone = rules.get(r.key());
        if (gone != null) {
          rules.put(r.key(), gone.withStatus("TOMBSTONED"));
          events.accept("rule     " + r.key() + " tombstoned (retired)");
        }
        return;
      }
      ProtocolRule rule = ruleDeserializer.deserialize(topic, r.value());
      RuleView previous = rules.get(rule.getRuleId());
      long now = System.currentTimeMillis();
      RuleView view = RuleView.of(rule, previous == null ? now : previous.firstSeenMs(),
          previous != null && previous.activatedAtMs() > 0 ? previous.activatedAtMs()
              : "ACTIVE".equals(rule.getStatus().name()) ? now : -1);
      rules.put(rule.getRuleId(), view);
      if (previous == null || !previous.status().equals(view.status())
          || previous.version() != view.version()) {
        events.accept(describe(view));
      }
    }
  }

  static String describe(RuleView r) {
    RuleView.Trial t = r.trial();
    String trial = t == null ? "" : " | " + t.verdict();
    return String.format(Locale.ROOT, "rule     %-40s v%d %-9s %s confidence %.2f%s",
        r.ruleId(), r.version(), r.status(), r.action(), r.confidence(), trial);
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
