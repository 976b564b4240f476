package io.fractalrmo.registry.server;

import io.fractalrmo.registry.schema.ParsedSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Confluent's compatibility levels over any schema type: BACKWARD means the new schema reads data
 * written with the old ({@code new.isBackwardCompatible(old)}), FORWARD the old reads the new
 * ({@code old.isBackwardCompatible(new)}), FULL both. The transitive variants check against every
 * live version, the others against the latest only. Each type decides with its own rules
 * (Avro's SchemaCompatibility, Confluent's JSON Schema and Protobuf rules).
 */
enum CompatibilityLevel {
  NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE;

  static CompatibilityLevel parse(String s) {
    if (s == null) {
      throw RegistryException.invalidCompatibility("null");
    }
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalidCompatibility(s);
    }
  }

  boolean transitive() {
    return this == BACKWARD_TRANSITIVE || this == FORWARD_TRANSITIVE || this == FULL_TRANSITIVE;
  }

  /**
   * Checks {@code candidate} against {@code existing} (oldest first); returns the incompatibilities
   * found, empty when compatible. Non-transitive levels look at the last element only.
   */
  List<String> check(ParsedSchema candidate, List<ParsedSchema> existing) {
    List<String> messages = new ArrayList<>();
    if (this == NONE || existing.isEmpty()) {
      return messages;
    }
    List<ParsedSchema> against = transitive() ? existing : List.of(existing.get(existing.size() - 1));
    // newest first, as Confluent reports them
    for (int i = against.size() - 1; i >= 0; i--) {
      ParsedSchema old = against.get(i);
      if (this != FORWARD && this != FORWARD_TRANSITIVE) {
        messages.addAll(candidate.isBackwardCompatible(old, "new", "old"));
      }
      if (this != BACKWARD && this != BACKWARD_TRANSITIVE) {
        messages.addAll(old.isBackwardCompatible(candidate, "old", "new"));
      }
    }
    return messages;
  }
}
