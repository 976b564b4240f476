package io.fractalrmo.registry.client;

import io.fractalrmo.registry.schema.SchemaReference;
import java.util.List;

/** A schema as the registry stores it: its id, type (AVRO, JSON, PROTOBUF), text and references. */
public record RegisteredSchema(int id, String schemaType, String schema, List<SchemaReference> references) {

  public RegisteredSchema {
    references = List.copyOf(references);
  }
}
