package io.fractalrmo.registry.serde;

import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** A Kafka Streams {@link Serde} pairing {@link JsonSchemaSerializer} and {@link JsonSchemaDeserializer}. */
public class JsonSchemaSerde<T> implements Serde<T> {

  private final JsonSchemaSerializer<T> serializer;
  private final JsonSchemaDeserializer<T> deserializer;

  /** Schema from {@code json.value.schema}; reads JsonNode unless {@code json.value.type} is set. */
  public JsonSchemaSerde() {
    this(null, null);
  }

  /** Writes with {@code schema}, reads into {@code type} (null: JsonNode). */
  public JsonSchemaSerde(String schema, Class<T> type) {
    this.serializer = new JsonSchemaSerializer<>(schema);
    this.deserializer = new JsonSchemaDeserializer<>(type);
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
