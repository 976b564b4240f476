package io.fractalrmo.registry.schema;

import java.util.List;

/**
 * A parsed schema of one of the registry's types (AVRO, JSON, PROTOBUF) with its references
 * resolved. Its canonical string is what the registry stores and compares; two schemas with the
 * same canonical string (and references) are the same schema and get one id.
 */
public interface ParsedSchema {

  /** AVRO, JSON or PROTOBUF, as Confluent spells them. */
  String schemaType();

  /** The form stored and compared: the library's own printing of the parsed schema. */
  String canonicalString();

  /**
   * The normalized form ({@code normalize=true}): equivalent schemas that differ only in
   * presentation (key order, namespace placement, option order) normalize to the same text.
   */
  ParsedSchema normalize();

  /**
   * Whether this schema can read data written with {@code previous} (Confluent's "backward"
   * direction). Returns the incompatibilities, empty when compatible; each message is Confluent's
   * {@code {errorType:..., description:...}} with {@code thisName}/{@code previousName} ("new",
   * "old") filled into the description.
   */
  List<String> isBackwardCompatible(ParsedSchema previous, String thisName, String previousName);
}
