package io.fractalrmo.streams;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Bytes that do not deserialize go to the DLQ with their headers; processing continues. */
public final class DeadLetterDeserializationHandler implements DeserializationExceptionHandler {

  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterDeserializationHandler.class);
  private DeadLetters dlq = DeadLetters.configured(Map.of());

  @Override
  public void configure(Map<String, ?> configs) {
    dlq = DeadLetters.configured(configs);
  }

  @Override
  public Response handleError(ErrorHandlerContext ctx, ConsumerRecord<byte[], byte[]> record,
      Exception e) {
    LOG.warn("cannot deserialize {}-{}@{}: {} (to the DLQ {})", ctx.topic(), ctx.partition(),
        ctx.offset(), e.toString(), dlq.topic());
    return Response.resume(dlq.records("deserialization", ctx, record.key(), record.value(), e));
  }
}
