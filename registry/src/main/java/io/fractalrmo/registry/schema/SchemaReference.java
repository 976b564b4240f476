package io.fractalrmo.registry.schema;

/**
 * Confluent's schema reference: the {@code name} a schema uses for another schema (an Avro full
 * type name, a JSON Schema {@code $ref} URL, a Protobuf import path), and the subject and version
 * under which that other schema is registered.
 */
public record SchemaReference(String name, String subject, int version) {
}
