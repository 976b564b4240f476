package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The start-up wait of the streams role on a simulated clock that advances one second each time
 * it is read: a start that keeps restoring is waited for, a stuck one fails after the stall
 * timeout, a terminal state at once, and a start that progresses forever at the cap.
 */
class StartWatchTest {

  private static final TopicPartition CHANGELOG = new TopicPartition("app-store-changelog", 0);

  /** A clock that advances 1 s per read and lets the test act at a given simulated second. */
  private static final class SteppingClock {
    long seconds;
    final AtomicReference<LongConsumer> onTick = new AtomicReference<>(s -> { });

    long read() {
      seconds++;
      onTick.get().accept(seconds);
      return seconds * 1_000_000_000L;
    }
  }

  @Test
  void shouldReturnRunningAsSoonAsTheApplicationRuns() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(600), clock::read, nanos -> { });
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    watch.onStateChange(KafkaStreams.State.RUNNING);

    assertThat(watch.await(Duration.ofSeconds(15), s -> { })).isEqualTo(StartWatch.Outcome.RUNNING);
  }

  @Test
  void shouldFailAtOnceWhenTheApplicationGoesToError() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(600), clock::read, nanos -> { });
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    watch.onStateChange(KafkaStreams.State.PENDING_ERROR);

    assertThat(watch.await(Duration.ofSeconds(15), s -> { })).isEqualTo(StartWatch.Outcome.FAILED);
    assertThat(clock.seconds).isLessThan(10);
  }

  @Test
  void shouldFailAfterTheStallTimeoutWhenNothingProgresses() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(600), clock::read, nanos -> { });
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    List<String> reports = new ArrayList<>();

    assertThat(watch.await(Duration.ofSeconds(15), reports::add))
        .isEqualTo(StartWatch.Outcome.STALLED);
    assertThat(clock.seconds).isBetween(60L, 70L);
    assertThat(reports).isNotEmpty().allMatch(r -> r.startsWith("state REBALANCING"));
    assertThat(watch.describe()).contains("restored 0 of 0 changelog records");
  }

  @Test
  void shouldKeepWaitingPastTheStallTimeoutWhileStoresAreRestored() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(600), clock::read, nanos -> { });
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    watch.onRestoreStart(CHANGELOG, "store", 0, 5_000);
    // a batch every 30 s until second 200, then RUNNING
    clock.onTick.set(s -> {
      if (s < 200 && s % 30 == 0) {
        watch.onBatchRestored(CHANGELOG, "store", s * 10, 100);
      } else if (s == 200) {
        watch.onRestoreEnd(CHANGELOG, "store", 600);
        watch.onStateChange(KafkaStreams.State.RUNNING);
      }
    });

    assertThat(watch.await(Duration.ofSeconds(15), s -> { })).isEqualTo(StartWatch.Outcome.RUNNING);
    assertThat(clock.seconds).isGreaterThanOrEqualTo(200);
  }

  @Test
  void shouldCountAStreamThreadJoiningAndGettingItsTasksAsProgress() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    AtomicReference<String> threads = new AtomicReference<>("1:STARTING 0/0");
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(600), clock::read,
        nanos -> { }).watchingThreads(threads::get);
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    // a slow rebalance with nothing to restore: the thread's state changes at 50 s and 100 s
    clock.onTick.set(s -> {
      if (s == 50) {
        threads.set("1:PARTITIONS_ASSIGNED 0/0");
      } else if (s == 100) {
        threads.set("1:PARTITIONS_ASSIGNED 9/0");
      } else if (s == 150) {
        watch.onStateChange(KafkaStreams.State.RUNNING);
      }
    });

    assertThat(watch.await(Duration.ofSeconds(15), s -> { })).isEqualTo(StartWatch.Outcome.RUNNING);
    assertThat(watch.describe()).contains("threads 1:PARTITIONS_ASSIGNED 9/0");
  }

  @Test
  void shouldGiveUpAtTheCapEvenWhileProgressing() throws InterruptedException {
    SteppingClock clock = new SteppingClock();
    StartWatch watch = new StartWatch(Duration.ofSeconds(60), Duration.ofSeconds(300), clock::read, nanos -> { });
    watch.onStateChange(KafkaStreams.State.REBALANCING);
    clock.onTick.set(s -> {
      if (s % 20 == 0) {
        watch.onBatchRestored(CHANGELOG, "store", s, 1);
      }
    });

    assertThat(watch.await(Duration.ofSeconds(15), s -> { })).isEqualTo(StartWatch.Outcome.CAPPED);
    assertThat(clock.seconds).isBetween(300L, 320L);
  }
}
