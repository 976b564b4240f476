package io.fractalrmo.registry.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A JSON Schema, checked against its draft's meta-schema (draft-07 unless {@code $schema} names
 * another) with networknt's validator, which also validates payloads for the serde. References
 * are other registered schemas, found by their reference name as {@code $ref} target. Remote
 * {@code $ref}s are never fetched. Compatibility follows Confluent's JSON Schema rules
 * ({@link JsonSchemaDiff}).
 */
public final class JsonParsedSchema implements ParsedSchema {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper SORTED = JsonMapper.builder()
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();
  /** Base IRI for a schema without {@code $id}: relative {@code $ref}s to references resolve under it. */
  static final String BASE = "https://schemas.fractalrmo.invalid/";

  private final JsonNode node;
  private final Map<String, String> resolved;
  private final String canonical;
  private volatile Schema validator;

  private JsonParsedSchema(JsonNode node, Map<String, String> resolved) {
    this.node = node;
    this.resolved = resolved;
    this.canonical = node.toString();
  }

  static JsonParsedSchema parse(String text, Map<String, String> resolved) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (Exception e) {
      throw new InvalidSchemaException("Invalid JSON " + text + ": " + e.getMessage(), e);
    }
    if (node == null || !(node.isObject() || node.isBoolean())) {
      throw new InvalidSchemaException("Invalid schema " + text + ": a JSON Schema is an object or a boolean");
    }
    JsonParsedSchema s = new JsonParsedSchema(node, resolved);
    s.checkAgainstMetaSchema();
    JsonSchemaDiff.checkRefs(s); // every $ref must resolve
    s.validator();
    return s;
  }

  /** The schema document. */
  public JsonNode jsonNode() {
    return node;
  }

  Map<String, String> resolvedReferences() {
    return resolved;
  }

  @Override
  public String schemaType() {
    return Schemas.JSON;
  }

  @Override
  public String canonicalString() {
    return canonical;
  }

  /** Keys sorted at every level, as Confluent's normalization orders properties. */
  @Override
  public ParsedSchema normalize() {
    try {
      Object tree = SORTED.treeToValue(node, Object.class);
      return new JsonParsedSchema(JSON.readTree(SORTED.writeValueAsString(tree)), resolved);
    } catch (Exception e) {
      throw new InvalidSchemaException("cannot normalize: " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> isBackwardCompatible(ParsedSchema previous, String thisName, String previousName) {
    if (!(previous instanceof JsonParsedSchema old)) {
      return new java.util.ArrayList<>(List.of("Incompatible because of different schema type"));
    }
    return JsonSchemaDiff.compare(old, this).stream()
        .filter(d -> !JsonSchemaDiff.COMPATIBLE_CHANGES.contains(d.type()))
        .map(d -> d.message(thisName, previousName))
        .collect(Collectors.toList());
  }

  /** Validation errors of {@code payload} (empty when valid). */
  public List<String> validate(JsonNode payload) {
    return validate(payload.toString());
  }

  /** Validation errors of the JSON text {@code payload} (empty when valid). */
  public List<String> validate(String payload) {
    tools.jackson.databind.JsonNode node;
    try {
      // parsed with one shared mapper: the validator's own string entry point costs several times more
      node = VALIDATION_MAPPER.readTree(payload);
    } catch (RuntimeException e) {
      return List.of("not JSON: " + e.getMessage());
    }
    List<Error> errors = validator().validate(node);
    return errors.stream().map(Error::toString).collect(Collectors.toList());
  }

  /** networknt reads Jackson 3 trees. */
  private static final tools.jackson.databind.ObjectMapper VALIDATION_MAPPER = new tools.jackson.databind.ObjectMapper();

  private SpecificationVersion draft() {
    JsonNode s = node.path("$schema");
    if (s.isTextual()) {
      String id = s.asText().replaceAll("#$", "");
      for (SpecificationVersion v : SpecificationVersion.values()) {
        if (v.getDialectId().replaceAll("#$", "").equals(id)
            || v.getDialectId().replaceAll("#$", "").replace("https://", "http://").equals(id)) {
          return v;
        }
      }
      throw new InvalidSchemaException("Invalid schema: unsupported $schema " + s.asText());
    }
    return SpecificationVersion.DRAFT_7;
  }

  private void checkAgainstMetaSchema() {
    SpecificationVersion draft = draft();
    SchemaRegistry reg = SchemaRegistry.withDefaultDialect(draft);
    Schema meta = reg.getSchema(SchemaLocation.of(draft.getDialectId()));
    List<Error> errors = meta.validate(canonical, InputFormat.JSON);
    if (!errors.isEmpty()) {
      throw new InvalidSchemaException("Invalid schema " + canonical + " with refs " + resolved.keySet()
          + ": " + errors.stream().map(Error::toString).collect(Collectors.joining("; ")));
    }
  }

  /** networknt's validator, with the references served from memory under their names. */
  Schema validator() {
    Schema v = validator;
    if (v == null) {
      Map<String, String> byIri = new LinkedHashMap<>();
      for (Map.Entry<String, String> r : resolved.entrySet()) {
        byIri.put(iri(r.getKey()), r.getValue());
        byIri.put(r.getKey(), r.getValue());
      }
      String base = node.path("$id").isTextual() ? iri(node.path("$id").asText()) : BASE + "schema.json";
      try {
        SchemaRegistry reg = SchemaRegistry.withDefaultDialect(draft(), b -> b.schemas(byIri::get));
        v = reg.getSchema(SchemaLocation.of(base), canonical, InputFormat.JSON);
        v.validate("null", InputFormat.JSON); // resolves every $ref now, not on the first record
      } catch (RuntimeException e) {
        throw new InvalidSchemaException("Invalid schema " + canonical + " with refs " + resolved.keySet()
            + ": " + e.getMessage(), e);
      }
      validator = v;
    }
    return v;
  }

  static String iri(String referenceName) {
    try {
      URI u = URI.create(referenceName);
      return u.isAbsolute() ? referenceName : URI.create(BASE).resolve(u).toString();
    } catch (IllegalArgumentException e) {
      return referenceName;
    }
  }
}
