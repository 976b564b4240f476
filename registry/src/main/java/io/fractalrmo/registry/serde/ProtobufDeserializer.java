package io.fractalrmo.registry.serde;

import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ProtobufDescriptors;
import io.fractalrmo.registry.schema.ProtobufParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for Protobuf in Confluent's wire format: checks the header, reads the message
 * indexes, fetches the writer's .proto by id (references resolved, cached) and reads the message
 * it names — into the configured generated class ({@code specific.protobuf.value.type} / the
 * constructor's), else as a {@link DynamicMessage} of the writer's type. Bad bytes throw
 * {@link SerializationException}: truncated header, unknown magic byte or schema id, indexes that
 * name no message, a body that is not that message.
 */
public class ProtobufDeserializer<T extends Message> implements Deserializer<T> {

  private SchemaRegistryClient client;
  private Class<?> type;
  private Parser<?> parser;
  private boolean configured;
  private final Map<Integer, ProtobufParsedSchema> schemas = new ConcurrentHashMap<>();

  public ProtobufDeserializer() {
  }

  public ProtobufDeserializer(Class<T> type) {
    this.type = type;
  }

  public ProtobufDeserializer(SchemaRegistryClient client, Class<T> type) {
    this.client = client;
    this.type = type;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    SchemaSerdeConfig config = new SchemaSerdeConfig(configs, isKey);
    if (type == null) {
      type = config.protobufType;
    }
    if (type != null) {
      try {
        Message defaultInstance = (Message) type.getMethod("getDefaultInstance").invoke(null);
        parser = defaultInstance.getParserForType();
      } catch (ReflectiveOperationException | ClassCastException e) {
        throw new org.apache.kafka.common.config.ConfigException(type.getName() + " is not a generated Protobuf message class");
      }
    }
    if (client == null) {
      client = new SchemaRegistryClient(RegistryClientConfig.from(configs));
    }
    configured = true;
  }

  @Override
  @SuppressWarnings("unchecked")
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (!configured) {
      throw new IllegalStateException("ProtobufDeserializer used before configure()");
    }
    int id = Frames.header(topic, data);
    ByteBuffer buffer = ByteBuffer.wrap(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE);
    List<Integer> indexes = MessageIndexes.decode(buffer);
    ProtobufParsedSchema schema = schemas.get(id);
    if (schema == null) {
      // fetched outside the map: a registry call must not hold a map bin
      schema = (ProtobufParsedSchema) Frames.writerSchema(client, topic, id, Schemas.PROTOBUF);
      schemas.putIfAbsent(id, schema);
    }
    Descriptors.Descriptor writerType;
    try {
      writerType = ProtobufDescriptors.byIndexes(schema.descriptor(), indexes);
    } catch (IllegalArgumentException e) {
      throw new SerializationException("record on topic " + topic + " with schema id " + id + ": " + e.getMessage(), e);
    }
    int offset = buffer.position();
    int length = data.length - offset;
    try {
      if (parser != null) {
        return (T) parser.parseFrom(data, offset, length);
      }
      return (T) DynamicMessage.parseFrom(writerType, com.google.protobuf.CodedInputStream.newInstance(data, offset, length));
    } catch (java.io.IOException e) {
      throw new SerializationException("truncated or corrupt Protobuf body on topic " + topic + " for schema id "
          + id + " (" + writerType.getFullName() + ", " + length + " bytes): " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    // nothing to release
  }
}
