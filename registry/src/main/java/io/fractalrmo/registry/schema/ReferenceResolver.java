package io.fractalrmo.registry.schema;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves a schema's references to their texts, transitively, dependencies before dependants
 * (so an Avro parser meets a named type before its use). The lookup is the registry's or a
 * client's: (subject, version) to the referenced schema's text and its own references.
 */
public final class ReferenceResolver {

  /** What a reference points at. */
  public record Referenced(String schema, List<SchemaReference> references) {
  }

  /** Fetches one registered version; throws for a missing one. */
  @FunctionalInterface
  public interface Lookup {
    Referenced get(String subject, int version);
  }

  private ReferenceResolver() {
  }

  public static Map<String, String> resolve(List<SchemaReference> references, Lookup lookup) {
    Map<String, String> out = new LinkedHashMap<>();
    for (SchemaReference r : references) {
      visit(r, lookup, out, 0);
    }
    return out;
  }

  private static void visit(SchemaReference r, Lookup lookup, Map<String, String> out, int depth) {
    if (out.containsKey(r.name())) {
      return;
    }
    if (depth > 64) {
      throw new InvalidSchemaException("references nest deeper than 64 levels at " + r.name());
    }
    Referenced target = lookup.get(r.subject(), r.version());
    for (SchemaReference inner : target.references()) {
      visit(inner, lookup, out, depth + 1);
    }
    out.put(r.name(), target.schema());
  }
}
