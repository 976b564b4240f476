package io.fractalrmo.contracts;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.avro.Schema;

/**
 * One topic of the public contract: its name, what its records are, and how it is kept.
 * Immutable; built only by {@link TopicCatalog}.
 *
 * @param name full topic name, prefix included
 * @param baseName the name without any tenant prefix, e.g. {@code fractal.tasks}
 * @param valueSchema Avro schema of the values, empty for {@code fractal.dlq} (raw bytes)
 * @param valueClass generated SpecificRecord class of the values, empty for the DLQ
 * @param key what the (plain UTF-8 string) key is, e.g. "task id"
 * @param partitions default partition count
 * @param cleanupPolicy {@code delete} or {@code compact}
 * @param retention retention of a delete topic; empty for compacted topics (kept forever)
 * @param writtenBy who produces to it
 * @param readBy who consumes it
 */
public record TopicSpec(
    String name,
    String baseName,
    Optional<Schema> valueSchema,
    Optional<Class<? extends org.apache.avro.specific.SpecificRecord>> valueClass,
    String key,
    int partitions,
    String cleanupPolicy,
    Optional<Duration> retention,
    String writtenBy,
    String readBy) {

  public static final String DELETE = "delete";
  public static final String COMPACT = "compact";

  public TopicSpec {
    Objects.requireNonNull(name, "name");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1 for " + name);
    }
    if (!DELETE.equals(cleanupPolicy) && !COMPACT.equals(cleanupPolicy)) {
      throw new IllegalArgumentException("cleanup policy must be delete or compact for " + name);
    }
  }

  /** Subject of the value schema under Confluent's TopicNameStrategy. */
  public String valueSubject() {
    return name + "-value";
  }

  public boolean compacted() {
    return COMPACT.equals(cleanupPolicy);
  }

  /** Topic-level configs to create it with ({@code cleanup.policy}, {@code retention.ms}, ...). */
  public Map<String, String> configs() {
    if (compacted()) {
      return Map.of(
          "cleanup.policy", COMPACT,
          // Rules and statuses are small: compact early so a reader from the start sees the live set.
          "min.cleanable.dirty.ratio", "0.1",
          "segment.ms", String.valueOf(Duration.ofHours(1).toMillis()),
          "delete.retention.ms", String.valueOf(Duration.ofDays(1).toMillis()));
    }
    return Map.of(
        "cleanup.policy", DELETE,
        "retention.ms", String.valueOf(retention.orElse(Duration.ofDays(7)).toMillis()));
  }

  TopicSpec withPrefix(String prefix) {
    return new TopicSpec(prefix + baseName, baseName, valueSchema, valueClass, key, partitions,
        cleanupPolicy, retention, writtenBy, readBy);
  }
}
