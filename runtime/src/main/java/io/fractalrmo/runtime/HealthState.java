package io.fractalrmo.runtime;

import io.fractalrmo.contracts.AgentHealth;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The health of one loop (or of anything supervised): {@code STARTING} until it serves its
 * input, {@code RUNNING}, {@code DEGRADED} while it retries a transient failure or waits for a
 * dependency, {@code FAILED} once it stopped on a fatal error, {@code STOPPED} after a clean stop.
 * Thread-safe; listeners hear every change of state or reason, on the thread that made it.
 * FAILED and STOPPED are final.
 */
public final class HealthState {

  /** Reasons are for people and for one AgentStatus field: bounded. */
  public static final int MAX_REASON = 500;

  /** One reading: the state, why it is not RUNNING (null when it is), and since when. */
  public record Snapshot(AgentHealth health, String reason, Instant since) {
    public boolean isFinal() {
      return health == AgentHealth.FAILED || health == AgentHealth.STOPPED;
    }

    @Override
    public String toString() {
      return reason == null ? health.name() : health + " (" + reason + ")";
    }
  }

  private final List<Consumer<Snapshot>> listeners = new CopyOnWriteArrayList<>();
  private volatile Snapshot current;

  public HealthState() {
    this.current = new Snapshot(AgentHealth.STARTING, null, Instant.now());
  }

  public Snapshot get() {
    return current;
  }

  public AgentHealth health() {
    return current.health();
  }

  /** Moves to {@code health} with {@code reason}; false when nothing changed or already final. */
  public boolean set(AgentHealth health, String reason) {
    Objects.requireNonNull(health, "health");
    String bounded = reason == null || reason.length() <= MAX_REASON ? reason
        : reason.substring(0, MAX_REASON);
    Snapshot next;
    synchronized (this) {
      Snapshot was = current;
      if (was.isFinal() || (was.health() == health && Objects.equals(was.reason(), bounded))) {
        return false;
      }
      next = new Snapshot(health, bounded, Instant.now());
      current = next;
    }
    for (Consumer<Snapshot> l : listeners) {
      l.accept(next);
    }
    return true;
  }

  public void onChange(Consumer<Snapshot> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }
}
