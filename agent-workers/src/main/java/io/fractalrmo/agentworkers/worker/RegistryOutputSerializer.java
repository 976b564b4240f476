package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.registry.serde.FractalSerdes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serializes any generated Avro class with the registry serde of {@link FractalSerdes}, one
 * serializer per class, created on first use. Thread-safe.
 */
public final class RegistryOutputSerializer implements OutputSerializer, AutoCloseable {

  private final Map<String, ?> serdeConfig;
  private final Map<Class<?>, Serializer<SpecificRecord>> serializers = new ConcurrentHashMap<>();

  public RegistryOutputSerializer(Map<String, ?> serdeConfig) {
    this.serdeConfig = Map.copyOf(serdeConfig);
  }

  @Override
  public byte[] serialize(String topic, SpecificRecord value) {
    if (value == null) {
      return null; // a tombstone
    }
    return serializers.computeIfAbsent(value.getClass(), this::create).serialize(topic, value);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Serializer<SpecificRecord> create(Class<?> type) {
    return (Serializer<SpecificRecord>) FractalSerdes.value((Class) type, serdeConfig).serializer();
  }

  @Override
  public void close() {
    serializers.values().forEach(Serializer::close);
    serializers.clear();
  }
}
