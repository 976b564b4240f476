package io.fractalrmo.registry.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.util.internal.JacksonUtils;

/**
 * An Avro schema parsed with Avro's own parser (referenced named types parsed first, into the
 * same parser), compared with Avro's {@link SchemaCompatibility}. The canonical string is Avro's
 * printing of the parsed schema with referenced types printed by name only, as Confluent stores it.
 */
public final class AvroParsedSchema implements ParsedSchema {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Schema schema;
  private final List<Schema> referenced;
  private final Map<String, String> resolved;
  private final String canonical;

  private AvroParsedSchema(Schema schema, List<Schema> referenced, Map<String, String> resolved, String canonical) {
    this.schema = schema;
    this.referenced = referenced;
    this.resolved = resolved;
    this.canonical = canonical;
  }

  static AvroParsedSchema parse(String text, Map<String, String> resolved) {
    Schema.Parser parser = new Schema.Parser();
    List<Schema> referenced = new ArrayList<>();
    try {
      for (Map.Entry<String, String> r : resolved.entrySet()) {
        referenced.add(parser.parse(r.getValue()));
      }
    } catch (RuntimeException e) {
      throw new InvalidSchemaException("Invalid schema: a referenced schema does not parse: " + e.getMessage(), e);
    }
    Schema schema;
    try {
      schema = parser.parse(text);
    } catch (RuntimeException e) {
      throw new InvalidSchemaException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
    }
    String canonical = referenced.isEmpty() ? schema.toString() : schema.toString(referenced, false);
    return new AvroParsedSchema(schema, referenced, resolved, canonical);
  }

  /** The parsed Avro schema (referenced types included by value). */
  public Schema avroSchema() {
    return schema;
  }

  @Override
  public String schemaType() {
    return Schemas.AVRO;
  }

  @Override
  public String canonicalString() {
    return canonical;
  }

  /**
   * Full names everywhere (no {@code namespace} keys), attributes in one fixed order, custom
   * properties sorted: schemas that differ only in how names and namespaces are spelt or in the
   * order of their attributes normalize alike.
   */
  @Override
  public ParsedSchema normalize() {
    Set<String> known = new HashSet<>();
    for (Schema r : referenced) {
      collectNames(r, known);
    }
    JsonNode n = normalized(schema, known);
    return parse(n.isTextual() ? n.toString() : n.toString(), resolved);
  }

  @Override
  public List<String> isBackwardCompatible(ParsedSchema previous, String thisName, String previousName) {
    List<String> out = new ArrayList<>();
    if (!(previous instanceof AvroParsedSchema old)) {
      out.add("Incompatible because of different schema type");
      return out;
    }
    SchemaCompatibility.SchemaPairCompatibility pair =
        SchemaCompatibility.checkReaderWriterCompatibility(schema, old.schema);
    if (pair.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return out;
    }
    String direction = thisName.equals("new")
        ? "new schema cannot read data written with an earlier schema"
        : "an earlier schema cannot read data written with the new schema";
    for (SchemaCompatibility.Incompatibility i : pair.getResult().getIncompatibilities()) {
      out.add("{errorType:'" + i.getType() + "', description:'" + direction + ": " + i.getMessage()
          + "', location:'" + i.getLocation() + "'}");
    }
    return out;
  }

  private static void collectNames(Schema s, Set<String> names) {
    switch (s.getType()) {
      case RECORD -> {
        if (names.add(s.getFullName())) {
          for (Schema.Field f : s.getFields()) {
            collectNames(f.schema(), names);
          }
        }
      }
      case ENUM, FIXED -> names.add(s.getFullName());
      case ARRAY -> collectNames(s.getElementType(), names);
      case MAP -> collectNames(s.getValueType(), names);
      case UNION -> s.getTypes().forEach(t -> collectNames(t, names));
      default -> {
      }
    }
  }

  private static JsonNode normalized(Schema s, Set<String> printed) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    switch (s.getType()) {
      case RECORD, ENUM, FIXED -> {
        if (!printed.add(s.getFullName())) {
          return f.textNode(s.getFullName());
        }
        ObjectNode o = f.objectNode();
        o.put("type", s.getType().getName());
        o.put("name", s.getFullName());
        if (s.getDoc() != null) {
          o.put("doc", s.getDoc());
        }
        if (!s.getAliases().isEmpty()) {
          ArrayNode a = o.putArray("aliases");
          new java.util.TreeSet<>(s.getAliases()).forEach(a::add);
        }
        switch (s.getType()) {
          case RECORD -> {
            ArrayNode fields = o.putArray("fields");
            for (Schema.Field field : s.getFields()) {
              ObjectNode fo = fields.addObject();
              fo.put("name", field.name());
              if (field.doc() != null) {
                fo.put("doc", field.doc());
              }
              fo.set("type", normalized(field.schema(), printed));
              if (field.hasDefaultValue()) {
                fo.set("default", JacksonUtils.toJsonNode(field.defaultVal()));
              }
              if (field.order() != Schema.Field.Order.ASCENDING) {
                fo.put("order", field.order().name().toLowerCase(java.util.Locale.ROOT));
              }
              if (!field.aliases().isEmpty()) {
                ArrayNode a = fo.putArray("aliases");
                new java.util.TreeSet<>(field.aliases()).forEach(a::add);
              }
              props(field.getObjectProps(), fo);
            }
          }
          case ENUM -> {
            ArrayNode symbols = o.putArray("symbols");
            s.getEnumSymbols().forEach(symbols::add);
            if (s.getEnumDefault() != null) {
              o.put("default", s.getEnumDefault());
            }
          }
          default -> o.put("size", s.getFixedSize());
        }
        logical(s.getLogicalType(), o);
        props(s.getObjectProps(), o);
        return o;
      }
      case ARRAY -> {
        ObjectNode o = f.objectNode().put("type", "array");
        o.set("items", normalized(s.getElementType(), printed));
        props(s.getObjectProps(), o);
        return o;
      }
      case MAP -> {
        ObjectNode o = f.objectNode().put("type", "map");
        o.set("values", normalized(s.getValueType(), printed));
        props(s.getObjectProps(), o);
        return o;
      }
      case UNION -> {
        ArrayNode a = f.arrayNode();
        s.getTypes().forEach(t -> a.add(normalized(t, printed)));
        return a;
      }
      default -> {
        if (s.getLogicalType() == null && s.getObjectProps().isEmpty()) {
          return f.textNode(s.getType().getName());
        }
        ObjectNode o = f.objectNode().put("type", s.getType().getName());
        logical(s.getLogicalType(), o);
        props(s.getObjectProps(), o);
        return o;
      }
    }
  }

  private static void logical(LogicalType lt, ObjectNode o) {
    if (lt != null) {
      o.put("logicalType", lt.getName());
    }
  }

  private static void props(Map<String, Object> props, ObjectNode o) {
    for (Map.Entry<String, Object> p : new TreeMap<>(props).entrySet()) {
      if (!o.has(p.getKey())) {
        o.set(p.getKey(), JSON.valueToTree(JacksonUtils.toJsonNode(p.getValue())));
      }
    }
  }
}
