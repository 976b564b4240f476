package io.fractalrmo.registry.serde;

import java.util.HashMap;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;

/**
 * The project's entry point to Avro serdes: Confluent wire format, TopicNameStrategy subjects,
 * Confluent's property names (see {@link AvroSerdeConfig}). Each call returns a new, configured
 * serde with its own caches.
 */
public final class FractalSerdes {

  private FractalSerdes() {
  }

  /** Value serde for a generated class; records written with any compatible schema are read into it. */
  public static <T extends SpecificRecord> Serde<T> value(Class<T> type, Map<String, ?> config) {
    AvroSerde<T> serde = new AvroSerde<>(type);
    serde.configure(config, false);
    return serde;
  }

  /** Key serde for a generated class (subject {@code <topic>-key}). */
  public static <T extends SpecificRecord> Serde<T> key(Class<T> type, Map<String, ?> config) {
    AvroSerde<T> serde = new AvroSerde<>(type);
    serde.configure(config, true);
    return serde;
  }

  /** Value serde for {@link GenericRecord}s (read with the writer's schema). */
  public static Serde<GenericRecord> genericValue(Map<String, ?> config) {
    Map<String, Object> c = new HashMap<>(config);
    c.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, false);
    AvroSerde<GenericRecord> serde = new AvroSerde<>();
    serde.configure(c, false);
    return serde;
  }

  /**
   * Sensible defaults for this project: the registry URL(s) (comma-separated for fail-over),
   * schemas registered on first use, and generated classes on read. Copy and add
   * {@code basic.auth.*} or {@code schema.registry.ssl.*} for a secured registry.
   */
  public static Map<String, Object> config(String schemaRegistryUrl) {
    Map<String, Object> c = new HashMap<>();
    c.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, schemaRegistryUrl);
    c.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, true);
    c.put(AvroSerdeConfig.USE_LATEST_VERSION, false);
    c.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, true);
    return c;
  }
}
