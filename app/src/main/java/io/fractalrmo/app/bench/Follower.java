package io.fractalrmo.app.bench;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.trace.SpanRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * What an independent read_committed client sees of one phase's topics, on its own thread: per
 * topic the records, their value bytes and when the first and last became visible; the final
 * status of every task (with its transitions); when each rule was first seen in each status; the
 * trial action items. Visible means committed: this is the downstream consumer's view.
 */
final class Follower implements AutoCloseable {

  private static final Set<TaskState> FINAL = Set.of(TaskState.SUCCEEDED, TaskState.FAILED,
      TaskState.REJECTED);

  /** Per topic: records and bytes seen, first and last seen (wall ms). */
  static final class Hop {
    volatile long records;
    volatile long bytes;
    volatile long firstMs = -1;
    volatile long lastMs = -1;
    private final List<Long> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    /** Per key: when its first and its last record were seen (wall ms). */
    private final Map<String, long[]> byKey = new ConcurrentHashMap<>();
    /**
     * Per key: the hop that wrote its first and its last record ({@link SpanRecord}: start and
     * duration in epoch µs), {start, duration, start, duration}; absent without trace headers.
     */
    private final Map<String, long[]> spansByKey = new ConcurrentHashMap<>();

    /**
     * The hop (span) that wrote the first ({@code last} false) or last record of {@code key}:
     * {start µs, duration µs}, or null.
     */
    long[] span(String key, boolean last) {
      long[] s = spansByKey.get(key);
      return s == null ? null : last ? new long[] {s[2], s[3]} : new long[] {s[0], s[1]};
    }

    /** When the first record of {@code key} was seen here, or -1. */
    long firstSeen(String key) {
      long[] t = byKey.get(key);
      return t == null ? -1 : t[0];
    }

    /** When the last record of {@code key} was seen here, or -1. */
    long lastSeen(String key) {
      long[] t = byKey.get(key);
      return t == null ? -1 : t[1];
    }

    /** Records/s among those seen at or after {@code fromMs}: count over first-to-last span. */
    double ratePerSecondSince(long fromMs) {
      long n = 0;
      long first = Long.MAX_VALUE;
      long last = Long.MIN_VALUE;
      synchronized (seen) {
        for (long t : seen) {
          if (t >= fromMs) {
            n++;
            first = Math.min(first, t);
            last = Math.max(last, t);
          }
        }
      }
      return n < 2 || last <= first ? 0 : (n - 1) * 1000.0 / (last - first);
    }

    long countSince(long fromMs) {
      synchronized (seen) {
        return seen.stream().filter(t -> t >= fromMs).count();
      }
    }

    double meanBytes() {
      return records == 0 ? 0 : (double) bytes / records;
    }
  }

  /** A task's final status and when it became visible. */
  record Final(TaskStatus status, long seenMs) {
  }

  private final Endpoints endpoints;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Deserializer<TaskStatus> statuses;
  private final Deserializer<ProtocolRule> rules;
  private final Deserializer<ActionItem> actions;
  private final Deserializer<RuleTrial> ruleTrials;
  private final Map<String, Integer> trialSizes = new ConcurrentHashMap<>();
  private final boolean trialItems;
  private final Map<String, Hop> hops = new LinkedHashMap<>();
  private final Map<String, Final> finals = new ConcurrentHashMap<>();
  /** The tasks with a final status, in the order their final status was seen. */
  private final List<String> finalKeys = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Map<String, Long>> ruleSeen = new ConcurrentHashMap<>();
  private final List<ActionItem> trials = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  /**
   * @param trialItems whether to read the action items (for the trials' re-runs); off, action
   *     items are only counted
   */
  Follower(Endpoints endpoints, Map<String, Object> serdeConfig, List<TopicSpec> topics,
      boolean trialItems) {
    this.endpoints = endpoints;
    this.trialItems = trialItems;
    Map<String, Object> p = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        "fractal-bench-follower");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    this.statuses = FractalSerdes.value(TaskStatus.class, serdeConfig).deserializer();
    this.rules = FractalSerdes.value(ProtocolRule.class, serdeConfig).deserializer();
    this.actions = FractalSerdes.value(ActionItem.class, serdeConfig).deserializer();
    this.ruleTrials = FractalSerdes.value(RuleTrial.class, serdeConfig).deserializer();
    List<TopicPartition> partitions = new ArrayList<>();
    for (TopicSpec t : topics) {
      hops.put(t.name(), new Hop());
      consumer.partitionsFor(t.name(), Duration.ofSeconds(30))
          .forEach(info -> partitions.add(new TopicPartition(t.name(), info.partition())));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    this.thread = new Thread(this::loop, "fractal-bench-follower");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  Hop hop(TopicSpec topic) {
    return hops.get(topic.name());
  }

  /** How many tasks have a final status so far (any task). */
  int finalCount() {
    return finalKeys.size();
  }

  /** The tasks whose final status was the {@code from}-th seen and later. */
  List<String> finalsFrom(int from) {
    synchronized (finalKeys) {
      return List.copyOf(finalKeys.subList(Math.min(from, finalKeys.size()), finalKeys.size()));
    }
  }

  Final finalOf(String taskId) {
    return finals.get(taskId);
  }

  /** When rule {@code ruleId} was first seen with {@code status}, or -1. */
  long ruleSeen(String ruleId, String status) {
    Map<String, Long> seen = ruleSeen.get(ruleId);
    return seen == null ? -1 : seen.getOrDefault(status, -1L);
  }

  List<ActionItem> trialItems(String ruleId) {
    return trials.stream().filter(a -> a.getTrial().getRuleId().equals(ruleId)).toList();
  }

  /** Items the started trial of {@code ruleId} re-runs (two per sampled failure, one per guard), or -1. */
  int trialSize(String ruleId) {
    return trialSizes.getOrDefault(ruleId, -1);
  }

  Throwable failure() {
    return failure;
  }

  /** Waits until {@code done} or the deadline; false on timeout. Polls the follower's view. */
  boolean await(BooleanSupplier done, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      if (failure != null) {
        throw new IllegalStateException("the benchmark's reader failed", failure);
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(2); // polling a local view; the reader thread does the waiting on Kafka
    }
    return true;
  }

  private void loop() {
    String statusTopic = endpoints.topics().taskStatus().name();
    String ruleTopic = endpoints.topics().protocolRules().name();
    String actionTopic = endpoints.topics().actionItems().name();
    String trialTopic = endpoints.topics().ruleTrials().name();
    try {
      while (running) {
        var records = consumer.poll(Duration.ofMillis(100));
        long now = System.currentTimeMillis();
        for (ConsumerRecord<String, byte[]> r : records) {
          Hop h = hops.get(r.topic());
          if (h != null) {
            if (h.firstMs < 0) {
              h.firstMs = now;
            }
            h.lastMs = now;
            h.records++;
            h.bytes += r.value() == null ? 0 : r.value().length;
            h.seen.add(now);
            if (r.key() != null) {
              h.byKey.compute(r.key(), (k, t) -> t == null ? new long[] {now, now}
                  : new long[] {t[0], now});
              SpanRecord.of(r.headers()).filter(sr -> sr.startMicros() > 0).ifPresent(sr ->
                  h.spansByKey.compute(r.key(), (k, t) -> t == null
                      ? new long[] {sr.startMicros(), sr.durationMicros(), sr.startMicros(),
                          sr.durationMicros()}
                      : new long[] {t[0], t[1], sr.startMicros(), sr.durationMicros()}));
            }
          }
          if (r.value() == null || r.key() == null) {
            continue;
          }
          if (r.topic().equals(statusTopic)) {
            TaskStatus s = statuses.deserialize(r.topic(), r.headers(), r.value());
            if (FINAL.contains(s.getState())) {
              if (finals.putIfAbsent(r.key(), new Final(s, now)) == null) {
                finalKeys.add(r.key());
              }
            }
          } else if (r.topic().equals(ruleTopic)) {
            ProtocolRule rule = rules.deserialize(r.topic(), r.headers(), r.value());
            ruleSeen.computeIfAbsent(rule.getRuleId(), k -> new ConcurrentHashMap<>())
                .putIfAbsent(rule.getStatus().name(), now);
          } else if (r.topic().equals(trialTopic)) {
            RuleTrial trial = ruleTrials.deserialize(r.topic(), r.headers(), r.value());
            if (trial.getPhase() == TrialPhase.STARTED) {
              trialSizes.putIfAbsent(trial.getRuleId(), 2 * trial.getSampleActionIds().size()
                  + trial.getGuardActionIds().size());
            }
          } else if (trialItems && r.topic().equals(actionTopic)) {
            ActionItem a = actions.deserialize(r.topic(), r.headers(), r.value());
            if (a.getTrial() != null) {
              trials.add(a);
            }
          }
        }
      }
    } catch (WakeupException e) {
      if (running) {
        failure = e;
      }
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
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
