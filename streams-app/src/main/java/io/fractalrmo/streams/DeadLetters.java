package io.fractalrmo.streams;

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
 * the original key and bytes, with the project's {@link io.fractalrmo.contracts.DlqHeaders} and Kafka's own
 * {@code __streams.errors.*} headers — built by the runtime's one DLQ record builder
 * ({@link io.fractalrmo.runtime.DeadLetters}: bounded message, always within the size limit).
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
    Headers streams = new RecordHeaders();
    put(streams, "__streams.errors.exception", e.getClass().getName());
    put(streams, "__streams.errors.message", io.fractalrmo.runtime.DeadLetters.message(e));
    put(streams, "__streams.errors.topic", ctx.topic());
    put(streams, "__streams.errors.partition", String.valueOf(ctx.partition()));
    put(streams, "__streams.errors.offset", String.valueOf(ctx.offset()));
    return List.of(new io.fractalrmo.runtime.DeadLetters(topic, agentId).of(ctx.topic(),
        ctx.partition(), ctx.offset(), key, key, value, null, e, stage, streams));
  }

  private static void put(Headers h, String name, String value) {
    if (value != null) {
      h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
  }
}
