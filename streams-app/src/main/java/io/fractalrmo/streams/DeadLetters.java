package io.fractalrmo.streams;

import io.fractalrmo.contracts.DlqHeaders;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.ErrorHandlerContext;

/**
 * Dead-letter records for Kafka Streams' built-in DLQ ({@code errors.dead.letter.queue.topic.name}):
 * the original key and bytes, with the project's {@link DlqHeaders} and Kafka's own
 * {@code __streams.errors.*} headers.
 */
final class DeadLetters {

  static final String AGENT_ID_CONFIG = "fractal.agent.id";

  private final String topic;
  private final String agentId;

  private DeadLetters(String topic, String agentId) {
    this.topic = topic;
    this.agentId = agentId;
  }

  /** The DLQ topic and agent id of a handler's {@code configure} map. */
  static DeadLetters configured(Map<String, ?> configs) {
    Object t = configs.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
    Object id = configs.get(AGENT_ID_CONFIG);
    return new DeadLetters(t == null ? null : t.toString(), id == null ? "streams" : id.toString());
  }

  String topic() {
    return topic;
  }

  /** The one DLQ record of a failed record, or none when no DLQ topic is configured. */
  List<ProducerRecord<byte[], byte[]>> records(String stage, ErrorHandlerContext ctx, byte[] key,
      byte[] value, Exception e) {
    if (topic == null || topic.isBlank()) {
      return List.of();
    }
    Headers h = new RecordHeaders();
    put(h, DlqHeaders.TOPIC, ctx.topic());
    put(h, DlqHeaders.PARTITION, String.valueOf(ctx.partition()));
    put(h, DlqHeaders.OFFSET, String.valueOf(ctx.offset()));
    put(h, DlqHeaders.EXCEPTION_CLASS, e.getClass().getName());
    put(h, DlqHeaders.EXCEPTION_MESSAGE, String.valueOf(e.getMessage()));
    put(h, DlqHeaders.STAGE, stage);
    put(h, DlqHeaders.AGENT_ID, agentId);
    put(h, "__streams.errors.exception", e.getClass().getName());
    put(h, "__streams.errors.message", String.valueOf(e.getMessage()));
    put(h, "__streams.errors.topic", ctx.topic());
    put(h, "__streams.errors.partition", String.valueOf(ctx.partition()));
    put(h, "__streams.errors.offset", String.valueOf(ctx.offset()));
    return List.of(new ProducerRecord<>(topic, null, key, value, h));
  }

  private static void put(Headers h, String name, String value) {
    if (value != null) {
      h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
  }
}
