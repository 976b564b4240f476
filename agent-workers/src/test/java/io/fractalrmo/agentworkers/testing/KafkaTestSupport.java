package io.fractalrmo.agentworkers.testing;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.platform.TopicProvisioner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Admin and reading helpers for the integration tests: real broker, read_committed readers.
 * Register it as a static {@code @RegisterExtension} field and it closes itself after the class.
 */
public final class KafkaTestSupport implements AutoCloseable, AfterAllCallback {

  private final String bootstrapServers;
  private final Admin admin;

  public KafkaTestSupport(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    this.admin = Admin.create(p);
  }

  public void createTopic(String name, int partitions) {
    try {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
      TopicProvisioner.awaitServed(admin, List.of(name), Duration.ofSeconds(60));
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("cannot create " + name, e);
    }
  }

  public Map<TopicPartition, Long> endOffsets(String topic, IsolationLevel isolation) {
    try {
      int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic)
          .partitions().size();
      Map<TopicPartition, OffsetSpec> request = new HashMap<>();
      for (int i = 0; i < partitions; i++) {
        request.put(new TopicPartition(topic, i), OffsetSpec.latest());
      }
      Map<TopicPartition, Long> result = new HashMap<>();
      admin.listOffsets(request, new ListOffsetsOptions(isolation)).all().get()
          .forEach((tp, info) -> result.put(tp, info.offset()));
      return result;
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("cannot list offsets of " + topic, e);
    }
  }

  /** True when no transaction on {@code topic} is still open (LSO = high watermark everywhere). */
  public boolean noOpenTransactions(String topic) {
    return endOffsets(topic, IsolationLevel.READ_COMMITTED)
        .equals(endOffsets(topic, IsolationLevel.READ_UNCOMMITTED));
  }

  /** True when {@code group} has committed offsets at the end of every partition of {@code topic}. */
  public boolean groupConsumedAll(String group, String topic) {
    try {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      for (Map.Entry<TopicPartition, Long> end
          : endOffsets(topic, IsolationLevel.READ_COMMITTED).entrySet()) {
        OffsetAndMetadata c = committed.get(end.getKey());
        long position = c == null ? 0 : c.offset();
        if (position < end.getValue()) {
          return false;
        }
      }
      return true;
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("cannot read offsets of " + group, e);
    }
  }

  /** Everything committed on {@code topic} now, read by an independent read_committed consumer. */
  public List<ConsumerRecord<String, byte[]>> readCommitted(String topic) {
    Map<TopicPartition, Long> ends = endOffsets(topic, IsolationLevel.READ_COMMITTED);
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
        KafkaClientConfigs.assignedReader(bootstrapServers, "reader-" + UUID.randomUUID()))) {
      consumer.assign(ends.keySet());
      consumer.seekToBeginning(ends.keySet());
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (ends.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("could not read " + topic + " to " + ends);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  public Admin admin() {
    return admin;
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(5));
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }
}
