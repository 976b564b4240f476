package io.fractalrmo.connectors.support;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Test helpers around Kafka: produce a record and learn where it went, read a topic, alter it. */
public final class Records {

  private Records() {
  }

  /** Produces one Avro value (null: a tombstone) and returns where the broker put it. */
  public static <T extends SpecificRecord> RecordMetadata produce(Endpoints e,
      Map<String, Object> serdeConfig, String topic, String key, T value) throws Exception {
    byte[] bytes = null;
    if (value != null) {
      @SuppressWarnings("unchecked")
      Class<T> type = (Class<T>) value.getClass();
      try (var serializer = FractalSerdes.value(type, serdeConfig).serializer()) {
        bytes = serializer.serialize(topic, value);
      }
    }
    return produceRaw(e, topic, key, bytes);
  }

  public static RecordMetadata produceRaw(Endpoints e, String topic, String key, byte[] value)
      throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig(e),
        new ByteArraySerializer(), new ByteArraySerializer())) {
      return producer.send(new ProducerRecord<>(topic,
          key == null ? null : key.getBytes(StandardCharsets.UTF_8), value))
          .get(60, TimeUnit.SECONDS);
    }
  }

  private static Properties producerConfig(Endpoints e) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return p;
  }

  /** Every record now on the topic (read_committed, from the beginning). */
  public static List<ConsumerRecord<byte[], byte[]>> readAll(Endpoints e, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    try (KafkaConsumer<byte[], byte[]> consumer =
             new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      Databases.await(Duration.ofSeconds(60), "the end of " + topic, () -> {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        return partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
      });
      return out;
    }
  }

  /** The end offset of each partition of the topics. */
  public static Map<TopicPartition, Long> endOffsets(Endpoints e, Collection<String> topics)
      throws Exception {
    try (Admin admin = admin(e)) {
      Map<TopicPartition, OffsetSpec> specs = new java.util.HashMap<>();
      for (var d : admin.describeTopics(topics).allTopicNames().get(60, TimeUnit.SECONDS)
          .values()) {
        d.partitions().forEach(p -> specs.put(new TopicPartition(d.name(), p.partition()),
            OffsetSpec.latest()));
      }
      Map<TopicPartition, Long> out = new java.util.HashMap<>();
      admin.listOffsets(specs).all().get(60, TimeUnit.SECONDS)
          .forEach((tp, info) -> out.put(tp, info.offset()));
      return out;
    }
  }

  /**
   * Makes the broker refuse every record on the topic (RECORD_TOO_LARGE: its
   * {@code max.message.bytes} is set below any record's size), or accept them again. A refusal
   * by the real broker, not a mock. (Raising {@code min.insync.replicas} above the replication
   * factor does not work for this: with eligible leader replicas, Kafka 4 caps it at the
   * replication factor.)
   */
  public static void refuseWrites(Endpoints e, String topic, boolean refuse) throws Exception {
    try (Admin admin = admin(e)) {
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      AlterConfigOp op = refuse
          ? new AlterConfigOp(new ConfigEntry("max.message.bytes", "16"), AlterConfigOp.OpType.SET)
          : new AlterConfigOp(new ConfigEntry("max.message.bytes", ""),
              AlterConfigOp.OpType.DELETE);
      admin.incrementalAlterConfigs(Map.of(resource, List.of(op))).all()
          .get(60, TimeUnit.SECONDS);
    }
  }

  private static Admin admin(Endpoints e) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, e.bootstrapServers()));
  }

  public static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  public static String key(ConsumerRecord<byte[], byte[]> r) {
    return r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
  }
}
