package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.AgentHealth;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A reader never skips a record because of an outage, and reports the ones it cannot read. */
class TopicReaderTest {

  private static final TopicPartition T0 = new TopicPartition("rules", 0);
  private final MockConsumer<String, String> consumer = new MockConsumer<>("earliest") {
    // like a log: a seek delivers the records from there again
    private final List<ConsumerRecord<String, String>> log = new CopyOnWriteArrayList<>();

    @Override
    public synchronized void addRecord(ConsumerRecord<String, String> r) {
      log.add(r);
      super.addRecord(r);
    }

    @Override
    public synchronized void seek(TopicPartition tp, long offset) {
      super.seek(tp, offset);
      log.stream().filter(r -> r.offset() >= offset).forEach(super::addRecord);
    }
  };
  private ConsumeLoop<String, String> loop;
  private Thread thread;

  @AfterEach
  void stop() throws InterruptedException {
    loop.stop();
    thread.join(10_000);
  }

  private TopicReader<String, String> start(TopicReader.Applier<String, String> applier,
      TopicReader.PoisonListener<String, String> poison) {
    consumer.updatePartitions("rules", List.of(new PartitionInfo("rules", 0, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(T0, 0L));
    consumer.updateEndOffsets(Map.of(T0, 3L));
    TopicReader<String, String> reader = new TopicReader<>(applier, poison, null);
    loop = TopicReader.loop("reader", consumer, List.of("rules"), reader)
        .retry(new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofSeconds(10)))
        .pollTimeout(Duration.ofMillis(5)).build();
    thread = loop.start();
    consumer.schedulePollTask(() -> { });
    consumer.schedulePollTask(() -> {
      consumer.addRecord(new ConsumerRecord<>("rules", 0, 0, "a", "1"));
      consumer.addRecord(new ConsumerRecord<>("rules", 0, 1, "b", "2"));
      consumer.addRecord(new ConsumerRecord<>("rules", 0, 2, "c", "3"));
    });
    return reader;
  }

  @Test
  void shouldReadARecordAgainAfterATransientFailureInsteadOfSkippingIt() throws Exception {
    List<String> applied = new CopyOnWriteArrayList<>();
    AtomicInteger registryDown = new AtomicInteger(3);
    TopicReader<String, String> reader = start(r -> {
      if (r.key().equals("b") && registryDown.getAndDecrement() > 0) {
        throw new SerializationException("cannot fetch the schema",
            new IOException("registry unreachable", new ConnectException("refused")));
      }
      applied.add(r.value());
    }, null);

    assertThat(reader.awaitCaughtUp(Duration.ofSeconds(20))).isTrue();

    assertThat(applied).containsExactly("1", "2", "3");
    assertThat(reader.skipped()).isZero();
    assertThat(reader.lag()).isZero();
  }

  @Test
  void shouldSkipAndReportARecordThatCanNeverBeRead() throws Exception {
    List<String> applied = new CopyOnWriteArrayList<>();
    List<String> reported = new CopyOnWriteArrayList<>();
    TopicReader<String, String> reader = start(r -> {
      if (r.key().equals("b")) {
        throw new SerializationException("corrupt", new java.io.EOFException());
      }
      applied.add(r.value());
    }, (r, e, ctx) -> {
      reported.add(r.key());
      ctx.condition("unreadable", "unreadable: " + r.key());
    });

    assertThat(reader.awaitCaughtUp(Duration.ofSeconds(20))).isTrue();

    assertThat(applied).containsExactly("1", "3");
    assertThat(reported).containsExactly("b");
    assertThat(reader.skipped()).isEqualTo(1);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (loop.health().health() != AgentHealth.DEGRADED && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(loop.health().reason()).isEqualTo("unreadable: b");
  }
}
