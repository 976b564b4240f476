package io.fractalrmo.connectors.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;

/**
 * Renders nested parts of Avro records (lists of checks, examples, transitions, maps) as JSON
 * for {@code jsonb} columns: field names as in the schema, enums as symbols, timestamps as
 * ISO-8601 strings.
 */
final class AvroJson {

  static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private AvroJson() {
  }

  static String json(Object value) {
    try {
      return MAPPER.writeValueAsString(node(value));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("cannot render as JSON: " + value, e);
    }
  }

  static JsonNode node(Object value) {
    if (value == null) {
      return NODES.nullNode();
    }
    if (value instanceof IndexedRecord record) {
      ObjectNode object = NODES.objectNode();
      for (Schema.Field field : record.getSchema().getFields()) {
        object.set(field.name(), node(record.get(field.pos())));
      }
      return object;
    }
    if (value instanceof Map<?, ?> map) {
      ObjectNode object = NODES.objectNode();
      map.forEach((k, v) -> object.set(String.valueOf(k), node(v)));
      return object;
    }
    if (value instanceof Collection<?> list) {
      ArrayNode array = NODES.arrayNode();
      list.forEach(v -> array.add(node(v)));
      return array;
    }
    if (value instanceof Instant instant) {
      return NODES.textNode(instant.toString());
    }
    if (value instanceof Integer i) {
      return NODES.numberNode(i);
    }
    if (value instanceof Long l) {
      return NODES.numberNode(l);
    }
    if (value instanceof Double d) {
      return NODES.numberNode(d);
    }
    if (value instanceof Float f) {
      return NODES.numberNode(f);
    }
    if (value instanceof Boolean b) {
      return NODES.booleanNode(b);
    }
    if (value instanceof ByteBuffer bytes) {
      ByteBuffer copy = bytes.duplicate();
      byte[] out = new byte[copy.remaining()];
      copy.get(out);
      return NODES.textNode(Base64.getEncoder().encodeToString(out));
    }
    return NODES.textNode(value.toString());
  }
}
