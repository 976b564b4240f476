package io.fractalrmo.registry.serde;

import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for Confluent's wire format. It resolves the writer's schema by the id in
 * the record (cached forever after the first look-up) and reads with Avro schema resolution into
 * the reader's type: a configured generated class ({@code specific.avro.value.type}, or the class
 * given to {@link FractalSerdes#value}), the generated class named by the writer schema when
 * {@code specific.avro.reader=true}, else a {@link org.apache.avro.generic.GenericRecord}.
 *
 * <p>Bytes not in the format throw {@link SerializationException} saying what is wrong (null
 * stays null): fewer than 5 bytes, a magic byte other than 0x00, an id the registry does not
 * know, a writer schema the reader cannot resolve, a truncated or corrupt body, trailing bytes.
 */
public class AvroDeserializer<T> implements Deserializer<T> {

  private SchemaRegistryClient client;
  private AvroSerdeConfig config;
  private Class<?> readerType;
  private Schema readerSchema;
  private final Map<Integer, DatumReader<Object>> readers = new ConcurrentHashMap<>();

  public AvroDeserializer() {
  }

  /** A deserializer reading into {@code readerType} (a generated class); configure() must still be called. */
  public AvroDeserializer(Class<T> readerType) {
    this.readerType = readerType;
  }

  /** Shares {@code client}; {@code readerType} may be null (then the configuration decides). */
  public AvroDeserializer(SchemaRegistryClient client, Class<T> readerType) {
    this.client = client;
    this.readerType = readerType;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.config = new AvroSerdeConfig(configs, isKey);
    if (readerType == null) {
      readerType = config.readerType;
    }
    if (readerType != null) {
      Schema s = SpecificData.getForClass(readerType).getSchema(readerType);
      if (s == null || s.getType() != Schema.Type.RECORD) {
        throw new org.apache.kafka.common.config.ConfigException(
            readerType.getName() + " is not a generated Avro record class");
      }
      readerSchema = s;
    }
    if (client == null) {
      client = new SchemaRegistryClient(RegistryClientConfig.from(configs));
    }
  }

  @Override
  @SuppressWarnings("unchecked")
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (config == null) {
      throw new IllegalStateException("AvroDeserializer used before configure()");
    }
    int id = Frames.header(topic, data);
    DatumReader<Object> reader = readers.get(id);
    if (reader == null) {
      reader = readerFor(topic, id);
    }
    Scratch s = Scratch.get();
    s.decoder = DecoderFactory.get().binaryDecoder(data, WireFormat.HEADER_SIZE,
        data.length - WireFormat.HEADER_SIZE, s.decoder);
    Object value;
    try {
      value = reader.read(null, s.decoder);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("truncated or corrupt Avro body on topic " + topic
          + " for schema id " + id + " (" + (data.length - WireFormat.HEADER_SIZE)
          + " bytes after the header): " + e, e);
    }
    try {
      if (!s.decoder.isEnd()) {
        throw new SerializationException("corrupt record on topic " + topic + " for schema id " + id
            + ": bytes left over after the Avro body");
      }
    } catch (IOException e) {
      throw new SerializationException("corrupt record on topic " + topic + ": " + e, e);
    }
    return (T) value;
  }

  private DatumReader<Object> readerFor(String topic, int id) {
    Schema writer = Frames.lookUp(client, topic, id, () -> client.schemaById(id));
    Schema reader = readerSchema;
    SpecificData model = null;
    if (readerType != null) {
      model = SpecificData.getForClass(readerType);
    } else if (config.specificReader && writer.getType() == Schema.Type.RECORD) {
      SpecificData sd = SpecificData.getForSchema(writer);
      Class<?> c = sd.getClass(writer);
      if (c != null) {
        model = SpecificData.getForClass(c);
        reader = model.getSchema(c);
      }
    }
    DatumReader<Object> datumReader;
    if (reader == null) {
      datumReader = new GenericDatumReader<>(writer, writer, GenericData.get());
    } else {
      SchemaCompatibility.SchemaPairCompatibility compat =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        throw new SerializationException("schema id " + id + " on topic " + topic + " ("
            + writer.getFullName() + ") cannot be read as " + reader.getFullName() + ": "
            + compat.getResult().getIncompatibilities());
      }
      datumReader = new SpecificDatumReader<>(writer, reader, model);
    }
    DatumReader<Object> prev = readers.putIfAbsent(id, datumReader);
    return prev != null ? prev : datumReader;
  }

  @Override
  public void close() {
    // nothing to release
  }
}
