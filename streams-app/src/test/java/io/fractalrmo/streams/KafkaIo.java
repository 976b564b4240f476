package io.fractalrmo.streams;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Producing and reading (read_committed) records of the catalogue on a real broker, for tests. */
public final class KafkaIo implements AutoCloseable {

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final KafkaProducer<String, byte[]> producer;

  public KafkaIo(Endpoints endpoints) {
    this.endpoints = endpoints;
    this.serdeConfig = FractalSerdes.config(endpoints.schemaRegistryUrl());
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  @SuppressWarnings("unchecked")
  public <T extends SpecificRecord> void send(TopicSpec topic, String key, T value) {
    byte[] bytes = FractalSerdes.value((Class<T>) value.getClass(), serdeConfig).serializer()
        .serialize(topic.name(), value);
    sendRaw(topic, key, bytes);
  }

  public void sendRaw(TopicSpec topic, String key, byte[] bytes) {
    try {
      producer.send(new ProducerRecord<>(topic.name(), key, bytes)).get();
    } catch (Exception e) {
      throw new IllegalStateException("cannot produce to " + topic.name(), e);
    }
  }

  /** A read_committed reader of one topic from its beginning. */
  public <T extends SpecificRecord> Reader<T> reader(TopicSpec topic, Class<T> type) {
    return new Reader<>(topic, type);
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }

  /** Reads a topic from the beginning; values deserialized (null for tombstones and DLQ bytes). */
  public final class Reader<T extends SpecificRecord> implements AutoCloseable {

    private final KafkaConsumer<String, byte[]> consumer;
    private final TopicSpec topic;
    private final Class<T> type;
    private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();
    private final List<T> values = new ArrayList<>();
    private final org.apache.kafka.common.serialization.Deserializer<T> deserializer;

    private Reader(TopicSpec topic, Class<T> type) {
      this.topic = topic;
      this.type = type;
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
      p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
      consumer.subscribe(List.of(topic.name()));
      deserializer = type == null ? null : FractalSerdes.value(type, serdeConfig).deserializer();
    }

    /** The value of a record read by this reader (deserialized once). */
    public T value(ConsumerRecord<String, byte[]> r) {
      int i = seen.indexOf(r);
      return i >= 0 ? values.get(i) : decode(r);
    }

    private T decode(ConsumerRecord<String, byte[]> r) {
      return r.value() == null || deserializer == null ? null
          : deserializer.deserialize(topic.name(), r.value());
    }

    private void add(ConsumerRecord<String, byte[]> r) {
      seen.add(r);
      values.add(decode(r));
    }

    /** Polls until {@code done} holds for everything read so far, or fails at the deadline. */
    public List<ConsumerRecord<String, byte[]>> until(Predicate<List<ConsumerRecord<String, byte[]>>> done,
        Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.test(seen)) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("condition not met on " + topic.name() + " within " + timeout
              + "; read " + seen.size() + " record(s)");
        }
        consumer.poll(Duration.ofMillis(20)).forEach(this::add);
      }
      return List.copyOf(seen);
    }

    public List<T> values() {
      return new ArrayList<>(values);
    }

    /** Everything that arrives within {@code quiet}. */
    public List<ConsumerRecord<String, byte[]>> drain(Duration quiet) {
      long end = System.nanoTime() + quiet.toNanos();
      while (System.nanoTime() < end) {
        consumer.poll(Duration.ofMillis(50)).forEach(this::add);
      }
      return List.copyOf(seen);
    }

    @Override
    public void close() {
      consumer.close(Duration.ofSeconds(2));
    }
  }
}
