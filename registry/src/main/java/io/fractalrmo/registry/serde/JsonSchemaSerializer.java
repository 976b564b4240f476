package io.fractalrmo.registry.serde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.registry.client.RegistryClientConfig;
import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.JsonParsedSchema;
import io.fractalrmo.registry.schema.ParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer writing JSON in Confluent's wire format (0x00, 4-byte schema id, UTF-8 JSON),
 * for Jackson {@link JsonNode}s or any object Jackson can map. The schema is given as text
 * ({@code json.value.schema}, or the constructor), or is the subject's latest version with
 * {@code use.latest.version=true}. Each payload is validated against the schema before it is
 * written (networknt's validator); an invalid one throws {@link SerializationException} listing
 * the violations, unless {@code json.fail.invalid.schema=false}.
 */
public class JsonSchemaSerializer<T> implements Serializer<T> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private SchemaRegistryClient client;
  private SchemaSerdeConfig config;
  private String schemaText;
  private volatile Resolved last;

  private record Resolved(String topic, int id, JsonParsedSchema schema) {
  }

  public JsonSchemaSerializer() {
  }

  /** Writes with {@code schema} (JSON Schema text); configure() must still be called. */
  public JsonSchemaSerializer(String schema) {
    this.schemaText = schema;
  }

  public JsonSchemaSerializer(SchemaRegistryClient client, String schema) {
    this.client = client;
    this.schemaText = schema;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.config = new SchemaSerdeConfig(configs, isKey);
    if (schemaText == null) {
      schemaText = config.jsonSchema;
    }
    if (schemaText == null && !config.useLatestVersion) {
      throw new ConfigException((isKey ? SchemaSerdeConfig.JSON_KEY_SCHEMA : SchemaSerdeConfig.JSON_VALUE_SCHEMA)
          + " (the JSON Schema to write with) is required unless " + SchemaSerdeConfig.USE_LATEST_VERSION + "=true");
    }
    if (client == null) {
      client = new SchemaRegistryClient(RegistryClientConfig.from(configs));
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null;
    }
    if (config == null) {
      throw new IllegalStateException("JsonSchemaSerializer used before configure()");
    }
    Resolved r = last;
    if (r == null || !r.topic.equals(topic)) {
      r = resolve(topic);
      last = r;
    }
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(data);
    } catch (IOException | IllegalArgumentException e) {
      throw new SerializationException("cannot write JSON for topic " + topic + ": " + e, e);
    }
    if (config.failInvalid) {
      List<String> errors = r.schema.validate(new String(body, java.nio.charset.StandardCharsets.UTF_8));
      if (!errors.isEmpty()) {
        throw new SerializationException("JSON payload for topic " + topic + " does not validate against schema id "
            + r.id + ": " + errors);
      }
    }
    byte[] out = new byte[WireFormat.HEADER_SIZE + body.length];
    out[0] = WireFormat.MAGIC_BYTE;
    out[1] = (byte) (r.id >>> 24);
    out[2] = (byte) (r.id >>> 16);
    out[3] = (byte) (r.id >>> 8);
    out[4] = (byte) r.id;
    System.arraycopy(body, 0, out, WireFormat.HEADER_SIZE, body.length);
    return out;
  }

  private Resolved resolve(String topic) {
    String title = null;
    String subject = null;
    try {
      if (config.useLatestVersion) {
        subject = config.subject(topic, recordName(schemaText));
        int id = client.latest(subject, config.latestCacheTtlMillis).id();
        ParsedSchema p = client.parsed(id);
        if (!(p instanceof JsonParsedSchema js)) {
          throw new SerializationException("latest version of " + subject + " is " + p.schemaType() + ", not JSON");
        }
        return new Resolved(topic, id, js);
      }
      JsonParsedSchema parsed = (JsonParsedSchema) Schemas.parse(Schemas.JSON, schemaText, Map.of());
      title = recordName(schemaText);
      subject = config.subject(topic, title);
      int id = config.autoRegister
          ? client.register(subject, Schemas.JSON, parsed.canonicalString(), List.of(), config.normalize).id()
          : client.lookup(subject, Schemas.JSON, parsed.canonicalString(), List.of()).id();
      return new Resolved(topic, id, parsed);
    } catch (RestClientException e) {
      throw new SerializationException("JSON schema refused under subject " + subject + " by the registry: "
          + e.getMessage(), e);
    } catch (IOException e) {
      throw new SerializationException("cannot reach the schema registry " + client.config().urls()
          + " for subject " + subject + ": " + e.getMessage(), e);
    } catch (io.fractalrmo.registry.schema.InvalidSchemaException e) {
      throw new SerializationException("invalid JSON Schema for topic " + topic + ": " + e.getMessage(), e);
    }
  }

  /** Confluent's record name for a JSON Schema: its title. */
  private static String recordName(String schema) {
    if (schema == null) {
      return null;
    }
    try {
      JsonNode t = JSON.readTree(schema).path("title");
      return t.isTextual() ? t.asText() : null;
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public void close() {
    // the client holds no resources needing release
  }
}
