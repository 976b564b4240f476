package io.fractalrmo.runtime;

/**
 * Thrown by a processor to ask the loop for a retry with backoff (classified
 * {@link FailureKind#TRANSIENT}), e.g. "topic not created yet", "a record's schema could not be
 * fetched".
 */
public class TransientException extends RuntimeException {
  public TransientException(String message) {
    super(message);
  }

  public TransientException(String message, Throwable cause) {
    super(message, cause);
  }
}
