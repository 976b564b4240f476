package io.fractalrmo.registry.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * Confluent's compatibility levels, checked with Avro's own {@link SchemaCompatibility}.
 * BACKWARD: the new schema reads data written with the old; FORWARD: the old reads the new;
 * FULL: both. The transitive variants check against every live version, the others against the
 * latest only.
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
  List<String> check(Schema candidate, List<Schema> existing) {
    List<String> messages = new ArrayList<>();
    if (this == NONE || existing.isEmpty()) {
      return messages;
    }
    List<Schema> against = transitive() ? existing : List.of(existing.get(existing.size() - 1));
    for (Schema old : against) {
      if (this != FORWARD && this != FORWARD_TRANSITIVE) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(candidate, old), "new schema cannot read data written with an earlier schema", messages);
      }
      if (this != BACKWARD && this != BACKWARD_TRANSITIVE) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(old, candidate), "an earlier schema cannot read data written with the new schema", messages);
      }
    }
    return messages;
  }

  private static void describe(SchemaCompatibility.SchemaPairCompatibility pair, String direction,
      List<String> out) {
    if (pair.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    for (SchemaCompatibility.Incompatibility i : pair.getResult().getIncompatibilities()) {
      out.add("{errorType:'" + i.getType() + "', description:'" + direction + ": " + i.getMessage()
          + "', location:'" + i.getLocation() + "'}");
    }
  }
}
