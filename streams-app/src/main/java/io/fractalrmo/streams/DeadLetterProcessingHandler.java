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
  private String dlqTopic;
  private String agentId;

  @Override
  public void configure(Map<String, ?> configs) {
    dlqTopic = DeadLetters.topic(configs);
    Object id = configs.get(DeadLetters.AGENT_ID_CONFIG);
    agentId = id == null ? "streams" : id.toString();
  }

  @Override
  public Response handleError(ErrorHandlerContext ctx, Record<?, ?> record, Exception e) {
    LOG.error("processing {}-{}@{} failed in {}: sending it to the DLQ {}", ctx.topic(),
        ctx.partition(), ctx.offset(), ctx.processorNodeId(), dlqTopic, e);
    return Response.resume(DeadLetters.records(dlqTopic, agentId,
        "processing:" + ctx.processorNodeId(), ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), e));
  }
}
