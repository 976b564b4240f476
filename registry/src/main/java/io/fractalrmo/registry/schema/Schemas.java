package io.fractalrmo.registry.schema;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Parses schema text of a registry type; the one place that knows which types exist. */
public final class Schemas {

  public static final String AVRO = "AVRO";
  public static final String JSON = "JSON";
  public static final String PROTOBUF = "PROTOBUF";
  public static final List<String> TYPES = List.of(JSON, PROTOBUF, AVRO);

  private Schemas() {
  }

  /** {@code null} or blank means AVRO, as in Confluent's API; throws InvalidSchemaException for an unknown type. */
  public static String type(String schemaType) {
    if (schemaType == null || schemaType.isBlank()) {
      return AVRO;
    }
    String t = schemaType.trim().toUpperCase(Locale.ROOT);
    if (!TYPES.contains(t)) {
      throw new InvalidSchemaException("unknown schema type " + schemaType + " (AVRO, JSON or PROTOBUF)");
    }
    return t;
  }

  /**
   * Parses {@code text} of {@code schemaType}. {@code resolved} maps each reference name to the
   * referenced schema's text, transitively and dependencies first (see
   * {@link ReferenceResolver}); empty when the schema has no references.
   */
  public static ParsedSchema parse(String schemaType, String text, Map<String, String> resolved) {
    if (text == null || text.isBlank()) {
      throw new InvalidSchemaException("Empty schema");
    }
    Map<String, String> refs = resolved == null ? Map.of() : new LinkedHashMap<>(resolved);
    return switch (type(schemaType)) {
      case AVRO -> AvroParsedSchema.parse(text, refs);
      case JSON -> JsonParsedSchema.parse(text, refs);
      case PROTOBUF -> ProtobufParsedSchema.parse(text, refs);
      default -> throw new InvalidSchemaException("unknown schema type " + schemaType);
    };
  }
}
