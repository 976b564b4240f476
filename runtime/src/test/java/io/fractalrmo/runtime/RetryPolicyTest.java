package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Deadline-based, jittered, doubling backoff on an injected clock. */
class RetryPolicyTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  @Test
  void shouldDoubleTheBackoffUpToTheMaximumAndGiveUpAtTheDeadline() {
    RetryPolicy policy = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(1),
        Duration.ofSeconds(3));
    RetryPolicy.Retry retry = policy.start(now::get, RandomGenerator.of("L64X128MixRandom"));
    long total = 0;
    long previousStep = 0;
    for (int i = 0; i < 100; i++) {
      Optional<Duration> d = retry.nextDelay();
      if (d.isEmpty()) {
        break;
      }
      long nanos = d.get().toNanos();
      long step = Duration.ofMillis(Math.min(1_000, 100L << i)).toNanos();
      long left = Duration.ofSeconds(3).toNanos() - total;
      assertThat(nanos).as("attempt %d within the upper half of its step", i + 1)
          .isBetween(Math.min(step / 2, left), Math.min(step, left));
      assertThat(step).isGreaterThanOrEqualTo(previousStep);
      previousStep = step;
      total += nanos;
      now.addAndGet(d.get().toNanos());
    }
    assertThat(retry.nextDelay()).as("past the deadline").isEmpty();
    assertThat(total).as("the delays never wait past the deadline")
        .isLessThanOrEqualTo(Duration.ofSeconds(3).toNanos());
  }

  @Test
  void shouldStartAFreshRunAfterASuccess() {
    RetryPolicy.Retry retry = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(1),
        Duration.ofSeconds(1)).start(now::get, RandomGenerator.of("L64X128MixRandom"));
    retry.nextDelay();
    now.addAndGet(Duration.ofSeconds(5).toNanos());
    retry.reset();
    assertThat(retry.retrying()).isFalse();
    assertThat(retry.nextDelay()).as("a new run has its own deadline").isPresent();
    assertThat(retry.attempts()).isEqualTo(1);
  }

  @Property
  void delaysAreNeverNegativeNorBeyondTheDeadline(@ForAll @IntRange(min = 1, max = 40) int fails,
      @ForAll @LongRange(min = 1, max = 10_000) long timeoutMs,
      @ForAll @LongRange(min = 0, max = 500) long initialMs) {
    AtomicLong clock = new AtomicLong();
    RetryPolicy.Retry retry = new RetryPolicy(Duration.ofMillis(initialMs),
        Duration.ofMillis(initialMs + 1_000), Duration.ofMillis(timeoutMs))
        .start(clock::get, RandomGenerator.of("L64X128MixRandom"));
    for (int i = 0; i < fails; i++) {
      Optional<Duration> d = retry.nextDelay();
      if (d.isEmpty()) {
        assertThat(clock.get()).isGreaterThanOrEqualTo(Duration.ofMillis(timeoutMs).toNanos());
        return;
      }
      assertThat(d.get().isNegative()).isFalse();
      clock.addAndGet(d.get().toNanos());
      assertThat(clock.get()).isLessThanOrEqualTo(Duration.ofMillis(timeoutMs).toNanos());
    }
  }
}
