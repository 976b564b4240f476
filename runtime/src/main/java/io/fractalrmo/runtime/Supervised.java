package io.fractalrmo.runtime;

/**
 * Something whose health an owner checks each cycle (a helper thread: a rule cache's follower, a
 * worker's handler slots, a status heartbeat): when it is FAILED the owner fails too, with
 * {@link #failure()} as the cause, so a helper cannot die unnoticed (parallel-consumer's
 * {@code supervisorLoop}). A DEGRADED helper makes its owner DEGRADED with the helper's reason.
 */
public interface Supervised {

  /** Used in the owner's reason and log, e.g. {@code rule cache on fractal.protocol-rules}. */
  String name();

  HealthState.Snapshot health();

  /** Why it failed, once FAILED; null otherwise. */
  Throwable failure();
}
