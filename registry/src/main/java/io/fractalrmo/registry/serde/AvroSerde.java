package io.fractalrmo.registry.serde;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** A Kafka Streams {@link Serde} pairing {@link AvroSerializer} and {@link AvroDeserializer}. */
public class AvroSerde<T> extends Serdes.WrapperSerde<T> {

  /** Reads generic records, or generated classes when {@code specific.avro.reader=true}. */
  public AvroSerde() {
    this(null);
  }

  /** Reads into {@code readerType} (a generated SpecificRecord class), whatever the writer's schema. */
  public AvroSerde(Class<T> readerType) {
    super(new AvroSerializer<>(), new AvroDeserializer<>(readerType));
  }
}
