package io.fractalrmo.registry.serde;

import com.google.protobuf.Message;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** A Kafka Streams {@link Serde} pairing {@link ProtobufSerializer} and {@link ProtobufDeserializer}. */
public class ProtobufSerde<T extends Message> implements Serde<T> {

  private final ProtobufSerializer<T> serializer = new ProtobufSerializer<>();
  private final ProtobufDeserializer<T> deserializer;

  /** Reads DynamicMessage unless {@code specific.protobuf.value.type} names a generated class. */
  public ProtobufSerde() {
    this(null);
  }

  public ProtobufSerde(Class<T> type) {
    this.deserializer = new ProtobufDeserializer<>(type);
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
}
