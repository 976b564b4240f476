package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.DlqHeaders;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class ErrorHandlingTest {

  private static final byte[] KEY = "task-9".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = {0, 0, 0, 0, 42, 1, 2};

  private static ErrorHandlerContext context() {
    return new ErrorHandlerContext() {
      public String topic() { return "fractal.errors"; }
      public int partition() { return 2; }
      public long offset() { return 17; }
      public Headers headers() { return new RecordHeaders(); }
      public String processorNodeId() { return "pattern-emit"; }
      public TaskId taskId() { return new TaskId(1, 2); }
      public long timestamp() { return 0; }
      public byte[] sourceRawKey() { return KEY; }
      public byte[] sourceRawValue() { return VALUE; }
    };
  }

  private static String header(ProducerRecord<byte[], byte[]> r, String name) {
    return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
  }

  @Test
  void shouldSendARecordWhoseProcessingFailedToTheDlqAndResume() {
    DeadLetterProcessingHandler handler = new DeadLetterProcessingHandler();
    handler.configure(Map.of(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, "t.fractal.dlq",
        DeadLetters.AGENT_ID_CONFIG, "streams-1"));
    ProcessingExceptionHandler.Response response = handler.handleError(context(),
        new Record<>("task-9", "v", 0L), new IllegalStateException("boom"));

    assertThat(response.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
    List<ProducerRecord<byte[], byte[]>> dead = response.deadLetterQueueRecords();
    assertThat(dead).singleElement().satisfies(r -> {
      assertThat(r.topic()).isEqualTo("t.fractal.dlq");
      assertThat(r.key()).isEqualTo(KEY);
      assertThat(r.value()).isEqualTo(VALUE);
      assertThat(header(r, DlqHeaders.TOPIC)).isEqualTo("fractal.errors");
      assertThat(header(r, DlqHeaders.PARTITION)).isEqualTo("2");
      assertThat(header(r, DlqHeaders.OFFSET)).isEqualTo("17");
      assertThat(header(r, DlqHeaders.EXCEPTION_CLASS)).isEqualTo("java.lang.IllegalStateException");
      assertThat(header(r, DlqHeaders.EXCEPTION_MESSAGE)).isEqualTo("boom");
      assertThat(header(r, DlqHeaders.STAGE)).isEqualTo("processing:pattern-emit");
      assertThat(header(r, DlqHeaders.AGENT_ID)).isEqualTo("streams-1");
      assertThat(header(r, "__streams.errors.exception")).isEqualTo("java.lang.IllegalStateException");
    });
  }

  @Test
  void shouldSendUndeserializableBytesToTheDlqAndResume() {
    DeadLetterDeserializationHandler handler = new DeadLetterDeserializationHandler();
    handler.configure(Map.of(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, "t.fractal.dlq"));
    DeserializationExceptionHandler.Response response = handler.handleError(context(),
        new ConsumerRecord<>("fractal.errors", 2, 17, KEY, VALUE),
        new org.apache.kafka.common.errors.SerializationException("unknown magic byte"));
    assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertThat(response.deadLetterQueueRecords()).singleElement().satisfies(r -> {
      assertThat(r.value()).isEqualTo(VALUE);
      assertThat(header(r, DlqHeaders.STAGE)).isEqualTo("deserialization");
      assertThat(header(r, DlqHeaders.AGENT_ID)).isEqualTo("streams");
    });
  }

  @Test
  void shouldResumeWithoutADlqRecordWhenNoDlqTopicIsConfigured() {
    DeadLetterProcessingHandler handler = new DeadLetterProcessingHandler();
    handler.configure(Map.of());
    ProcessingExceptionHandler.Response response = handler.handleError(context(),
        new Record<>("k", "v", 0L), new RuntimeException("x"));
    assertThat(response.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
    assertThat(response.deadLetterQueueRecords()).isEmpty();
  }

  @Test
  void shouldReplaceAFailedThreadABoundedNumberOfTimesThenShutTheApplicationDown() {
    ThreadFailurePolicy policy = new ThreadFailurePolicy(3);
    RuntimeException e = new RuntimeException("fault");
    assertThat(List.of(policy.handle(e), policy.handle(e), policy.handle(e)))
        .containsOnly(StreamThreadExceptionResponse.REPLACE_THREAD);
    assertThat(policy.handle(e)).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_APPLICATION);
    assertThat(policy.handle(e)).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_APPLICATION);
  }
}
