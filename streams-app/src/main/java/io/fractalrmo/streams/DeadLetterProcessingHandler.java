package io.fractalrmo.streams;

import java.util.Map;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A record whose processing throws goes to the DLQ (its source key and bytes) and processing
 * continues: one poison record must not stop the learning loop.
 */
public final class DeadLetterProcessingHandler implements ProcessingExceptionHandler {

  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterProcessingHandler.class);
  private DeadLetters dlq = DeadLetters.configured(Map.of());

  @Override
  public void configure(Map<String, ?> configs) {
    dlq = DeadLetters.configured(configs);
  }

  @Override
  public Response handleError(ErrorHandlerContext ctx, Record<?, ?> record, Exception e) {
    LOG.error("processing {}-{}@{} failed in {}: sending it to the DLQ {}", ctx.topic(),
        ctx.partition(), ctx.offset(), ctx.processorNodeId(), dlq.topic(), e);
    return Response.resume(dlq.records("processing:" + ctx.processorNodeId(), ctx,
        ctx.sourceRawKey(), ctx.sourceRawValue(), e));
  }
}
