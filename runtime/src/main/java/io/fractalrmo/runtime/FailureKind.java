package io.fractalrmo.runtime;

/** How a failure is handled: see {@link Failures#classify(Throwable)}. */
public enum FailureKind {
  /** Says nothing about the record: the broker, registry or database could not be reached. Retry. */
  TRANSIENT,
  /** This client or instance cannot go on (not authorized, fenced, unsupported): stop. */
  FATAL,
  /** About the record itself (does not deserialize, breaks a contract): set it aside (DLQ). */
  POISON
}
