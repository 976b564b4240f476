package io.fractalrmo.streams;

import io.fractalrmo.registry.serde.FractalSerdes;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;

/**
 * The value serdes of the topologies, one per generated record class, made once per topology
 * from a serde configuration (Confluent property names, {@code schema.registry.url} first).
 * An instance belongs to one topology: nothing here is static or shared between applications.
 */
public final class RecordSerdes {

  private final Map<String, Object> config;
  private final Map<Class<?>, Serde<?>> made = new ConcurrentHashMap<>();

  private RecordSerdes(Map<String, ?> config) {
    this.config = Map.copyOf(config);
  }

  /** Registry-backed serdes ({@link FractalSerdes#value}) for this configuration. */
  public static RecordSerdes fromConfig(Map<String, ?> serdeConfig) {
    Objects.requireNonNull(serdeConfig, "serdeConfig");
    return new RecordSerdes(serdeConfig);
  }

  /** Registry-backed serdes with the project's defaults for a registry URL. */
  public static RecordSerdes forRegistry(String schemaRegistryUrl) {
    return new RecordSerdes(FractalSerdes.config(schemaRegistryUrl));
  }

  @SuppressWarnings("unchecked")
  public <T extends SpecificRecord> Serde<T> value(Class<T> type) {
    return (Serde<T>) made.computeIfAbsent(type,
        t -> FractalSerdes.value((Class<T>) t, config));
  }

  public Map<String, Object> config() {
    return config;
  }
}
