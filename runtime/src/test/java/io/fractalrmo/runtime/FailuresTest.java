package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.sql.SQLException;
import org.apache.avro.AvroRuntimeException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

/** The one classification: which failures are retried, which stop, which set a record aside. */
class FailuresTest {

  @Test
  void shouldRetryWhenTheRegistryBrokerOrDatabaseCannotBeReached() {
    assertThat(Failures.classify(new SerializationException("cannot fetch schema",
        new IOException("schema registry unreachable", new ConnectException("refused")))))
        .isEqualTo(FailureKind.TRANSIENT);
    assertThat(Failures.classify(new SerializationException("cannot fetch schema",
        new IOException("schema registry answered 503")))).isEqualTo(FailureKind.TRANSIENT);
    assertThat(Failures.classify(new TimeoutException("metadata")))
        .isEqualTo(FailureKind.TRANSIENT);
    assertThat(Failures.classify(new SQLException("connection refused", "08001")))
        .isEqualTo(FailureKind.TRANSIENT);
    assertThat(Failures.classify(new SQLException("deadlock", "40P01")))
        .isEqualTo(FailureKind.TRANSIENT);
    assertThat(Failures.classify(new TransientException("topic not there yet")))
        .isEqualTo(FailureKind.TRANSIENT);
  }

  @Test
  void shouldSetAsideWhatIsWrongWithTheRecordItself() {
    assertThat(Failures.classify(new SerializationException("truncated", new EOFException())))
        .isEqualTo(FailureKind.POISON);
    assertThat(Failures.classify(new SerializationException("corrupt",
        new AvroRuntimeException("Malformed data. Length is negative: -40"))))
        .isEqualTo(FailureKind.POISON);
    assertThat(Failures.classify(new SerializationException("unknown schema id 99999",
        new Exception("Schema not found (HTTP 404, error_code 40403)"))))
        .isEqualTo(FailureKind.POISON);
    assertThat(Failures.classify(new IllegalArgumentException("contract")))
        .isEqualTo(FailureKind.POISON);
    assertThat(Failures.classify(new SQLException("value too long", "22001")))
        .isEqualTo(FailureKind.POISON);
  }

  @Test
  void shouldStopOnWhatTheInstanceCannotGetPast() {
    assertThat(Failures.classify(new AuthorizationException("no"))).isEqualTo(FailureKind.FATAL);
    assertThat(Failures.classify(new KafkaException("commit failed",
        new ProducerFencedException("newer epoch")))).isEqualTo(FailureKind.FATAL);
    assertThat(Failures.classify(new UnsupportedVersionException("old broker")))
        .isEqualTo(FailureKind.FATAL);
    assertThat(Failures.classify(new OutOfMemoryError())).isEqualTo(FailureKind.FATAL);
    assertThat(Failures.classify(new FatalException("stop", new TimeoutException("x"))))
        .as("an explicit fatal wins over a transient cause").isEqualTo(FailureKind.FATAL);
  }

  @Test
  void shouldBoundTheDescription() {
    String long1 = "x".repeat(5_000);
    assertThat(Failures.describe(new IllegalStateException(long1, new IOException("io")), 300))
        .hasSize(300).startsWith("java.lang.IllegalStateException: xxx");
    assertThat(Failures.describe(new IllegalStateException("a", new IOException("b")), 300))
        .isEqualTo("java.lang.IllegalStateException: a; caused by java.io.IOException: b");
  }
}
