package io.fractalrmo.connectors.outbox;

/** A task document that does not satisfy the Task contract; the message says why. */
public final class InvalidTaskException extends Exception {
  public InvalidTaskException(String reason) {
    super(reason);
  }

  public InvalidTaskException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
