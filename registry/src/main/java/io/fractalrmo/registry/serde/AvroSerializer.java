package io.fractalrmo.registry.serde;

import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaMetadata;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer writing Avro records (generated {@link SpecificRecord}s or
 * {@link org.apache.avro.generic.GenericRecord}s) in Confluent's wire format: 0x00, the 4-byte
 * schema id, the Avro binary body. The subject follows the configured strategy (TopicNameStrategy
 * by default: {@code <topic>-value}).
 *
 * <p>After the first record of a schema, serializing needs no registry call: the id and the
 * {@link DatumWriter} are cached per (subject, schema). Usable by class name
 * ({@code value.serializer}) with Confluent's properties, see {@link AvroSerdeConfig}.
 */
public class AvroSerializer<T> implements Serializer<T> {

  private SchemaRegistryClient client;
  private AvroSerdeConfig config;
  private boolean isKey;
  private final Map<String, Map<Schema, Resolved>> resolved = new ConcurrentHashMap<>();
  private volatile Resolved last;

  /** What the fast path needs for one (subject, record schema): the id and a writer for the schema it names. */
  private record Resolved(String topic, String subject, Schema recordSchema, int id, DatumWriter<Object> writer) {
  }

  public AvroSerializer() {
  }

  /** A serializer sharing {@code client} (configure() must still be called). */
  public AvroSerializer(SchemaRegistryClient client) {
    this.client = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    this.config = new AvroSerdeConfig(configs, isKey);
    if (client == null) {
      this.client = new SchemaRegistryClient(RegistryClientConfig.from(configs));
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null;
    }
    if (config == null) {
      throw new IllegalStateException("AvroSerializer used before configure()");
    }
    if (!(data instanceof GenericContainer container)) {
      throw new SerializationException("cannot serialize " + data.getClass().getName()
          + " to topic " + topic + ": not an Avro record (SpecificRecord or GenericRecord)");
    }
    Schema schema = container.getSchema();
    Resolved r = last;
    // The subject is a function of (topic, schema): comparing those avoids building a string per record.
    if (r == null || r.recordSchema != schema || !r.topic.equals(topic)) {
      r = resolve(topic, schema);
      last = r;
    }
    Scratch s = Scratch.get();
    Scratch.Output out = s.out;
    out.reset();
    out.write(WireFormat.MAGIC_BYTE);
    out.writeInt(r.id);
    try {
      s.encoder = EncoderFactory.get().binaryEncoder(out, s.encoder);
      r.writer.write(data, s.encoder);
      s.encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot serialize " + schema.getFullName() + " to topic "
          + topic + " with schema id " + r.id + ": " + e, e);
    }
    return out.toByteArray();
  }

  private String subjectFor(String topic, Schema schema) {
    return config.subjectNameStrategy.subject(topic, isKey, schema);
  }

  private Resolved resolve(String topic, Schema schema) {
    String subject = subjectFor(topic, schema);
    Map<Schema, Resolved> bySchema = resolved.computeIfAbsent(subject, k -> new ConcurrentHashMap<>());
    Resolved r = bySchema.get(schema);
    if (r != null && !config.useLatestVersion) {
      return r;
    }
    try {
      int id;
      Schema writeSchema = schema;
      if (config.useLatestVersion) {
        SchemaMetadata latest = client.latest(subject, config.latestCacheTtlMillis);
        id = latest.id();
        writeSchema = client.schemaById(id);
        if (r != null && r.id == id) {
          return r;
        }
      } else if (config.autoRegister) {
        id = client.register(subject, schema, config.normalize);
      } else {
        id = client.idOf(subject, schema);
      }
      r = new Resolved(topic, subject, schema, id, writerFor(writeSchema, schema));
      bySchema.put(schema, r);
      return r;
    } catch (RestClientException e) {
      throw new SerializationException("schema " + schema.getFullName() + " refused under subject "
          + subject + " by the registry: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new SerializationException("cannot reach the schema registry "
          + client.config().urls() + " for subject " + subject + ": " + e.getMessage(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private static DatumWriter<Object> writerFor(Schema writeSchema, Schema recordSchema) {
    SpecificData specific = SpecificData.getForSchema(recordSchema);
    if (specific.getClass(recordSchema) != null && recordSchema.getType() == Schema.Type.RECORD) {
      return new SpecificDatumWriter<>(writeSchema, specific);
    }
    return new GenericDatumWriter<>(writeSchema, GenericData.get());
  }

  @Override
  public void close() {
    // the client holds no resources needing release
  }
}
