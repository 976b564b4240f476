package io.fractalrmo.registry.serde;

import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** A Kafka Streams {@link Serde} pairing {@link AvroSerializer} and {@link AvroDeserializer}. */
public class AvroSerde<T> implements Serde<T> {

  private final AvroSerializer<T> serializer;
  private final AvroDeserializer<T> deserializer;

  /** Reads generic records, or generated classes when {@code specific.avro.reader=true}. */
  public AvroSerde() {
    this(null);
  }

  /** Reads into {@code readerType} (a generated SpecificRecord class), whatever the writer's schema. */
  public AvroSerde(Class<T> readerType) {
    this.serializer = new AvroSerializer<>();
    this.deserializer = new AvroDeserializer<>(readerType);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    serializer.configure(configs, isKey);
    deserializer.configure(configs, isKey);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }

  @Override
  public void close() {
    serializer.close();
    deserializer.close();
  }
}
