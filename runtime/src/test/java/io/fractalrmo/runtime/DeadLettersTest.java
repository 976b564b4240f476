package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.DlqHeaders;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/** The one DLQ record builder: headers, bounded message, always within the size limit. */
class DeadLettersTest {

  private static String header(ProducerRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void shouldKeepKeyValueAndOriginalHeadersAndSayWhereItCameFrom() {
    ConsumerRecord<String, byte[]> failed = new ConsumerRecord<>("in", 2, 41, "k", new byte[] {1});
    failed.headers().add("trace", "t-1".getBytes(StandardCharsets.UTF_8));
    failed.headers().add(DlqHeaders.STAGE, "old".getBytes(StandardCharsets.UTF_8));

    ProducerRecord<String, byte[]> dlq = new DeadLetters("dlq", "agent-7")
        .of(failed, new IllegalArgumentException("bad", new IllegalStateException("why")),
            "handle");

    assertThat(dlq.topic()).isEqualTo("dlq");
    assertThat(dlq.key()).isEqualTo("k");
    assertThat(dlq.value()).containsExactly(1);
    assertThat(header(dlq, "trace")).isEqualTo("t-1");
    assertThat(header(dlq, DlqHeaders.TOPIC)).isEqualTo("in");
    assertThat(header(dlq, DlqHeaders.PARTITION)).isEqualTo("2");
    assertThat(header(dlq, DlqHeaders.OFFSET)).isEqualTo("41");
    assertThat(header(dlq, DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo(IllegalArgumentException.class.getName());
    assertThat(header(dlq, DlqHeaders.EXCEPTION_MESSAGE))
        .isEqualTo("bad; caused by java.lang.IllegalStateException: why");
    assertThat(header(dlq, DlqHeaders.STAGE)).isEqualTo("handle");
    assertThat(dlq.headers().headers(DlqHeaders.STAGE)).hasSize(1);
    assertThat(header(dlq, DlqHeaders.AGENT_ID)).isEqualTo("agent-7");
    assertThat(header(dlq, DlqHeaders.VALUE_DROPPED)).isNull();
  }

  @Test
  void shouldBoundTheMessageAndDropTheValueWhenTheRecordWouldNotFit() {
    byte[] big = new byte[200_000];
    ConsumerRecord<String, byte[]> failed = new ConsumerRecord<>("in", 0, 0, "k", big);
    ProducerRecord<String, byte[]> dlq = new DeadLetters("dlq", "a", 64 * 1024)
        .of(failed, new RuntimeException("m".repeat(50_000)), "handle");

    assertThat(header(dlq, DlqHeaders.EXCEPTION_MESSAGE)).hasSize(DeadLetters.MAX_MESSAGE);
    assertThat(dlq.value()).isNull();
    assertThat(header(dlq, DlqHeaders.VALUE_DROPPED)).isEqualTo("200000");
    assertThat(RecordSizes.upperBound(dlq.key().getBytes(StandardCharsets.UTF_8), dlq.value(),
        dlq.headers())).isLessThanOrEqualTo(64 * 1024);
  }
}
