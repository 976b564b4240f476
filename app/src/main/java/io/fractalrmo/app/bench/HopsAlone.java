package io.fractalrmo.app.bench;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.platform.TopicProvisioner;
import io.fractalrmo.platform.kafka.TopicScan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One hop's own capacity, as raw Kafka's is measured: its role alone on a prefix of its own,
 * its input topics loaded beforehand with exactly the records the zero-cost pipeline run carried
 * (bytes, keys, partitions, timestamps and headers as they were), and a read_committed reader
 * counting what the role writes. In the whole pipeline every hop moves at the pace of its slowest
 * stage; alone, a hop shows what its worker loop (or topology) can move on this broker.
 *
 * <p>The role starts only after its backlog is on the broker, and the rate is taken over the
 * first-to-last output seen, so start-up and group joins are not in it. A hop that does not
 * write what it wrote in the pipeline (the same count per output topic) is reported as such.
 */
final class HopsAlone {

  /** A role, the topics it reads (copied from the pipeline run) and those it writes (counted). */
  record Hop(String role, List<TopicSpec> inputs, List<TopicSpec> outputs) {
  }

  /** What one output topic of a hop carried when its role ran alone. */
  record Output(String role, String topic, long expected, long seen, double perSecond,
      double meanBytes) {
    boolean complete() {
      return seen >= expected;
    }
  }

  static List<Hop> hops(TopicCatalog t) {
    return List.of(
        new Hop("analyzer", List.of(t.tasks()), List.of(t.analyses())),
        // the streams app merges the plan and keeps the status: it gets every input it reads
        // but the action items, which it writes itself
        new Hop("streams", List.of(t.tasks(), t.analyses(), t.executionResults(),
            t.validationOutcomes()), List.of(t.actionItems(), t.taskStatus())),
        new Hop("executor", List.of(t.actionItems()), List.of(t.executionResults())),
        new Hop("validator", List.of(t.executionResults()), List.of(t.validationOutcomes())));
  }

  private final String bootstrap;

  HopsAlone(String bootstrap) {
    this.bootstrap = bootstrap;
  }

  /** Copies every committed record of {@code from}'s topics into {@code to}'s; returns counts. */
  Map<String, Long> copy(TopicCatalog from, TopicCatalog to, List<TopicSpec> topics) {
    TopicProvisioner.provision(bootstrap, to, (short) -1);
    Map<String, Long> copied = new LinkedHashMap<>();
    Map<String, Object> p = KafkaClientConfigs.plainProducer(bootstrap, "fractal-bench-hop-copy");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
        new ByteArraySerializer())) {
      for (TopicSpec spec : topics) {
        String target = to.byBaseName(spec.baseName()).name();
        long n = readAll(from.byBaseName(spec.baseName()).name(), r -> producer.send(
            new ProducerRecord<>(target, r.partition(), r.timestamp(), r.key(), r.value(), r.headers())));
        copied.put(spec.baseName(), n);
      }
      producer.flush();
    }
    return copied;
  }

  /** Committed records on {@code topic} now. */
  long count(String topic) {
    return readAll(topic, r -> { });
  }

  /**
   * Counts what {@code hop}'s role writes on {@code to}'s topics. Start it before the role: the
   * reader is at the start of the empty topics.
   */
  Counter counter(Hop hop, TopicCatalog to) {
    return new Counter(hop, to);
  }

  final class Counter implements AutoCloseable {
    private final String role;
    private final KafkaConsumer<byte[], byte[]> consumer;
    /** Per output topic (base name): records, bytes, first and last seen (wall ms). */
    private final Map<String, long[]> seen = new LinkedHashMap<>();
    private final Map<String, String> baseNames = new HashMap<>();

    private Counter(Hop hop, TopicCatalog to) {
      role = hop.role();
      consumer = consumer();
      List<TopicPartition> parts = new ArrayList<>();
      for (TopicSpec out : hop.outputs()) {
        String topic = to.byBaseName(out.baseName()).name();
        seen.put(out.baseName(), new long[] {0, 0, -1, -1});
        baseNames.put(topic, out.baseName());
        for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
          parts.add(new TopicPartition(topic, info.partition()));
        }
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      parts.forEach(consumer::position); // at the start now, before the role writes anything
    }

    /**
     * Polls until each output (by base name) has its {@code expected} count or {@code timeout}
     * passes.
     */
    List<Output> await(Map<String, Long> expected, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline && !expected.entrySet().stream()
          .allMatch(e -> seen.get(e.getKey())[0] >= e.getValue())) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
          long now = System.currentTimeMillis();
          long[] s = seen.get(baseNames.get(r.topic()));
          s[0]++;
          s[1] += r.serializedValueSize() + Math.max(0, r.serializedKeySize());
          s[2] = s[2] < 0 ? now : s[2];
          s[3] = now;
        }
      }
      List<Output> out = new ArrayList<>();
      for (Map.Entry<String, Long> e : expected.entrySet()) {
        long[] s = seen.get(e.getKey());
        double rate = s[0] < 2 || s[3] <= s[2] ? 0 : (s[0] - 1) * 1000.0 / (s[3] - s[2]);
        out.add(new Output(role, e.getKey(), e.getValue(), s[0], rate,
            s[0] == 0 ? 0 : (double) s[1] / s[0]));
      }
      return out;
    }

    @Override
    public void close() {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private long readAll(String topic, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> c = consumer()) {
      return TopicScan.toEnd(c, topic, Duration.ofSeconds(60), each);
    }
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    Map<String, Object> c = KafkaClientConfigs.assignedReader(bootstrap, "fractal-bench-hop-reader");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
    return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }
}
