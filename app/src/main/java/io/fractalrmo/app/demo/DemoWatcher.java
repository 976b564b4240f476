package io.fractalrmo.app.demo;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.TopicReader;
import java.time.Duration;
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
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Follows {@code fractal.task-status}, {@code fractal.error-patterns} and
 * {@code fractal.protocol-rules} (read_committed, no consumer group) on its own thread — the one
 * consume-loop skeleton as a {@link TopicReader}: a record whose schema cannot be fetched yet is
 * read again after a backoff, one that can never be read is skipped and logged, a broker outage is
 * retried within the retry policy and then {@link #failure()} says why — and keeps what the demo
 * needs: the final state of the demo's tasks, every pattern, the latest version of every rule.
 * Reports each new pattern and each rule change to a listener as a line of text.
 */
public final class DemoWatcher implements AutoCloseable {

  private static final Set<TaskState> FINAL = Set.of(TaskState.SUCCEEDED, TaskState.FAILED,
      TaskState.REJECTED);

  private final Endpoints endpoints;
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
  private final TopicReader<String, byte[]> reader;
  private final ConsumeLoop<String, byte[]> loop;

  public DemoWatcher(Endpoints endpoints, Map<String, Object> serdeConfig, Consumer<String> events) {
    this.endpoints = endpoints;
    this.events = events;
    Map<String, Object> p = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        "fractal-demo-watcher");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    this.statusDeserializer = FractalSerdes.value(TaskStatus.class, serdeConfig).deserializer();
    this.patternDeserializer = FractalSerdes.value(ErrorPattern.class, serdeConfig).deserializer();
    this.ruleDeserializer = FractalSerdes.value(ProtocolRule.class, serdeConfig).deserializer();
    this.reader = new TopicReader<>(this::handle);
    this.loop = TopicReader.loop("fractal-demo-watcher", consumer, List.of(
            endpoints.topics().taskStatus().name(), endpoints.topics().errorPatterns().name(),
            endpoints.topics().protocolRules().name()), reader)
        .pollTimeout(Duration.ofMillis(200))
        .build();
  }

  public void start() {
    loop.start();
  }

  /** Remember a task as the demo's before it is submitted. */
  public void expect(String taskId, long submittedAtMs) {
    taskIds.add(taskId);
    submittedAt.put(taskId, submittedAtMs);
  }

  /** True once everything that was on the topics at start has been read. */
  public boolean caughtUp() {
    return reader.isCaughtUp();
  }

  /** Why the watcher stopped on its own (retries exhausted, fatal error), or null. */
  public Throwable failure() {
    return loop.failure();
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
    loop.stop();
    try {
      loop.awaitStopped(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
