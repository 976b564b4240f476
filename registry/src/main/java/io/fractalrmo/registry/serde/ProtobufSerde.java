package io.fractalrmo.registry.serde;

import com.google.protobuf.Message;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** A Kafka Streams {@link Serde} pairing {@link ProtobufSerializer} and {@link ProtobufDeserializer}. */
public class ProtobufSerde<T extends Message> extends Serdes.WrapperSerde<T> {

  /** Reads DynamicMessage unless {@code specific.protobuf.value.type} names a generated class. */
  public ProtobufSerde() {
    this(null);
  }

  /** Reads into {@code type} (a generated message class; null: DynamicMessage). */
  public ProtobufSerde(Class<T> type) {
    super(new ProtobufSerializer<>(), new ProtobufDeserializer<>(type));
  }
}
