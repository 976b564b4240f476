package io.fractalrmo.runtime;

import io.fractalrmo.contracts.DlqHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one builder of {@code fractal.dlq} records (Kafka Connect's {@code DeadLetterQueueReporter}
 * in spirit): the original key and bytes, the original headers, and {@link DlqHeaders} naming the
 * topic, partition, offset, exception class and (bounded) message, the stage that failed and the
 * agent. The record always fits {@code maxRecordBytes}: when it would not, the original headers
 * and then the value are left out, and {@link DlqHeaders#VALUE_DROPPED} gives the value's size.
 * Thread-safe.
 */
public final class DeadLetters {

  /** Longest exception message (with its causes) kept in a header. */
  public static final int MAX_MESSAGE = 2_000;

  private final String topic;
  private final String agentId;
  private final int maxRecordBytes;

  /**
   * @param maxRecordBytes the DLQ topic's limit: the smaller of the producer's
   *     {@code max.request.size} and the topic's {@code max.message.bytes}
   */
  public DeadLetters(String topic, String agentId, int maxRecordBytes) {
    this.topic = Objects.requireNonNull(topic, "topic");
    this.agentId = Objects.requireNonNull(agentId, "agentId");
    if (maxRecordBytes < 4_096) {
      throw new IllegalArgumentException("a DLQ record limit below 4 KiB cannot hold the headers");
    }
    this.maxRecordBytes = maxRecordBytes;
  }

  public DeadLetters(String topic, String agentId) {
    this(topic, agentId, RecordSizes.DEFAULT_MAX_REQUEST_SIZE);
  }

  public String topic() {
    return topic;
  }

  /**
   * The DLQ record of {@code failed}.
   *
   * @param keyBytes the serialized key (only its size matters), null for a null key
   */
  public <K> ProducerRecord<K, byte[]> of(ConsumerRecord<K, byte[]> failed, byte[] keyBytes,
      Throwable error, String stage) {
    return of(failed.topic(), failed.partition(), failed.offset(), failed.key(), keyBytes,
        failed.value(), failed.headers(), error, stage, null);
  }

  /** The DLQ record of a String-keyed record. */
  public ProducerRecord<String, byte[]> of(ConsumerRecord<String, byte[]> failed, Throwable error,
      String stage) {
    return of(failed, failed.key() == null ? null
        : failed.key().getBytes(StandardCharsets.UTF_8), error, stage);
  }

  /**
   * The DLQ record of a record given by its parts (e.g. from a Streams error handler context).
   *
   * @param extra headers added after the project's (e.g. Kafka Streams' {@code __streams.errors.*})
   */
  public <K> ProducerRecord<K, byte[]> of(String sourceTopic, int partition, long offset, K key,
      byte[] keyBytes, byte[] value, Headers original, Throwable error, String stage,
      Headers extra) {
    Headers ours = new RecordHeaders();
    put(ours, DlqHeaders.TOPIC, sourceTopic);
    put(ours, DlqHeaders.PARTITION, String.valueOf(partition));
    put(ours, DlqHeaders.OFFSET, String.valueOf(offset));
    put(ours, DlqHeaders.EXCEPTION_CLASS, error.getClass().getName());
    put(ours, DlqHeaders.EXCEPTION_MESSAGE, message(error));
    put(ours, DlqHeaders.STAGE, stage);
    put(ours, DlqHeaders.AGENT_ID, agentId);
    if (extra != null) {
      extra.forEach(ours::add);
    }
    Headers all = new RecordHeaders();
    if (original != null) {
      for (Header h : original) {
        if (!h.key().startsWith("fractal.dlq.")) {
          all.add(h);
        }
      }
    }
    ours.forEach(all::add);
    if (RecordSizes.upperBound(keyBytes, value, all) <= maxRecordBytes) {
      return new ProducerRecord<>(topic, null, key, value, all);
    }
    if (RecordSizes.upperBound(keyBytes, value, ours) <= maxRecordBytes) {
      return new ProducerRecord<>(topic, null, key, value, ours);
    }
    put(ours, DlqHeaders.VALUE_DROPPED, String.valueOf(value == null ? 0 : value.length));
    if (keyBytes != null && RecordSizes.upperBound(keyBytes, null, ours) > maxRecordBytes) {
      // a key that alone breaks the limit: the headers still say which record it was
      return new ProducerRecord<K, byte[]>(topic, null, (K) null, (byte[]) null, (Iterable<Header>) ours);
    }
    return new ProducerRecord<K, byte[]>(topic, null, key, (byte[]) null, (Iterable<Header>) ours);
  }

  /** The exception's message with its causes, bounded to {@link #MAX_MESSAGE} characters. */
  public static String message(Throwable error) {
    StringBuilder text = new StringBuilder(String.valueOf(error.getMessage()));
    Throwable cause = error.getCause();
    int depth = 0;
    while (cause != null && cause != error && depth++ < 5 && text.length() < MAX_MESSAGE) {
      text.append("; caused by ").append(cause.getClass().getName()).append(": ")
          .append(cause.getMessage());
      cause = cause.getCause();
    }
    return text.length() > MAX_MESSAGE ? text.substring(0, MAX_MESSAGE) : text.toString();
  }

  private static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }
}
