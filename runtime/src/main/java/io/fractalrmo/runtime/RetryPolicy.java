package io.fractalrmo.runtime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * How long transient failures are retried, as Kafka Connect's {@code RetryWithToleranceOperator}
 * does it: a time deadline, not a count, measured from the first failure of a run of failures;
 * doubling backoff from {@code initialBackoff} up to {@code maxBackoff}, jittered (each delay is
 * drawn from the upper half of its step, so instances that failed together do not retry in step)
 * and clipped to the deadline. A success ends the run.
 *
 * @param initialBackoff first delay
 * @param maxBackoff longest single delay
 * @param timeout how long a run of failures may last before it is given up (fatal)
 */
public record RetryPolicy(Duration initialBackoff, Duration maxBackoff, Duration timeout) {

  public RetryPolicy {
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    Objects.requireNonNull(timeout, "timeout");
    if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0
        || timeout.isNegative()) {
      throw new IllegalArgumentException("retry policy needs 0 <= initial <= max and timeout >= 0,"
          + " was " + initialBackoff + ", " + maxBackoff + ", " + timeout);
    }
  }

  /** 100 ms doubling to 5 s, for up to 2 minutes. */
  public static RetryPolicy defaults() {
    return new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(5), Duration.ofMinutes(2));
  }

  public RetryPolicy withTimeout(Duration t) {
    return new RetryPolicy(initialBackoff, maxBackoff, t);
  }

  public RetryPolicy withBackoff(Duration initial, Duration max) {
    return new RetryPolicy(initial, max, timeout);
  }

  /** A run of retries on the system clock. */
  public Retry start() {
    return new Retry(this, System::nanoTime, ThreadLocalRandom.current());
  }

  /** A run of retries on an injected clock (nanoseconds) and random source, for tests. */
  public Retry start(LongSupplier nanoTime, RandomGenerator random) {
    return new Retry(this, nanoTime, random);
  }

  /** The state of one run of failures; not thread-safe (one per loop). */
  public static final class Retry {
    private final RetryPolicy policy;
    private final LongSupplier nanoTime;
    private final RandomGenerator random;
    private long firstFailureAt = -1;
    private int attempts;

    Retry(RetryPolicy policy, LongSupplier nanoTime, RandomGenerator random) {
      this.policy = policy;
      this.nanoTime = nanoTime;
      this.random = random;
    }

    /**
     * Records a failure. Returns the delay before the next attempt, or empty when the run has
     * lasted longer than the policy's timeout (give up).
     */
    public Optional<Duration> nextDelay() {
      long now = nanoTime.getAsLong();
      if (firstFailureAt < 0) {
        firstFailureAt = now;
      }
      attempts++;
      long left = policy.timeout().toNanos() - (now - firstFailureAt);
      if (left <= 0) {
        return Optional.empty();
      }
      long step = policy.initialBackoff().toNanos() << Math.min(attempts - 1, 30);
      if (step <= 0 || step > policy.maxBackoff().toNanos()) {
        step = policy.maxBackoff().toNanos();
      }
      long delay = step / 2 + (step / 2 > 0 ? random.nextLong(step / 2 + 1) : 0);
      return Optional.of(Duration.ofNanos(Math.min(delay, left)));
    }

    /** A success: the next failure starts a new run. */
    public void reset() {
      firstFailureAt = -1;
      attempts = 0;
    }

    public boolean retrying() {
      return firstFailureAt >= 0;
    }

    /** Failures in the current run. */
    public int attempts() {
      return attempts;
    }

    /** Time since the first failure of the current run (zero when none). */
    public Duration elapsed() {
      return firstFailureAt < 0 ? Duration.ZERO
          : Duration.ofNanos(nanoTime.getAsLong() - firstFailureAt);
    }
  }
}
