package io.fractalrmo.registry.serde;

import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ProtobufDescriptors;
import io.fractalrmo.registry.schema.SchemaReference;
import io.fractalrmo.registry.schema.Schemas;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer writing Protobuf messages (generated classes or {@code DynamicMessage}) in
 * Confluent's wire format: 0x00, the 4-byte schema id, the message indexes (the single byte 0 for
 * the file's first message, see {@link MessageIndexes}), the Protobuf binary. The message's .proto
 * file is printed from its descriptor and registered; each imported file (Google's and
 * Confluent's built-in ones aside) is registered first under a subject named after the import
 * path, as Confluent's default reference subject strategy does, and referenced.
 */
public class ProtobufSerializer<T extends Message> implements Serializer<T> {

  private SchemaRegistryClient client;
  private SchemaSerdeConfig config;
  private final Map<String, Map<Descriptors.Descriptor, Resolved>> resolved = new ConcurrentHashMap<>();
  private volatile Resolved last;

  private record Resolved(String topic, Descriptors.Descriptor type, int id, byte[] indexes) {
  }

  public ProtobufSerializer() {
  }

  public ProtobufSerializer(SchemaRegistryClient client) {
    this.client = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.config = new SchemaSerdeConfig(configs, isKey);
    if (client == null) {
      client = new SchemaRegistryClient(RegistryClientConfig.from(configs));
    }
  }

  @Override
  public byte[] serialize(String topic, T message) {
    if (message == null) {
      return null;
    }
    if (config == null) {
      throw new IllegalStateException("ProtobufSerializer used before configure()");
    }
    Descriptors.Descriptor type = message.getDescriptorForType();
    Resolved r = last;
    if (r == null || r.type != type || !r.topic.equals(topic)) {
      r = resolved.computeIfAbsent(topic, t -> new ConcurrentHashMap<>()).get(type);
      if (r == null) {
        r = resolve(topic, type);
        resolved.get(topic).put(type, r);
      }
      last = r;
    }
    int size = message.getSerializedSize();
    byte[] out = new byte[WireFormat.HEADER_SIZE + r.indexes.length + size];
    out[0] = WireFormat.MAGIC_BYTE;
    out[1] = (byte) (r.id >>> 24);
    out[2] = (byte) (r.id >>> 16);
    out[3] = (byte) (r.id >>> 8);
    out[4] = (byte) r.id;
    System.arraycopy(r.indexes, 0, out, WireFormat.HEADER_SIZE, r.indexes.length);
    try {
      com.google.protobuf.CodedOutputStream cos = com.google.protobuf.CodedOutputStream.newInstance(
          out, WireFormat.HEADER_SIZE + r.indexes.length, size);
      message.writeTo(cos);
      cos.checkNoSpaceLeft();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot serialize " + type.getFullName() + " to topic " + topic + ": " + e, e);
    }
    return out;
  }

  private Resolved resolve(String topic, Descriptors.Descriptor type) {
    String subject = config.subject(topic, type.getFullName());
    try {
      int id;
      if (config.useLatestVersion) {
        id = client.latest(subject, config.latestCacheTtlMillis).id();
      } else {
        List<SchemaReference> refs = registerDependencies(type.getFile());
        String text = ProtobufDescriptors.toProtoText(type.getFile());
        id = config.autoRegister
            ? client.register(subject, Schemas.PROTOBUF, text, refs, config.normalize).id()
            : client.lookup(subject, Schemas.PROTOBUF, text, refs).id();
      }
      return new Resolved(topic, type, id, MessageIndexes.encode(ProtobufDescriptors.indexes(type)));
    } catch (RestClientException e) {
      throw new SerializationException("schema of " + type.getFullName() + " refused under subject " + subject
          + " by the registry: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new SerializationException("cannot reach the schema registry " + client.config().urls()
          + " for subject " + subject + ": " + e.getMessage(), e);
    }
  }

  /** Registers each imported file (recursively) under its import path; returns the references. */
  private List<SchemaReference> registerDependencies(Descriptors.FileDescriptor file)
      throws IOException, RestClientException {
    List<SchemaReference> refs = new ArrayList<>();
    for (Descriptors.FileDescriptor dep : file.getDependencies()) {
      if (ProtobufDescriptors.isBuiltIn(dep.getName())) {
        continue;
      }
      List<SchemaReference> inner = registerDependencies(dep);
      String text = ProtobufDescriptors.toProtoText(dep);
      int version = config.autoRegister
          ? client.register(dep.getName(), Schemas.PROTOBUF, text, inner, config.normalize).version()
          : client.lookup(dep.getName(), Schemas.PROTOBUF, text, inner).version();
      refs.add(new SchemaReference(dep.getName(), dep.getName(), version));
    }
    return refs;
  }

  @Override
  public void close() {
    // the client holds no resources needing release
  }
}
