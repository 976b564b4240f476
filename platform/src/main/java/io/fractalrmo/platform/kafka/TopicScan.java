package io.fractalrmo.platform.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a whole topic once, as it stands: every partition by assignment (no group, nothing
 * committed), from the beginning to the end offsets taken at the start — with a read_committed
 * consumer, the last stable offsets, so aborted records and those of open transactions are not in
 * it. For verifiers and benchmarks that need exactly what a topic holds now.
 */
public final class TopicScan {

  private TopicScan() {
  }

  /**
   * Hands each record of {@code topic} to {@code each}, in order within a partition; returns how
   * many there were. The consumer's assignment is replaced.
   *
   * @throws IllegalStateException when the end is not reached within {@code timeout}
   */
  public static <K, V> long toEnd(org.apache.kafka.clients.consumer.Consumer<K, V> consumer,
      String topic, Duration timeout, Consumer<ConsumerRecord<K, V>> each) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
        .map(p -> new TopicPartition(topic, p.partition())).toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
    long n = 0;
    while (partitions.stream().anyMatch(tp -> consumer.position(tp, timeout) < end.get(tp))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("could not read " + topic + " to its end within "
            + timeout);
      }
      for (ConsumerRecord<K, V> r : consumer.poll(Duration.ofMillis(100))) {
        each.accept(r);
        n++;
      }
    }
    return n;
  }
}
