package io.fractalrmo.registry.serde;

import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ParsedSchema;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;

/** The header checks and writer-schema look-up every deserializer of the wire format shares. */
final class Frames {

  private Frames() {
  }

  /** Checks length and magic byte; returns the schema id. */
  static int header(String topic, byte[] data) {
    if (data.length < WireFormat.HEADER_SIZE) {
      throw new SerializationException("truncated record on topic " + topic + ": " + data.length
          + " bytes, fewer than the 5-byte header (magic byte 0x00 + schema id) of Confluent's wire format");
    }
    if (data[0] != WireFormat.MAGIC_BYTE) {
      throw new SerializationException(String.format(
          "unknown magic byte 0x%02x on topic %s: not Confluent's wire format (expected 0x00)",
          data[0] & 0xff, topic));
    }
    return WireFormat.schemaId(data);
  }

  /** How a deserializer fetches a writer's schema from the registry. */
  interface Lookup<S> {
    S get() throws IOException, RestClientException;
  }

  /** The writer's schema of {@code id}; any failure is a SerializationException that says why. */
  static <S> S lookUp(SchemaRegistryClient client, String topic, int id, Lookup<S> lookup) {
    try {
      return lookup.get();
    } catch (RestClientException e) {
      if (e.status() == 404) {
        throw new SerializationException("unknown schema id " + id + " on topic " + topic
            + ": the registry has no such schema (" + e.getMessage() + ")", e);
      }
      throw new SerializationException("schema id " + id + " on topic " + topic
          + " refused by the registry: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot fetch schema id " + id + " for topic " + topic
          + " from the registry " + client.config().urls() + ": " + e.getMessage(), e);
    }
  }

  static ParsedSchema writerSchema(SchemaRegistryClient client, String topic, int id, String expectedType) {
    ParsedSchema s = lookUp(client, topic, id, () -> client.parsed(id));
    if (!s.schemaType().equals(expectedType)) {
      throw new SerializationException("schema id " + id + " on topic " + topic + " is of type "
          + s.schemaType() + ", not " + expectedType);
    }
    return s;
  }
}
