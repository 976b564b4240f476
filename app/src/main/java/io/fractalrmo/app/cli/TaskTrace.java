package io.fractalrmo.app.cli;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.runtime.trace.SpanRecord;
import io.fractalrmo.runtime.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.Utils;

/**
 * One task's trace rebuilt from the topics alone (no exporter needed): every record of the task
 * on its task-keyed topics — read from the one partition its key maps to — carries the hop that
 * wrote it ({@link SpanRecord}); the hops of the task's trace (the trace of its latest submission)
 * are its timeline, the status transitions among them. Patterns and rules are keyed otherwise, so
 * {@code fractal.error-patterns} and {@code fractal.protocol-rules} are scanned for hops of this
 * trace (the pattern this task's error completed, the rule proposed from it) and for hops of other
 * traces that link to it (a pattern completed by another task's error that counted this one).
 */
public final class TaskTrace {

  /** At most this many records are read from each scanned (not task-keyed) topic. */
  static final int MAX_SCANNED = 200_000;
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

  /** One hop: a span and the topics it wrote (one span may write several records). */
  public record Hop(SpanRecord span, Set<String> wrote) {
    public String name() {
      return span.name();
    }
  }

  private final String taskId;
  private final String traceId;
  private final List<Hop> hops;
  private final List<Hop> linkedFrom;
  private final int otherTraces;

  private TaskTrace(String taskId, String traceId, List<Hop> hops, List<Hop> linkedFrom,
      int otherTraces) {
    this.taskId = taskId;
    this.traceId = traceId;
    this.hops = hops;
    this.linkedFrom = linkedFrom;
    this.otherTraces = otherTraces;
  }

  public String taskId() {
    return taskId;
  }

  /** The trace id, empty when the task has no traced record. */
  public Optional<String> traceId() {
    return Optional.ofNullable(traceId);
  }

  /** The hops of the task's trace, by start. */
  public List<Hop> hops() {
    return hops;
  }

  /** Hops of other traces that link to a hop of this one (e.g. a pattern another error made). */
  public List<Hop> linkedFrom() {
    return linkedFrom;
  }

  /** Reads the task's trace from the topics as they are now. */
  public static TaskTrace read(Endpoints e, String taskId, Duration timeout) {
    TopicCatalog t = e.topics();
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "fractal-status-trace");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
    byte[] key = taskId.getBytes(StandardCharsets.UTF_8);
    List<Read> byTask = new ArrayList<>();
    List<Read> scanned = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> keyed = new ArrayList<>();
      for (TopicSpec topic : List.of(t.tasks(), t.analyses(), t.actionItems(),
          t.executionResults(), t.validationOutcomes(), t.errors(), t.alerts(), t.taskStatus())) {
        List<PartitionInfo> parts = c.partitionsFor(topic.name(), remaining(deadline));
        if (parts != null && !parts.isEmpty()) {
          keyed.add(new TopicPartition(topic.name(),
              Utils.toPositive(Utils.murmur2(key)) % parts.size()));
        }
      }
      readAll(c, keyed, deadline, Integer.MAX_VALUE,
          r -> r.key() != null && java.util.Arrays.equals(r.key(), key), byTask);
      List<TopicPartition> all = new ArrayList<>();
      for (TopicSpec topic : List.of(t.errorPatterns(), t.protocolRules())) {
        List<PartitionInfo> parts = c.partitionsFor(topic.name(), remaining(deadline));
        if (parts != null) {
          parts.forEach(i -> all.add(new TopicPartition(topic.name(), i.partition())));
        }
      }
      readAll(c, all, deadline, MAX_SCANNED, r -> true, scanned);
    }
    // the trace of the task's latest submission: its own, or (an untraced producer, a malformed
    // header) its record's origin, which the hops that read it joined
    String trace = null;
    for (Read r : byTask) {
      if (r.topic.equals(t.tasks().name())) {
        trace = r.span != null ? r.span.traceId() : r.originTrace;
      }
    }
    if (trace == null) {
      trace = byTask.stream().filter(r -> r.span != null).map(r -> r.span.traceId()).findFirst()
          .orElse(null);
    }
    byTask.removeIf(r -> r.span == null);
    scanned.removeIf(r -> r.span == null);
    Map<String, Hop> hops = new LinkedHashMap<>();
    Set<String> others = new LinkedHashSet<>();
    for (Read r : byTask) {
      if (r.span.traceId().equals(trace)) {
        hops.computeIfAbsent(r.span.spanId(), id -> new Hop(r.span, new LinkedHashSet<>()))
            .wrote().add(r.topic);
      } else {
        others.add(r.span.traceId());
      }
    }
    Map<String, Hop> linked = new LinkedHashMap<>();
    for (Read r : scanned) {
      if (r.span.traceId().equals(trace)) {
        hops.computeIfAbsent(r.span.spanId(), id -> new Hop(r.span, new LinkedHashSet<>()))
            .wrote().add(r.topic);
      } else if (trace != null && r.span.linksToTrace(trace)) {
        linked.computeIfAbsent(r.span.spanId(), id -> new Hop(r.span, new LinkedHashSet<>()))
            .wrote().add(r.topic);
      }
    }
    Comparator<Hop> byStart = Comparator.comparingLong((Hop h) -> h.span().startMicros())
        .thenComparing(h -> h.span().name());
    return new TaskTrace(taskId, trace, hops.values().stream().sorted(byStart).toList(),
        linked.values().stream().sorted(byStart).toList(), others.size());
  }

  /** A record read: its topic, the hop that wrote it (null: no trace headers), its origin's trace. */
  private record Read(String topic, SpanRecord span, String originTrace) {
  }

  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
  }

  private static void readAll(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> parts,
      long deadline, int max, Predicate<ConsumerRecord<byte[], byte[]>> keep, List<Read> out) {
    if (parts.isEmpty()) {
      return;
    }
    c.assign(parts);
    c.seekToBeginning(parts);
    Map<TopicPartition, Long> end = c.endOffsets(parts, remaining(deadline));
    Map<TopicPartition, Integer> read = new HashMap<>();
    while (System.nanoTime() < deadline) {
      boolean done = true;
      for (TopicPartition tp : parts) {
        if (c.position(tp, remaining(deadline)) < end.getOrDefault(tp, 0L)
            && read.getOrDefault(tp, 0) < max) {
          done = false;
        }
      }
      if (done) {
        break;
      }
      for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        read.merge(tp, 1, Integer::sum);
        if (keep.test(r)) {
          out.add(new Read(r.topic(), SpanRecord.of(r.headers()).orElse(null),
              Tracing.origin(r.topic(), r.partition(), r.offset()).getTraceId()));
        }
      }
    }
    c.unsubscribe();
  }

  /** The timeline as {@code fractal status <task-id> --trace} prints it. */
  public String render() {
    StringBuilder b = new StringBuilder();
    if (traceId == null) {
      return "task " + taskId + ": no traced record on the topics (submitted before tracing, "
          + "or with telemetry off)\n";
    }
    long t0 = hops.isEmpty() ? 0 : hops.get(0).span().startMicros();
    long last = hops.stream().mapToLong(h -> h.span().startMicros() + h.span().durationMicros())
        .max().orElse(t0);
    b.append(String.format(Locale.ROOT, "task %s  trace %s  %d hops, %.3f s, from %s UTC%n",
        taskId, traceId, hops.size(), (last - t0) / 1e6,
        TIME.format(Instant.ofEpochMilli(t0 / 1000))));
    b.append(String.format(Locale.ROOT, "  %9s %9s  %-22s %-34s %-16s %-26s %s%n", "start", "took",
        "hop", "role/instance", "span", "parent", "wrote"));
    Map<String, Hop> byId = new HashMap<>();
    hops.forEach(h -> byId.put(h.span().spanId(), h));
    for (Hop h : hops) {
      b.append(line(h, t0, byId));
    }
    if (!linkedFrom.isEmpty()) {
      b.append("linked from other traces (fan-in of many tasks):\n");
      for (Hop h : linkedFrom) {
        b.append(line(h, t0, byId)).append("      trace ").append(h.span().traceId())
            .append('\n');
      }
    }
    if (otherTraces > 0) {
      b.append(String.format(Locale.ROOT, "(%d other trace(s) also wrote records keyed %s, e.g. "
          + "rule trials re-running its action)%n", otherTraces, taskId));
    }
    return b.toString();
  }

  private static String line(Hop h, long t0, Map<String, Hop> byId) {
    SpanRecord s = h.span();
    String parent = s.parentSpanId() == null ? "-"
        : (byId.containsKey(s.parentSpanId()) ? byId.get(s.parentSpanId()).name() : "?") + " "
            + s.parentSpanId().substring(0, 8);
    String links = s.links().isEmpty() ? "" : "  links " + s.links().size() + ": "
        + String.join(",", s.links().stream().map(l -> byId.containsKey(l.spanId())
            ? byId.get(l.spanId()).name() : l.spanId().substring(0, 8)).toList());
    return String.format(Locale.ROOT, "  %9s %9s  %-22s %-34s %-16s %-26s %s%s%n",
        "+" + millis(s.startMicros() - t0), millis(s.durationMicros()), s.name(), s.agent(),
        s.spanId(), parent, String.join(",", h.wrote()), links);
  }

  private static String millis(long micros) {
    return String.format(Locale.ROOT, "%.1fms", micros / 1000.0);
  }
}
