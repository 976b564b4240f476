package io.fractalrmo.app.bench;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * One exactly-once hop of raw Kafka on the same broker, one record at a time on an idle broker:
 * the floor under each of the pipeline's hops in the latency workload. A consumer in a group of
 * its own (read_committed) takes a record from an input topic, and with no work at all a
 * transactional producer (no linger, as the workers') sends one output record of the given size,
 * the consumed offset with the group's metadata ({@code sendOffsetsToTransaction}) and commits;
 * a read_committed reader of the output topic notes when the record becomes visible. Measured per
 * record: from the start of the transaction to the output's visibility (what the latency
 * workload's "commit" part of a hop measures), and from the input's send to the output's
 * visibility (pickup and commit). Kafka's clients only, with the workers' client settings.
 */
final class RawHop {

  /** Per-record milliseconds of each part. */
  record Result(List<Double> commitToVisibleMs, List<Double> inputToOutputVisibleMs) {}

  private static final Duration DEADLINE = Duration.ofSeconds(30);

  private final String bootstrap;
  private final String prefix;

  RawHop(String bootstrap, String prefix) {
    this.bootstrap = bootstrap;
    this.prefix = prefix;
  }

  /**
   * {@code records} hops, one after the other with {@code gapMs} between (idle, as the latency
   * workload's tasks); a record not visible within 30 s fails the measurement.
   */
  Result measure(int records, int recordBytes, long gapMs) throws Exception {
    String id = UUID.randomUUID().toString().substring(0, 8);
    String in = prefix + "raw-hop-in-" + id;
    String out = prefix + "raw-hop-out-" + id;
    String name = "fractal-bench-raw-hop-" + id; // the transactional id and the group
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(in, 1, (short) -1), new NewTopic(out, 1, (short) -1)))
          .all().get(60, TimeUnit.SECONDS);
    }
    List<Double> commit = new ArrayList<>();
    List<Double> whole = new ArrayList<>();
    byte[] value = new byte[Math.max(1, recordBytes)];
    TopicPartition outTp = new TopicPartition(out, 0);
    // the workers' own client settings (KafkaClientConfigs), so the floor is theirs
    try (KafkaProducer<String, byte[]> upstream = new KafkaProducer<>(
            KafkaClientConfigs.plainProducer(bootstrap, name + "-upstream"));
        KafkaProducer<String, byte[]> hop = new KafkaProducer<>(
            KafkaClientConfigs.transactionalProducer(bootstrap, name, Map.of()));
        KafkaConsumer<String, byte[]> source = new KafkaConsumer<>(
            KafkaClientConfigs.workerConsumer(bootstrap, name, name, Map.of()));
        KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(
            KafkaClientConfigs.assignedReader(bootstrap, name + "-reader"))) {
      hop.initTransactions();
      source.subscribe(List.of(in));
      reader.assign(List.of(outTp));
      reader.seekToBeginning(List.of(outTp));
      // one warm-up hop: group join, coordinator lookups and metadata are not part of a hop
      for (int i = -1; i < records; i++) {
        String key = Integer.toString(i);
        long sent = System.nanoTime();
        upstream.send(new ProducerRecord<>(in, key, value));
        upstream.flush(); // sent now, whatever its linger
        ConsumerRecord<String, byte[]> taken = take(source, key);
        long begun = System.nanoTime();
        hop.beginTransaction();
        hop.send(new ProducerRecord<>(out, key, value));
        hop.sendOffsetsToTransaction(Map.of(new TopicPartition(in, taken.partition()),
            new OffsetAndMetadata(taken.offset() + 1)), source.groupMetadata());
        hop.commitTransaction();
        take(reader, key);
        long seen = System.nanoTime();
        if (i >= 0) {
          commit.add((seen - begun) / 1e6);
          whole.add((seen - sent) / 1e6);
        }
        Thread.sleep(gapMs);
      }
    } finally {
      forget(List.of(in, out), name);
    }
    return new Result(commit, whole);
  }

  /** Best effort: the hop's topics and group are of no use after it (also on a shared cluster). */
  private void forget(List<String> topics, String group) {
    try (Admin admin = admin()) {
      admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
      admin.deleteTopics(topics).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      // left behind under the run's prefix, as the phases' own topics are
    }
  }

  private static ConsumerRecord<String, byte[]> take(KafkaConsumer<String, byte[]> c, String key) {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(100))) {
        if (key.equals(r.key())) {
          return r;
        }
      }
    }
    throw new IllegalStateException("raw hop: record " + key + " not visible within " + DEADLINE);
  }

  private Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
  }
}
