package io.fractalrmo.registry.schema;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Confluent's JSON Schema compatibility rules (its {@code json.diff} package: difference types,
 * the set of compatible changes, open/closed/partially open content models, sum and product
 * types with a maximum matching of subschemas), ported onto Jackson trees. A schema is read the
 * way Confluent's loader reads it: {@code type} arrays become {@code anyOf}, a schema combining a
 * type with {@code enum}, {@code not} or a combinator becomes a synthetic {@code allOf}, keywords
 * imply the type when {@code type} is absent, and {@code $ref}s resolve within the document and to
 * the schema's references.
 */
final class JsonSchemaDiff {

  enum Type {
    ID_CHANGED, DESCRIPTION_CHANGED, TITLE_CHANGED, DEFAULT_CHANGED,
    SCHEMA_ADDED, SCHEMA_REMOVED, TYPE_EXTENDED, TYPE_NARROWED, TYPE_CHANGED,
    MAX_LENGTH_ADDED, MAX_LENGTH_REMOVED, MAX_LENGTH_INCREASED, MAX_LENGTH_DECREASED,
    MIN_LENGTH_ADDED, MIN_LENGTH_REMOVED, MIN_LENGTH_INCREASED, MIN_LENGTH_DECREASED,
    PATTERN_ADDED, PATTERN_REMOVED, PATTERN_CHANGED,
    MAXIMUM_ADDED, MAXIMUM_REMOVED, MAXIMUM_INCREASED, MAXIMUM_DECREASED, MINIMUM_ADDED,
    MINIMUM_REMOVED, MINIMUM_INCREASED, MINIMUM_DECREASED, EXCLUSIVE_MAXIMUM_ADDED,
    EXCLUSIVE_MAXIMUM_REMOVED, EXCLUSIVE_MAXIMUM_INCREASED, EXCLUSIVE_MAXIMUM_DECREASED,
    EXCLUSIVE_MINIMUM_ADDED, EXCLUSIVE_MINIMUM_REMOVED, EXCLUSIVE_MINIMUM_INCREASED,
    EXCLUSIVE_MINIMUM_DECREASED, MULTIPLE_OF_ADDED, MULTIPLE_OF_REMOVED, MULTIPLE_OF_EXPANDED,
    MULTIPLE_OF_REDUCED, MULTIPLE_OF_CHANGED,
    REQUIRED_ATTRIBUTE_ADDED, REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED, REQUIRED_ATTRIBUTE_REMOVED,
    MAX_PROPERTIES_ADDED, MAX_PROPERTIES_REMOVED, MAX_PROPERTIES_INCREASED,
    MAX_PROPERTIES_DECREASED, MIN_PROPERTIES_ADDED, MIN_PROPERTIES_REMOVED,
    MIN_PROPERTIES_INCREASED, MIN_PROPERTIES_DECREASED, ADDITIONAL_PROPERTIES_ADDED,
    ADDITIONAL_PROPERTIES_REMOVED, ADDITIONAL_PROPERTIES_EXTENDED, ADDITIONAL_PROPERTIES_NARROWED,
    DEPENDENCY_ARRAY_ADDED, DEPENDENCY_ARRAY_REMOVED, DEPENDENCY_ARRAY_EXTENDED,
    DEPENDENCY_ARRAY_NARROWED, DEPENDENCY_ARRAY_CHANGED, DEPENDENCY_SCHEMA_ADDED,
    DEPENDENCY_SCHEMA_REMOVED,
    REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
    PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    UNEVALUATED_PROPERTIES_ADDED, UNEVALUATED_PROPERTIES_REMOVED,
    UNEVALUATED_PROPERTIES_EXTENDED, UNEVALUATED_PROPERTIES_NARROWED,
    MAX_CONTAINS_ADDED, MAX_CONTAINS_REMOVED, MAX_CONTAINS_INCREASED, MAX_CONTAINS_DECREASED,
    MIN_CONTAINS_ADDED, MIN_CONTAINS_REMOVED, MIN_CONTAINS_INCREASED, MIN_CONTAINS_DECREASED,
    UNEVALUATED_ITEMS_ADDED, UNEVALUATED_ITEMS_REMOVED,
    UNEVALUATED_ITEMS_EXTENDED, UNEVALUATED_ITEMS_NARROWED,
    MAX_ITEMS_ADDED, MAX_ITEMS_REMOVED, MAX_ITEMS_INCREASED, MAX_ITEMS_DECREASED, MIN_ITEMS_ADDED,
    MIN_ITEMS_REMOVED, MIN_ITEMS_INCREASED, MIN_ITEMS_DECREASED,
    UNIQUE_ITEMS_ADDED, UNIQUE_ITEMS_REMOVED, ADDITIONAL_ITEMS_ADDED, ADDITIONAL_ITEMS_REMOVED,
    ADDITIONAL_ITEMS_EXTENDED, ADDITIONAL_ITEMS_NARROWED,
    ITEM_ADDED_TO_OPEN_CONTENT_MODEL, ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    ITEM_ADDED_TO_CLOSED_CONTENT_MODEL, ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
    ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ENUM_ARRAY_EXTENDED, ENUM_ARRAY_NARROWED, ENUM_ARRAY_CHANGED,
    COMBINED_TYPE_EXTENDED, COMBINED_TYPE_CHANGED,
    PRODUCT_TYPE_EXTENDED, PRODUCT_TYPE_NARROWED, SUM_TYPE_EXTENDED,
    SUM_TYPE_NARROWED, COMBINED_TYPE_SUBSCHEMAS_CHANGED,
    NOT_TYPE_EXTENDED, NOT_TYPE_NARROWED
  }

  /** Confluent's COMPATIBLE_CHANGES_STRICT (the default policy). */
  static final Set<Type> COMPATIBLE_CHANGES = EnumSet.of(
      Type.ID_CHANGED, Type.DESCRIPTION_CHANGED, Type.TITLE_CHANGED, Type.DEFAULT_CHANGED,
      Type.SCHEMA_REMOVED, Type.TYPE_EXTENDED,
      Type.MAX_LENGTH_INCREASED, Type.MAX_LENGTH_REMOVED, Type.MIN_LENGTH_DECREASED,
      Type.MIN_LENGTH_REMOVED, Type.PATTERN_REMOVED,
      Type.MAXIMUM_INCREASED, Type.MAXIMUM_REMOVED, Type.MINIMUM_DECREASED, Type.MINIMUM_REMOVED,
      Type.EXCLUSIVE_MAXIMUM_INCREASED, Type.EXCLUSIVE_MAXIMUM_REMOVED,
      Type.EXCLUSIVE_MINIMUM_DECREASED, Type.EXCLUSIVE_MINIMUM_REMOVED,
      Type.MULTIPLE_OF_REDUCED, Type.MULTIPLE_OF_REMOVED,
      Type.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED, Type.REQUIRED_ATTRIBUTE_REMOVED,
      Type.DEPENDENCY_ARRAY_NARROWED, Type.DEPENDENCY_ARRAY_REMOVED, Type.DEPENDENCY_SCHEMA_REMOVED,
      Type.MAX_PROPERTIES_INCREASED, Type.MAX_PROPERTIES_REMOVED, Type.MIN_PROPERTIES_DECREASED,
      Type.MIN_PROPERTIES_REMOVED, Type.ADDITIONAL_PROPERTIES_ADDED,
      Type.ADDITIONAL_PROPERTIES_EXTENDED,
      Type.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
      Type.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
      Type.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
      Type.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
      Type.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
      Type.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
      Type.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
      Type.MAX_ITEMS_INCREASED, Type.MAX_ITEMS_REMOVED, Type.MIN_ITEMS_DECREASED,
      Type.MIN_ITEMS_REMOVED, Type.UNIQUE_ITEMS_REMOVED, Type.ADDITIONAL_ITEMS_ADDED,
      Type.ADDITIONAL_ITEMS_EXTENDED, Type.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
      Type.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL, Type.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
      Type.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
      Type.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
      Type.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
      Type.ENUM_ARRAY_EXTENDED, Type.COMBINED_TYPE_EXTENDED, Type.PRODUCT_TYPE_NARROWED,
      Type.SUM_TYPE_EXTENDED, Type.NOT_TYPE_NARROWED,
      Type.UNEVALUATED_PROPERTIES_ADDED, Type.UNEVALUATED_PROPERTIES_EXTENDED,
      Type.UNEVALUATED_ITEMS_ADDED, Type.UNEVALUATED_ITEMS_EXTENDED,
      Type.MAX_CONTAINS_INCREASED, Type.MAX_CONTAINS_REMOVED, Type.MIN_CONTAINS_DECREASED,
      Type.MIN_CONTAINS_REMOVED);

  private static final Set<Type> KEYWORD_ADDED_OR_REMOVED = EnumSet.of(Type.MAXIMUM_ADDED,
      Type.MINIMUM_ADDED, Type.EXCLUSIVE_MAXIMUM_ADDED, Type.EXCLUSIVE_MINIMUM_ADDED,
      Type.MULTIPLE_OF_ADDED, Type.MAX_LENGTH_ADDED, Type.MIN_LENGTH_ADDED, Type.PATTERN_ADDED,
      Type.REQUIRED_ATTRIBUTE_ADDED, Type.MAX_PROPERTIES_ADDED, Type.MIN_PROPERTIES_ADDED,
      Type.DEPENDENCY_ARRAY_ADDED, Type.DEPENDENCY_SCHEMA_ADDED, Type.MAX_ITEMS_ADDED,
      Type.MIN_ITEMS_ADDED, Type.UNIQUE_ITEMS_ADDED, Type.ADDITIONAL_ITEMS_REMOVED,
      Type.ADDITIONAL_PROPERTIES_REMOVED, Type.MAX_CONTAINS_ADDED, Type.MIN_CONTAINS_ADDED,
      Type.UNEVALUATED_PROPERTIES_REMOVED, Type.UNEVALUATED_ITEMS_REMOVED);
  private static final Set<Type> VALUE_INCREASED = EnumSet.of(Type.MIN_LENGTH_INCREASED,
      Type.MINIMUM_INCREASED, Type.EXCLUSIVE_MINIMUM_INCREASED, Type.MIN_PROPERTIES_INCREASED,
      Type.MULTIPLE_OF_EXPANDED, Type.MIN_ITEMS_INCREASED, Type.MIN_CONTAINS_INCREASED);
  private static final Set<Type> VALUE_DECREASED = EnumSet.of(Type.MAX_LENGTH_DECREASED,
      Type.MAXIMUM_DECREASED, Type.MAX_ITEMS_DECREASED, Type.EXCLUSIVE_MAXIMUM_DECREASED,
      Type.MAX_PROPERTIES_DECREASED, Type.MAX_CONTAINS_DECREASED);
  private static final Set<Type> TYPE_NARROWED_SET = EnumSet.of(Type.ADDITIONAL_ITEMS_NARROWED,
      Type.ENUM_ARRAY_NARROWED, Type.SUM_TYPE_NARROWED, Type.ADDITIONAL_PROPERTIES_NARROWED,
      Type.UNEVALUATED_PROPERTIES_NARROWED, Type.UNEVALUATED_ITEMS_NARROWED);
  private static final Set<Type> VALUE_CHANGED = EnumSet.of(Type.PATTERN_CHANGED,
      Type.MULTIPLE_OF_CHANGED, Type.DEPENDENCY_ARRAY_CHANGED);
  private static final Set<Type> TYPE_CHANGED_SET = EnumSet.of(Type.TYPE_CHANGED, Type.TYPE_NARROWED,
      Type.COMBINED_TYPE_CHANGED, Type.COMBINED_TYPE_SUBSCHEMAS_CHANGED, Type.ENUM_ARRAY_CHANGED);
  private static final Set<Type> TYPE_EXTENDED_SET = EnumSet.of(Type.DEPENDENCY_ARRAY_EXTENDED,
      Type.PRODUCT_TYPE_EXTENDED, Type.SUM_TYPE_EXTENDED, Type.NOT_TYPE_EXTENDED);
  private static final Set<Type> ADDED_TO_OPEN = EnumSet.of(
      Type.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
      Type.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
      Type.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, Type.ITEM_ADDED_TO_OPEN_CONTENT_MODEL);

  /** One difference at a JSON path, with Confluent's description. */
  record Difference(Type type, String path) {

    String message(String newName, String oldName) {
      return "{errorType:\"" + type + "\", description:\"" + String.format(template(), newName, oldName) + "\"}";
    }

    private String template() {
      String p = path.replace("%", "%%");
      if (KEYWORD_ADDED_OR_REMOVED.contains(type)) {
        return "The keyword at path '" + p + "' in the %s schema is not present in the %s schema";
      } else if (VALUE_INCREASED.contains(type)) {
        return "The value at path '" + p + "' in the %s schema is more than its value in the %s schema";
      } else if (VALUE_DECREASED.contains(type)) {
        return "The value at path '" + p + "' in the %s schema is less than its value in the %s schema";
      } else if (VALUE_CHANGED.contains(type)) {
        return "The value at path '" + p + "' is different between the %s and %s schema";
      } else if (TYPE_NARROWED_SET.contains(type)) {
        return "An array or combined type at path '" + p + "' has fewer elements in the %s schema than the %s schema";
      } else if (TYPE_EXTENDED_SET.contains(type)) {
        return "An array or combined type at path '" + p + "' has more elements in the %s schema than the %s schema";
      } else if (TYPE_CHANGED_SET.contains(type)) {
        return "A type at path '" + p + "' is different between the %s schema and the %s schema";
      } else if (ADDED_TO_OPEN.contains(type)) {
        return "The %s schema has an open content model and has a property or item at path '" + p
            + "' which is missing in the %s schema";
      } else if (type == Type.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL) {
        return "The %s schema has an unopen content model and has a required property at path '" + p
            + "' which is missing in the %s schema";
      } else if (type == Type.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL
          || type == Type.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL) {
        return "The %s has a closed content model and is missing a property or item present at path '" + p
            + "' in the %s schema";
      } else if (type == Type.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
          || type == Type.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL) {
        return "A property or item is missing in the %s schema but present at path '" + p
            + "' in the %s schema and is not covered by its partially open content model";
      } else if (type == Type.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
          || type == Type.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL) {
        return "The %s schema has a property or item at path '" + p
            + "' which is missing in the %s schema and is not covered by its partially open content model";
      }
      return "%s %s";
    }
  }

  // ------------------------------------------------------------------ the model

  enum Kind { EMPTY, TRUE, FALSE, STRING, NUMBER, BOOLEAN, NULL, OBJECT, ARRAY, ENUM, CONST, COMBINED, NOT }

  /** A (sub)schema as Confluent's loader sees it. */
  static final class S {
    Kind kind;
    JsonNode node;            // the keywords (for EMPTY/TRUE/FALSE possibly a boolean)
    Documents docs;
    String doc;               // which document $refs resolve in
    // COMBINED
    String criterion;         // allOf | anyOf | oneOf
    List<S> subschemas = List.of();
    // NUMBER
    boolean requiresInteger;
    // ENUM
    List<JsonNode> values;

    JsonNode kw(String name) {
      return node.path(name);
    }

    boolean hasDefault() {
      return node.has("default");
    }
  }

  /** The schema's documents by name: the main one ("") and each reference. */
  static final class Documents {
    final Map<String, JsonNode> byName = new LinkedHashMap<>();
    final Map<JsonNode, Map<Boolean, S>> cache = new IdentityHashMap<>();

    JsonNode find(String docName) {
      if (docName == null || docName.isEmpty()) {
        return byName.get("");
      }
      JsonNode d = byName.get(docName);
      if (d != null) {
        return d;
      }
      String iri = JsonParsedSchema.iri(docName);
      for (Map.Entry<String, JsonNode> e : byName.entrySet()) {
        if (e.getKey().isEmpty()) {
          continue;
        }
        if (JsonParsedSchema.iri(e.getKey()).equals(iri) || e.getKey().endsWith("/" + docName)
            || iri.endsWith("/" + e.getKey()) || docName.equals(e.getValue().path("$id").asText(null))) {
          return e.getValue();
        }
      }
      return null;
    }
  }

  static Documents documents(JsonParsedSchema s) {
    Documents d = new Documents();
    d.byName.put("", s.jsonNode());
    for (Map.Entry<String, String> r : s.resolvedReferences().entrySet()) {
      try {
        d.byName.put(r.getKey(), new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.getValue()));
      } catch (Exception e) {
        throw new InvalidSchemaException("reference " + r.getKey() + " is not JSON: " + e.getMessage(), e);
      }
    }
    return d;
  }

  /** Loads a subschema: follows $ref (throwing when it cannot resolve), classifies by keywords. */
  static S load(Documents docs, String doc, JsonNode n) {
    return load(docs, doc, n, 0);
  }

  private static S load(Documents docs, String doc, JsonNode n, int depth) {
    while (n != null && n.isObject() && n.has("$ref")) {
      if (depth++ > 100) {
        throw new InvalidSchemaException("$ref chain too long at " + n);
      }
      String ref = n.get("$ref").asText();
      int hash = ref.indexOf('#');
      String target = hash < 0 ? ref : ref.substring(0, hash);
      String pointer = hash < 0 ? "" : ref.substring(hash + 1);
      String targetDoc = target.isEmpty() ? doc : target;
      JsonNode d = docs.find(targetDoc);
      if (d == null && !target.isEmpty()) {
        // a $ref to the main document's own $id
        JsonNode main = docs.byName.get("");
        if (target.equals(main.path("$id").asText(null))) {
          d = main;
          targetDoc = "";
        }
      }
      if (d == null) {
        throw new InvalidSchemaException("Unresolved $ref '" + ref + "' (no reference named " + target + ")");
      }
      JsonNode resolved = pointer.isEmpty() ? d : d.at(pointer.startsWith("/") ? pointer : "/" + pointer);
      if (resolved.isMissingNode()) {
        throw new InvalidSchemaException("Unresolved $ref '" + ref + "'");
      }
      doc = docs.byName.containsKey(targetDoc) ? targetDoc : keyOf(docs, d);
      n = resolved;
    }
    S s = new S();
    s.docs = docs;
    s.doc = doc;
    s.node = n == null ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : n;
    if (n == null || n.isMissingNode()) {
      s.kind = Kind.EMPTY;
      return s;
    }
    if (n.isBoolean()) {
      s.kind = n.asBoolean() ? Kind.TRUE : Kind.FALSE;
      return s;
    }
    List<S> parts = new ArrayList<>();
    // type-based part
    JsonNode type = n.get("type");
    if (type != null && type.isArray()) {
      List<S> alts = new ArrayList<>();
      for (JsonNode t : type) {
        alts.add(typed(docs, doc, n, t.asText()));
      }
      parts.add(alts.size() == 1 ? alts.get(0) : combined(docs, doc, n, "anyOf", alts));
    } else if (type != null && type.isTextual()) {
      parts.add(typed(docs, doc, n, type.asText()));
    } else {
      String implied = impliedType(n);
      if (implied != null) {
        parts.add(typed(docs, doc, n, implied));
      }
    }
    if (n.has("enum")) {
      S e = base(docs, doc, n, Kind.ENUM);
      e.values = new ArrayList<>();
      n.get("enum").forEach(e.values::add);
      parts.add(e);
    }
    if (n.has("const")) {
      S c = base(docs, doc, n, Kind.CONST);
      c.values = List.of(n.get("const"));
      parts.add(c);
    }
    if (n.has("not")) {
      parts.add(base(docs, doc, n, Kind.NOT));
    }
    for (String criterion : List.of("allOf", "anyOf", "oneOf")) {
      if (n.has(criterion) && n.get(criterion).isArray()) {
        List<S> subs = new ArrayList<>();
        for (JsonNode sub : n.get(criterion)) {
          subs.add(load(docs, doc, sub, depth));
        }
        parts.add(combined(docs, doc, n, criterion, subs));
      }
    }
    if (parts.isEmpty()) {
      s.kind = Kind.EMPTY;
      return s;
    }
    if (parts.size() == 1) {
      return parts.get(0);
    }
    return combined(docs, doc, n, "allOf", parts);
  }

  private static String keyOf(Documents docs, JsonNode d) {
    for (Map.Entry<String, JsonNode> e : docs.byName.entrySet()) {
      if (e.getValue() == d) {
        return e.getKey();
      }
    }
    return "";
  }

  private static S base(Documents docs, String doc, JsonNode n, Kind k) {
    S s = new S();
    s.docs = docs;
    s.doc = doc;
    s.node = n;
    s.kind = k;
    return s;
  }

  private static S combined(Documents docs, String doc, JsonNode n, String criterion, List<S> subs) {
    S c = base(docs, doc, n, Kind.COMBINED);
    c.criterion = criterion;
    c.subschemas = subs;
    return c;
  }

  private static S typed(Documents docs, String doc, JsonNode n, String type) {
    return switch (type) {
      case "string" -> base(docs, doc, n, Kind.STRING);
      case "number", "integer" -> {
        S s = base(docs, doc, n, Kind.NUMBER);
        s.requiresInteger = type.equals("integer");
        yield s;
      }
      case "boolean" -> base(docs, doc, n, Kind.BOOLEAN);
      case "null" -> base(docs, doc, n, Kind.NULL);
      case "object" -> base(docs, doc, n, Kind.OBJECT);
      case "array" -> base(docs, doc, n, Kind.ARRAY);
      default -> throw new InvalidSchemaException("unknown type " + type);
    };
  }

  private static String impliedType(JsonNode n) {
    for (String k : List.of("properties", "required", "additionalProperties", "patternProperties",
        "minProperties", "maxProperties", "dependencies", "dependentRequired", "dependentSchemas",
        "propertyNames")) {
      if (n.has(k)) {
        return "object";
      }
    }
    for (String k : List.of("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains")) {
      if (n.has(k)) {
        return "array";
      }
    }
    for (String k : List.of("minLength", "maxLength", "pattern", "format")) {
      if (n.has(k)) {
        return "string";
      }
    }
    for (String k : List.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")) {
      if (n.has(k)) {
        return "number";
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ comparison

  static final class Context {
    final List<Difference> diffs = new ArrayList<>();
    final Set<String> onStack;
    final StringBuilder path = new StringBuilder("#");

    Context(Set<String> onStack) {
      this.onStack = onStack;
    }

    Context sub() {
      Context c = new Context(onStack);
      c.path.setLength(0);
      c.path.append(path);
      return c;
    }

    void add(Type t) {
      diffs.add(new Difference(t, path.toString()));
    }

    void add(String attribute, Type t) {
      diffs.add(new Difference(t, path + "/" + attribute));
    }

    void addAll(List<Difference> ds) {
      diffs.addAll(ds);
    }

    boolean compatible() {
      return diffs.stream().allMatch(d -> COMPATIBLE_CHANGES.contains(d.type()));
    }

    int enter(String segment) {
      int len = path.length();
      path.append('/').append(segment);
      return len;
    }

    void leave(int len) {
      path.setLength(len);
    }
  }

  static List<Difference> compare(JsonParsedSchema original, JsonParsedSchema update) {
    Documents od = documents(original);
    Documents ud = documents(update);
    Context ctx = new Context(new HashSet<>());
    compare(ctx, load(od, "", original.jsonNode()), load(ud, "", update.jsonNode()));
    return ctx.diffs;
  }

  /** Checks that every $ref in the schema resolves. */
  static void checkRefs(JsonParsedSchema s) {
    Documents d = documents(s);
    walkRefs(d, "", s.jsonNode(), java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
  }

  private static void walkRefs(Documents d, String doc, JsonNode n, Set<JsonNode> seen) {
    if (n == null || !seen.add(n)) {
      return;
    }
    if (n.isObject() && n.has("$ref") && n.get("$ref").isTextual()) {
      load(d, doc, n);
    }
    if (n.isContainerNode()) {
      Iterator<Map.Entry<String, JsonNode>> it = n.isObject() ? n.fields() : null;
      if (it != null) {
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getKey().equals("enum") && !e.getKey().equals("const") && !e.getKey().equals("default")
              && !e.getKey().equals("examples")) {
            walkRefs(d, doc, e.getValue(), seen);
          }
        }
      } else {
        for (JsonNode c : n) {
          walkRefs(d, doc, c, seen);
        }
      }
    }
  }

  private static S child(S parent, JsonNode n) {
    if (n == null || n.isMissingNode() || n.isNull()) {
      return null;
    }
    return load(parent.docs, parent.doc, n);
  }

  static void compare(Context ctx, S original, S update) {
    if (original == null && update == null) {
      return;
    } else if (original == null) {
      ctx.add(Type.SCHEMA_ADDED);
      return;
    } else if (update == null) {
      ctx.add(Type.SCHEMA_REMOVED);
      return;
    }
    String key = System.identityHashCode(original.node) + ":" + original.kind + "/"
        + System.identityHashCode(update.node) + ":" + update.kind;
    if (!ctx.onStack.add(key)) {
      return; // a recursive schema: the pair is being compared further up
    }
    try {
      compareTypes(ctx, original, update);
    } finally {
      ctx.onStack.remove(key);
    }
  }

  private static void compareTypes(Context ctx, S original, S update) {
    if (original.kind != Kind.COMBINED && update.kind == Kind.COMBINED) {
      if (update.subschemas.size() == 1) {
        Context sub = ctx.sub();
        compare(sub, original, update.subschemas.get(0));
        if (sub.compatible()) {
          ctx.addAll(sub.diffs);
          return;
        }
      } else if (!update.criterion.equals("allOf")) {
        for (S s : update.subschemas) {
          Context sub = ctx.sub();
          compare(sub, original, s);
          if (sub.compatible()) {
            ctx.addAll(sub.diffs);
            ctx.add(Type.SUM_TYPE_EXTENDED);
            return;
          }
        }
      }
    } else if (original.kind == Kind.COMBINED && update.kind != Kind.COMBINED) {
      if (original.subschemas.size() == 1) {
        Context sub = ctx.sub();
        compare(sub, original.subschemas.get(0), update);
        if (sub.compatible()) {
          ctx.addAll(sub.diffs);
          return;
        }
      } else if (original.criterion.equals("allOf")) {
        for (S s : original.subschemas) {
          Context sub = ctx.sub();
          compare(sub, s, update);
          if (sub.compatible()) {
            ctx.addAll(sub.diffs);
            ctx.add(Type.PRODUCT_TYPE_NARROWED);
            return;
          }
        }
      }
    }

    if (original.kind != update.kind) {
      // FalseSchema accepts nothing; an EmptySchema (or true) accepts everything
      if (original.kind == Kind.FALSE || update.kind == Kind.EMPTY || update.kind == Kind.TRUE) {
        return;
      }
      if ("bytes".equals(original.kw("connect.type").asText(null))
          && "bytes".equals(update.kw("connect.type").asText(null))) {
        return;
      }
      ctx.add(Type.TYPE_CHANGED);
      return;
    }

    if (!Objects.equals(idOf(original), idOf(update))) {
      ctx.add(Type.ID_CHANGED);
    }
    if (!Objects.equals(original.kw("title"), update.kw("title"))) {
      ctx.add(Type.TITLE_CHANGED);
    }
    if (!Objects.equals(original.kw("description"), update.kw("description"))) {
      ctx.add(Type.DESCRIPTION_CHANGED);
    }
    if (!Objects.equals(original.kw("default"), update.kw("default"))) {
      ctx.add(Type.DEFAULT_CHANGED);
    }
    switch (original.kind) {
      case STRING -> compareString(ctx, original, update);
      case NUMBER -> compareNumber(ctx, original, update);
      case CONST -> {
        if (!original.values.equals(update.values)) {
          ctx.add("const", Type.ENUM_ARRAY_CHANGED);
        }
      }
      case ENUM -> {
        Set<JsonNode> o = new LinkedHashSet<>(original.values);
        Set<JsonNode> u = new LinkedHashSet<>(update.values);
        if (!o.equals(u)) {
          if (u.containsAll(o)) {
            ctx.add("enum", Type.ENUM_ARRAY_EXTENDED);
          } else if (o.containsAll(u)) {
            ctx.add("enum", Type.ENUM_ARRAY_NARROWED);
          } else {
            ctx.add("enum", Type.ENUM_ARRAY_CHANGED);
          }
        }
      }
      case COMBINED -> compareCombined(ctx, original, update);
      case NOT -> {
        int len = ctx.enter("not");
        Context sub = ctx.sub();
        compare(sub, child(update, update.kw("not")), child(original, original.kw("not")));
        ctx.add(sub.compatible() ? Type.NOT_TYPE_NARROWED : Type.NOT_TYPE_EXTENDED);
        ctx.leave(len);
      }
      case OBJECT -> compareObject(ctx, original, update);
      case ARRAY -> compareArray(ctx, original, update);
      default -> {
      }
    }
  }

  private static String idOf(S s) {
    JsonNode id = s.node.path("$id");
    if (id.isMissingNode()) {
      id = s.node.path("id");
    }
    return id.isTextual() ? id.asText() : null;
  }

  private static Integer intKw(S s, String name) {
    JsonNode n = s.kw(name);
    return n.isNumber() ? n.intValue() : null;
  }

  private static BigDecimal numKw(S s, String name) {
    JsonNode n = s.kw(name);
    return n.isNumber() ? n.decimalValue() : null;
  }

  private static void limits(Context ctx, String name, Number o, Number u, Type added, Type removed,
      Type increased, Type decreased) {
    if (o == null && u == null) {
      return;
    }
    if (o == null) {
      ctx.add(name, added);
    } else if (u == null) {
      ctx.add(name, removed);
    } else {
      int c = new BigDecimal(o.toString()).compareTo(new BigDecimal(u.toString()));
      if (c < 0) {
        ctx.add(name, increased);
      } else if (c > 0) {
        ctx.add(name, decreased);
      }
    }
  }

  private static void compareString(Context ctx, S o, S u) {
    limits(ctx, "maxLength", intKw(o, "maxLength"), intKw(u, "maxLength"), Type.MAX_LENGTH_ADDED,
        Type.MAX_LENGTH_REMOVED, Type.MAX_LENGTH_INCREASED, Type.MAX_LENGTH_DECREASED);
    limits(ctx, "minLength", intKw(o, "minLength"), intKw(u, "minLength"), Type.MIN_LENGTH_ADDED,
        Type.MIN_LENGTH_REMOVED, Type.MIN_LENGTH_INCREASED, Type.MIN_LENGTH_DECREASED);
    String op = o.kw("pattern").asText(null);
    String up = u.kw("pattern").asText(null);
    if (op == null && up != null) {
      ctx.add("pattern", Type.PATTERN_ADDED);
    } else if (op != null && up == null) {
      ctx.add("pattern", Type.PATTERN_REMOVED);
    } else if (op != null && !op.equals(up)) {
      ctx.add("pattern", Type.PATTERN_CHANGED);
    }
  }

  private static void compareNumber(Context ctx, S o, S u) {
    limits(ctx, "maximum", numKw(o, "maximum"), numKw(u, "maximum"), Type.MAXIMUM_ADDED,
        Type.MAXIMUM_REMOVED, Type.MAXIMUM_INCREASED, Type.MAXIMUM_DECREASED);
    limits(ctx, "minimum", numKw(o, "minimum"), numKw(u, "minimum"), Type.MINIMUM_ADDED,
        Type.MINIMUM_REMOVED, Type.MINIMUM_INCREASED, Type.MINIMUM_DECREASED);
    limits(ctx, "exclusiveMaximum", numKw(o, "exclusiveMaximum"), numKw(u, "exclusiveMaximum"),
        Type.EXCLUSIVE_MAXIMUM_ADDED, Type.EXCLUSIVE_MAXIMUM_REMOVED, Type.EXCLUSIVE_MAXIMUM_INCREASED,
        Type.EXCLUSIVE_MAXIMUM_DECREASED);
    limits(ctx, "exclusiveMinimum", numKw(o, "exclusiveMinimum"), numKw(u, "exclusiveMinimum"),
        Type.EXCLUSIVE_MINIMUM_ADDED, Type.EXCLUSIVE_MINIMUM_REMOVED, Type.EXCLUSIVE_MINIMUM_INCREASED,
        Type.EXCLUSIVE_MINIMUM_DECREASED);
    BigDecimal om = numKw(o, "multipleOf");
    BigDecimal um = numKw(u, "multipleOf");
    boolean equal = om == null ? um == null : um != null && om.compareTo(um) == 0;
    if (!equal) {
      if (om == null) {
        ctx.add("multipleOf", Type.MULTIPLE_OF_ADDED);
      } else if (um == null) {
        ctx.add("multipleOf", Type.MULTIPLE_OF_REMOVED);
      } else if (om.signum() != 0 && um.remainder(om).signum() == 0) {
        ctx.add("multipleOf", Type.MULTIPLE_OF_EXPANDED);
      } else if (um.signum() != 0 && om.remainder(um).signum() == 0) {
        ctx.add("multipleOf", Type.MULTIPLE_OF_REDUCED);
      } else {
        ctx.add("multipleOf", Type.MULTIPLE_OF_CHANGED);
      }
    }
    if (o.requiresInteger != u.requiresInteger) {
      ctx.add(o.requiresInteger ? Type.TYPE_EXTENDED : Type.TYPE_NARROWED);
    }
  }

  private static void compareCombined(Context ctx, S original, S update) {
    Type criteria = null;
    if (!original.criterion.equals(update.criterion)) {
      boolean os = original.subschemas.size() == 1;
      boolean us = update.subschemas.size() == 1;
      if (update.criterion.equals("anyOf") || (os && us) || (os && update.criterion.equals("oneOf"))
          || (us && original.criterion.equals("allOf"))) {
        criteria = Type.COMBINED_TYPE_EXTENDED;
      } else {
        criteria = Type.COMBINED_TYPE_CHANGED;
      }
      ctx.add(criteria);
    }
    if (criteria == Type.COMBINED_TYPE_CHANGED) {
      return;
    }
    List<S> os = distinct(original.subschemas);
    List<S> us = distinct(update.subschemas);
    if (os.size() < us.size()) {
      ctx.add(update.criterion.equals("allOf") ? Type.PRODUCT_TYPE_EXTENDED : Type.SUM_TYPE_EXTENDED);
    } else if (os.size() > us.size()) {
      ctx.add(original.criterion.equals("allOf") ? Type.PRODUCT_TYPE_NARROWED : Type.SUM_TYPE_NARROWED);
    }
    // compatible edges original i -> update j, with their differences
    Map<Integer, Map<Integer, List<Difference>>> edges = new HashMap<>();
    for (int i = 0; i < os.size(); i++) {
      int len = ctx.enter(original.criterion + "/" + i);
      for (int j = 0; j < us.size(); j++) {
        Context sub = ctx.sub();
        compare(sub, os.get(i), us.get(j));
        if (sub.compatible()) {
          edges.computeIfAbsent(i, k -> new HashMap<>()).put(j, sub.diffs);
        }
      }
      ctx.leave(len);
    }
    int[] matchOfUpdate = new int[us.size()];
    java.util.Arrays.fill(matchOfUpdate, -1);
    int matched = 0;
    for (int i = 0; i < os.size(); i++) {
      if (augment(i, edges, matchOfUpdate, new boolean[us.size()])) {
        matched++;
      }
    }
    for (int j = 0; j < us.size(); j++) {
      if (matchOfUpdate[j] >= 0) {
        ctx.addAll(edges.get(matchOfUpdate[j]).get(j));
      }
    }
    if (matched < Math.min(os.size(), us.size())) {
      ctx.add(Type.COMBINED_TYPE_SUBSCHEMAS_CHANGED);
    }
  }

  /** Kuhn's augmenting path for a maximum bipartite matching. */
  private static boolean augment(int i, Map<Integer, Map<Integer, List<Difference>>> edges,
      int[] matchOfUpdate, boolean[] seen) {
    for (int j : new TreeSet<>(edges.getOrDefault(i, Map.of()).keySet())) {
      if (seen[j]) {
        continue;
      }
      seen[j] = true;
      if (matchOfUpdate[j] < 0 || augment(matchOfUpdate[j], edges, matchOfUpdate, seen)) {
        matchOfUpdate[j] = i;
        return true;
      }
    }
    return false;
  }

  private static List<S> distinct(List<S> subs) {
    Map<String, S> out = new LinkedHashMap<>();
    for (S s : subs) {
      out.putIfAbsent(s.kind + ":" + (s.criterion == null ? "" : s.criterion) + ":" + s.node, s);
    }
    return new ArrayList<>(out.values());
  }

  // ---- objects

  private static Map<String, JsonNode> properties(S s) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    s.kw("properties").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  private static Set<String> required(S s) {
    Set<String> out = new LinkedHashSet<>();
    s.kw("required").forEach(n -> out.add(n.asText()));
    return out;
  }

  private static boolean permitsAdditional(S s, String keyword) {
    JsonNode a = s.kw(keyword);
    return !(a.isBoolean() && !a.asBoolean());
  }

  private static S schemaOfAdditional(S s, String keyword) {
    JsonNode a = s.kw(keyword);
    return a.isObject() ? load(s.docs, s.doc, a) : null;
  }

  /** The unevaluatedProperties/unevaluatedItems schema, or null when absent. */
  private static S unevaluated(S s, String keyword) {
    JsonNode u = s.kw(keyword);
    return u.isObject() || u.isBoolean() ? load(s.docs, s.doc, u) : null;
  }

  private static boolean isEmptySchema(S s) {
    return s != null && (s.kind == Kind.EMPTY || s.kind == Kind.TRUE);
  }

  private static boolean openObject(S s) {
    if (!permitsAdditional(s, "additionalProperties") || schemaOfAdditional(s, "additionalProperties") != null
        || s.kw("patternProperties").size() != 0) {
      return false;
    }
    S u = unevaluated(s, "unevaluatedProperties");
    return u == null || isEmptySchema(u);
  }

  private static S fromPartiallyOpen(S s, String property) {
    Iterator<Map.Entry<String, JsonNode>> it = s.kw("patternProperties").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (Pattern.compile(e.getKey()).matcher(property).find()) {
        return load(s.docs, s.doc, e.getValue());
      }
    }
    S additional = schemaOfAdditional(s, "additionalProperties");
    if (additional != null) {
      return additional;
    }
    if (permitsAdditional(s, "additionalProperties")) {
      S u = unevaluated(s, "unevaluatedProperties");
      if (u != null && u.kind != Kind.FALSE && !isEmptySchema(u)) {
        return u;
      }
    }
    return null;
  }

  /** Confluent's comparison of unevaluatedProperties / unevaluatedItems. */
  private static void compareUnevaluated(Context ctx, S original, S update, String keyword, Type added,
      Type removed, Type extended, Type narrowed) {
    S o = unevaluated(original, keyword);
    S u = unevaluated(update, keyword);
    if (o == null && u == null) {
      return;
    }
    int len = ctx.enter(keyword);
    if (o == null) {
      ctx.add(u.kind == Kind.FALSE ? removed : narrowed);
    } else if (u == null) {
      ctx.add(o.kind == Kind.FALSE ? added : extended);
    } else if (o.kind == Kind.FALSE && u.kind != Kind.FALSE) {
      ctx.add(added);
    } else if (o.kind != Kind.FALSE && u.kind == Kind.FALSE) {
      ctx.add(removed);
    } else if (isEmptySchema(o) && !isEmptySchema(u)) {
      ctx.add(narrowed);
    } else if (!isEmptySchema(o) && isEmptySchema(u)) {
      ctx.add(extended);
    } else {
      compare(ctx, o, u);
    }
    ctx.leave(len);
  }

  private static boolean hasDefault(S s) {
    return s != null && s.hasDefault();
  }

  private static void compareObject(Context ctx, S original, S update) {
    Map<String, JsonNode> op = properties(original);
    Map<String, JsonNode> up = properties(update);
    Set<String> oreq = required(original);
    Set<String> ureq = required(update);
    int len = ctx.enter("required");
    for (String p : op.keySet()) {
      if (up.containsKey(p)) {
        int l2 = ctx.enter(p);
        boolean o = oreq.contains(p);
        boolean u = ureq.contains(p);
        if (o && !u) {
          ctx.add(Type.REQUIRED_ATTRIBUTE_REMOVED);
        } else if (!o && u) {
          ctx.add(hasDefault(load(update.docs, update.doc, up.get(p)))
              ? Type.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED : Type.REQUIRED_ATTRIBUTE_ADDED);
        }
        ctx.leave(l2);
      }
    }
    ctx.leave(len);

    len = ctx.enter("properties");
    Set<String> all = new LinkedHashSet<>(op.keySet());
    all.addAll(up.keySet());
    for (String p : all) {
      int l2 = ctx.enter(p);
      S os = op.containsKey(p) ? load(original.docs, original.doc, op.get(p)) : null;
      S us = up.containsKey(p) ? load(update.docs, update.doc, up.get(p)) : null;
      if (us == null) {
        if (openObject(update)) {
          ctx.add(Type.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL);
        } else {
          S partial = fromPartiallyOpen(update, p);
          if (partial != null) {
            Context sub = ctx.sub();
            compare(sub, os, partial);
            ctx.addAll(sub.diffs);
            ctx.add(sub.compatible() ? Type.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                : Type.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
          } else if (os.kind == Kind.FALSE) {
            ctx.add(Type.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL);
          } else {
            ctx.add(Type.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL);
          }
        }
      } else if (os == null) {
        if (openObject(original)) {
          if (us.kind == Kind.EMPTY || us.kind == Kind.TRUE) {
            ctx.add(Type.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL);
          } else if (ureq.contains(p)) {
            ctx.add(us.hasDefault() ? Type.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL
                : Type.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL);
          } else {
            ctx.add(Type.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL);
          }
        } else {
          S partial = fromPartiallyOpen(original, p);
          if (partial != null) {
            Context sub = ctx.sub();
            compare(sub, partial, us);
            ctx.addAll(sub.diffs);
            ctx.add(sub.compatible() ? Type.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                : Type.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
          }
          if (ureq.contains(p)) {
            ctx.add(us.hasDefault() ? Type.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
                : Type.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL);
          } else {
            ctx.add(Type.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL);
          }
        }
      } else {
        compare(ctx, os, us);
      }
      ctx.leave(l2);
    }
    ctx.leave(len);

    len = ctx.enter("dependencies");
    Map<String, Set<String>> odeps = propertyDependencies(original);
    Map<String, Set<String>> udeps = propertyDependencies(update);
    Set<String> keys = new LinkedHashSet<>(odeps.keySet());
    keys.addAll(udeps.keySet());
    for (String k : keys) {
      int l2 = ctx.enter(k);
      Set<String> o = odeps.get(k);
      Set<String> u = udeps.get(k);
      if (u == null) {
        ctx.add(Type.DEPENDENCY_ARRAY_REMOVED);
      } else if (o == null) {
        ctx.add(Type.DEPENDENCY_ARRAY_ADDED);
      } else if (!o.equals(u)) {
        ctx.add(u.containsAll(o) ? Type.DEPENDENCY_ARRAY_EXTENDED
            : o.containsAll(u) ? Type.DEPENDENCY_ARRAY_NARROWED : Type.DEPENDENCY_ARRAY_CHANGED);
      }
      ctx.leave(l2);
    }
    Map<String, JsonNode> osd = schemaDependencies(original);
    Map<String, JsonNode> usd = schemaDependencies(update);
    keys = new LinkedHashSet<>(osd.keySet());
    keys.addAll(usd.keySet());
    for (String k : keys) {
      int l2 = ctx.enter(k);
      if (!usd.containsKey(k)) {
        ctx.add(Type.DEPENDENCY_SCHEMA_REMOVED);
      } else if (!osd.containsKey(k)) {
        ctx.add(Type.DEPENDENCY_SCHEMA_ADDED);
      } else {
        compare(ctx, load(original.docs, original.doc, osd.get(k)), load(update.docs, update.doc, usd.get(k)));
      }
      ctx.leave(l2);
    }
    ctx.leave(len);

    len = ctx.enter("additionalProperties");
    boolean opa = permitsAdditional(original, "additionalProperties");
    boolean upa = permitsAdditional(update, "additionalProperties");
    S oas = schemaOfAdditional(original, "additionalProperties");
    S uas = schemaOfAdditional(update, "additionalProperties");
    if (opa != upa) {
      ctx.add(upa ? Type.ADDITIONAL_PROPERTIES_ADDED : Type.ADDITIONAL_PROPERTIES_REMOVED);
    } else if (oas == null && uas != null) {
      ctx.add(Type.ADDITIONAL_PROPERTIES_NARROWED);
    } else if (uas == null && oas != null) {
      ctx.add(Type.ADDITIONAL_PROPERTIES_EXTENDED);
    } else {
      compare(ctx, oas, uas);
    }
    ctx.leave(len);
    compareUnevaluated(ctx, original, update, "unevaluatedProperties", Type.UNEVALUATED_PROPERTIES_ADDED,
        Type.UNEVALUATED_PROPERTIES_REMOVED, Type.UNEVALUATED_PROPERTIES_EXTENDED, Type.UNEVALUATED_PROPERTIES_NARROWED);

    limits(ctx, "maxProperties", intKw(original, "maxProperties"), intKw(update, "maxProperties"),
        Type.MAX_PROPERTIES_ADDED, Type.MAX_PROPERTIES_REMOVED, Type.MAX_PROPERTIES_INCREASED,
        Type.MAX_PROPERTIES_DECREASED);
    limits(ctx, "minProperties", intKw(original, "minProperties"), intKw(update, "minProperties"),
        Type.MIN_PROPERTIES_ADDED, Type.MIN_PROPERTIES_REMOVED, Type.MIN_PROPERTIES_INCREASED,
        Type.MIN_PROPERTIES_DECREASED);
  }

  private static Map<String, Set<String>> propertyDependencies(S s) {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    for (String kw : List.of("dependencies", "dependentRequired")) {
      s.kw(kw).fields().forEachRemaining(e -> {
        if (e.getValue().isArray()) {
          Set<String> v = new LinkedHashSet<>();
          e.getValue().forEach(x -> v.add(x.asText()));
          out.put(e.getKey(), v);
        }
      });
    }
    return out;
  }

  private static Map<String, JsonNode> schemaDependencies(S s) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    for (String kw : List.of("dependencies", "dependentSchemas")) {
      s.kw(kw).fields().forEachRemaining(e -> {
        if (!e.getValue().isArray()) {
          out.put(e.getKey(), e.getValue());
        }
      });
    }
    return out;
  }

  // ---- arrays

  private static List<JsonNode> itemSchemas(S s) {
    List<JsonNode> out = new ArrayList<>();
    JsonNode tuple = s.kw("prefixItems").isArray() ? s.kw("prefixItems")
        : s.kw("items").isArray() ? s.kw("items") : null;
    if (tuple != null) {
      tuple.forEach(out::add);
    }
    return out;
  }

  private static S allItems(S s) {
    if (s.kw("prefixItems").isArray()) {
      return null;
    }
    JsonNode items = s.kw("items");
    return items.isObject() || items.isBoolean() ? load(s.docs, s.doc, items) : null;
  }

  private static String additionalItemsKeyword(S s) {
    return s.kw("prefixItems").isArray() ? "items" : "additionalItems";
  }

  private static boolean openArray(S s) {
    String kw = additionalItemsKeyword(s);
    if (!permitsAdditional(s, kw) || schemaOfAdditional(s, kw) != null) {
      return false;
    }
    S u = unevaluated(s, "unevaluatedItems");
    return u == null || isEmptySchema(u);
  }

  private static S partialItems(S s) {
    String kw = additionalItemsKeyword(s);
    S additional = schemaOfAdditional(s, kw);
    if (additional != null) {
      return additional;
    }
    if (permitsAdditional(s, kw)) {
      S u = unevaluated(s, "unevaluatedItems");
      if (u != null && u.kind != Kind.FALSE && !isEmptySchema(u)) {
        return u;
      }
    }
    return null;
  }

  private static void compareArray(Context ctx, S original, S update) {
    int len = ctx.enter("items");
    compare(ctx, allItems(original), allItems(update));
    ctx.leave(len);

    List<JsonNode> oi = itemSchemas(original);
    List<JsonNode> ui = itemSchemas(update);
    int common = Math.min(oi.size(), ui.size());
    for (int i = 0; i < Math.max(oi.size(), ui.size()); i++) {
      int l2 = ctx.enter("items/" + i);
      if (i < common) {
        compare(ctx, load(original.docs, original.doc, oi.get(i)), load(update.docs, update.doc, ui.get(i)));
      } else if (i < oi.size()) {
        S os = load(original.docs, original.doc, oi.get(i));
        if (openArray(update)) {
          ctx.add(Type.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL);
        } else {
          S partial = partialItems(update);
          if (partial != null) {
            Context sub = ctx.sub();
            compare(sub, os, partial);
            ctx.addAll(sub.diffs);
            ctx.add(sub.compatible() ? Type.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                : Type.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
          } else {
            ctx.add(os.kind == Kind.FALSE ? Type.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
                : Type.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL);
          }
        }
      } else {
        S us = load(update.docs, update.doc, ui.get(i));
        if (openArray(original)) {
          ctx.add(us.kind == Kind.EMPTY || us.kind == Kind.TRUE
              ? Type.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL : Type.ITEM_ADDED_TO_OPEN_CONTENT_MODEL);
        } else {
          S partial = partialItems(original);
          if (partial != null) {
            Context sub = ctx.sub();
            compare(sub, partial, us);
            ctx.addAll(sub.diffs);
            ctx.add(sub.compatible() ? Type.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                : Type.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
          } else {
            ctx.add(Type.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL);
          }
        }
      }
      ctx.leave(l2);
    }

    String okw = additionalItemsKeyword(original);
    String ukw = additionalItemsKeyword(update);
    len = ctx.enter("additionalItems");
    boolean opa = permitsAdditional(original, okw);
    boolean upa = permitsAdditional(update, ukw);
    S oas = oi.isEmpty() && okw.equals("items") ? null : schemaOfAdditional(original, okw);
    S uas = ui.isEmpty() && ukw.equals("items") ? null : schemaOfAdditional(update, ukw);
    if (opa != upa) {
      ctx.add(opa ? Type.ADDITIONAL_ITEMS_REMOVED : Type.ADDITIONAL_ITEMS_ADDED);
    } else if (oas == null && uas != null) {
      ctx.add(Type.ADDITIONAL_ITEMS_NARROWED);
    } else if (uas == null && oas != null) {
      ctx.add(Type.ADDITIONAL_ITEMS_EXTENDED);
    } else {
      compare(ctx, oas, uas);
    }
    ctx.leave(len);
    compareUnevaluated(ctx, original, update, "unevaluatedItems", Type.UNEVALUATED_ITEMS_ADDED,
        Type.UNEVALUATED_ITEMS_REMOVED, Type.UNEVALUATED_ITEMS_EXTENDED, Type.UNEVALUATED_ITEMS_NARROWED);

    limits(ctx, "maxItems", intKw(original, "maxItems"), intKw(update, "maxItems"), Type.MAX_ITEMS_ADDED,
        Type.MAX_ITEMS_REMOVED, Type.MAX_ITEMS_INCREASED, Type.MAX_ITEMS_DECREASED);
    limits(ctx, "minItems", intKw(original, "minItems"), intKw(update, "minItems"), Type.MIN_ITEMS_ADDED,
        Type.MIN_ITEMS_REMOVED, Type.MIN_ITEMS_INCREASED, Type.MIN_ITEMS_DECREASED);
    limits(ctx, "maxContains", intKw(original, "maxContains"), intKw(update, "maxContains"), Type.MAX_CONTAINS_ADDED,
        Type.MAX_CONTAINS_REMOVED, Type.MAX_CONTAINS_INCREASED, Type.MAX_CONTAINS_DECREASED);
    limits(ctx, "minContains", intKw(original, "minContains"), intKw(update, "minContains"), Type.MIN_CONTAINS_ADDED,
        Type.MIN_CONTAINS_REMOVED, Type.MIN_CONTAINS_INCREASED, Type.MIN_CONTAINS_DECREASED);
    boolean ou = original.kw("uniqueItems").asBoolean(false);
    boolean uu = update.kw("uniqueItems").asBoolean(false);
    if (ou != uu) {
      ctx.add("uniqueItems", ou ? Type.UNIQUE_ITEMS_REMOVED : Type.UNIQUE_ITEMS_ADDED);
    }
  }
}
