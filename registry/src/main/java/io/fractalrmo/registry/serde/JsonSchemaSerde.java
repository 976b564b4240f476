package io.fractalrmo.registry.serde;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** A Kafka Streams {@link Serde} pairing {@link JsonSchemaSerializer} and {@link JsonSchemaDeserializer}. */
public class JsonSchemaSerde<T> extends Serdes.WrapperSerde<T> {

  /** Schema from {@code json.value.schema}; reads JsonNode unless {@code json.value.type} is set. */
  public JsonSchemaSerde() {
    this(null, null);
  }

  /** Writes with {@code schema}, reads into {@code type} (null: JsonNode). */
  public JsonSchemaSerde(String schema, Class<T> type) {
    super(new JsonSchemaSerializer<>(schema), new JsonSchemaDeserializer<>(type));
  }
}
