package io.fractalrmo.registry.serde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.JsonParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for JSON in Confluent's wire format: checks the header, fetches the writer's
 * schema by id (cached), parses the body and returns a Jackson {@link JsonNode}, or maps it to the
 * configured class ({@code json.value.type} / the constructor's). With
 * {@code json.fail.invalid.schema=true} the payload is validated against the writer's schema.
 * Bad bytes throw {@link SerializationException} naming the cause.
 */
public class JsonSchemaDeserializer<T> implements Deserializer<T> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private SchemaRegistryClient client;
  private SchemaSerdeConfig config;
  private Class<?> type;
  private boolean validate;

  public JsonSchemaDeserializer() {
  }

  public JsonSchemaDeserializer(Class<T> type) {
    this.type = type;
  }

  public JsonSchemaDeserializer(SchemaRegistryClient client, Class<T> type) {
    this.client = client;
    this.type = type;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.config = new SchemaSerdeConfig(configs, isKey);
    if (type == null) {
      type = config.jsonType;
    }
    // validation on read only when asked (Confluent's default for the deserializer is off)
    validate = Boolean.parseBoolean(String.valueOf(configs.get(SchemaSerdeConfig.JSON_FAIL_INVALID_SCHEMA)));
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
      throw new IllegalStateException("JsonSchemaDeserializer used before configure()");
    }
    int id = Frames.header(topic, data);
    JsonParsedSchema schema = (JsonParsedSchema) Frames.writerSchema(client, topic, id, Schemas.JSON);
    JsonNode node;
    try {
      node = JSON.readTree(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE);
    } catch (IOException e) {
      throw new SerializationException("corrupt JSON body on topic " + topic + " for schema id " + id + ": "
          + e.getMessage(), e);
    }
    if (node == null || node.isMissingNode()) {
      throw new SerializationException("empty JSON body on topic " + topic + " for schema id " + id);
    }
    if (validate) {
      List<String> errors = schema.validate(node);
      if (!errors.isEmpty()) {
        throw new SerializationException("JSON record on topic " + topic + " does not validate against its schema id "
            + id + ": " + errors);
      }
    }
    if (type == null || type == JsonNode.class || type == Object.class) {
      return (T) node;
    }
    try {
      return (T) JSON.treeToValue(node, type);
    } catch (IOException | IllegalArgumentException e) {
      throw new SerializationException("JSON record on topic " + topic + " (schema id " + id + ") cannot be read as "
          + type.getName() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    // nothing to release
  }
}
