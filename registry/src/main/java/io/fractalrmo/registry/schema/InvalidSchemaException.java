package io.fractalrmo.registry.schema;

/** A schema text that does not parse, does not validate, or names a reference that is not given. */
public final class InvalidSchemaException extends RuntimeException {

  public InvalidSchemaException(String message) {
    super(message);
  }

  public InvalidSchemaException(String message, Throwable cause) {
    super(message, cause);
  }
}
