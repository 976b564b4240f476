package io.fractalrmo.runtime;

/**
 * Thrown by a processor to stop its loop at once (classified {@link FailureKind#FATAL}): the loop
 * ends FAILED with this as its failure, and the role exits non-zero so a supervisor restarts it.
 */
public class FatalException extends RuntimeException {
  public FatalException(String message) {
    super(message);
  }

  public FatalException(String message, Throwable cause) {
    super(message, cause);
  }
}
