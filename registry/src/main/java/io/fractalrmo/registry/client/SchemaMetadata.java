package io.fractalrmo.registry.client;

/** One version of a subject as the registry returns it. */
public record SchemaMetadata(String subject, int version, int id, String schema) {
}
