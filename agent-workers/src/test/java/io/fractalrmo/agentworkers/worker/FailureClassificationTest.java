package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import org.apache.avro.AvroRuntimeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

/** Which record failures are retried (the infrastructure) and which are DLQ'd (the record). */
class FailureClassificationTest {

  @Test
  void shouldRetryWhenTheRegistryCannotBeReached() {
    assertThat(TransactionalWorker.isTransient(new SerializationException("cannot fetch schema",
        new IOException("schema registry unreachable", new ConnectException("refused")))))
        .isTrue();
    assertThat(TransactionalWorker.isTransient(new SerializationException("cannot fetch schema",
        new IOException("schema registry answered 503")))).isTrue();
    assertThat(TransactionalWorker.isTransient(new TimeoutException("metadata"))).isTrue();
  }

  @Test
  void shouldDeadLetterWhatIsWrongWithTheRecordItself() {
    assertThat(TransactionalWorker.isTransient(new SerializationException("truncated",
        new EOFException()))).isFalse();
    assertThat(TransactionalWorker.isTransient(new SerializationException("corrupt",
        new AvroRuntimeException("Malformed data. Length is negative: -40")))).isFalse();
    assertThat(TransactionalWorker.isTransient(new SerializationException("unknown schema id 99999",
        new Exception("Schema not found (HTTP 404, error_code 40403)")))).isFalse();
    assertThat(TransactionalWorker.isTransient(new IllegalArgumentException("contract"))).isFalse();
  }
}
