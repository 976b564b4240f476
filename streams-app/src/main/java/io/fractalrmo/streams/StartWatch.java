package io.fractalrmo.streams;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * How {@link StreamsRole#start} waits for RUNNING: not for a fixed time, but for as long as the
 * application makes progress — a state change, a stream thread's state or tasks changing, or a batch of changelog
 * records restored — with
 * a cap. On a loaded machine a rebalance plus the restoration of wiped stores (after a crash
 * under exactly-once the stores are rebuilt from their changelogs) can take minutes, all of it
 * progress; an application that is stuck (no broker, a group that never settles) shows none and
 * fails after {@code stallTimeout}; ERROR or NOT_RUNNING fail at once. The failure says which it
 * was, the state, and how much was restored.
 *
 * <p>Thread-safe: the state listener and the restore listener call in from Streams threads.
 */
final class StartWatch implements StateRestoreListener {

  /** The outcome of {@link #await}. */
  enum Outcome { RUNNING, FAILED, STALLED, CAPPED }

  private final Duration stallTimeout;
  private final Duration cap;
  private final LongSupplier nanoClock;
  private final Pause pause;
  private final long startedAt;
  private final Object lock = new Object();
  private final AtomicReference<KafkaStreams.State> state = new AtomicReference<>();
  private final AtomicLong lastProgress;
  private final AtomicLong lastStateChange;
  private final AtomicLong restored = new AtomicLong();
  private final AtomicLong toRestore = new AtomicLong();
  private final AtomicLong restoring = new AtomicLong();
  private volatile java.util.function.Supplier<String> threads = () -> "";
  private String lastThreads = "";

  /** How {@link #await} waits between looks (real: on a monitor that progress notifies). */
  @FunctionalInterface
  interface Pause {
    void pause(long nanos) throws InterruptedException;
  }

  StartWatch(Duration stallTimeout, Duration cap, LongSupplier nanoClock, Pause pause) {
    this.pause = pause != null ? pause : this::waitForProgress;
    this.stallTimeout = stallTimeout;
    this.cap = cap.compareTo(stallTimeout) < 0 ? stallTimeout : cap;
    this.nanoClock = nanoClock;
    this.startedAt = nanoClock.getAsLong();
    this.lastProgress = new AtomicLong(startedAt);
    this.lastStateChange = new AtomicLong(startedAt);
  }

  StartWatch(Duration stallTimeout, Duration cap) {
    this(stallTimeout, cap, System::nanoTime, null);
  }

  /**
   * What the stream threads are doing (their states and assigned tasks, as
   * {@code KafkaStreams.metadataForLocalThreads()} tells): looked at on every pass of
   * {@link #await}; a change counts as progress (a thread that joined the group, got its tasks,
   * began restoring), so a slow rebalance with nothing to restore is not taken for a stall.
   */
  StartWatch watchingThreads(java.util.function.Supplier<String> fingerprint) {
    this.threads = fingerprint;
    return this;
  }

  /** To be called from the application's state listener. */
  void onStateChange(KafkaStreams.State now) {
    long t = nanoClock.getAsLong();
    state.set(now);
    lastStateChange.set(t);
    progress(t);
  }

  @Override
  public void onRestoreStart(TopicPartition partition, String store, long startingOffset,
      long endingOffset) {
    toRestore.addAndGet(Math.max(0, endingOffset - startingOffset));
    restoring.incrementAndGet();
    progress(nanoClock.getAsLong());
  }

  @Override
  public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset,
      long numRestored) {
    restored.addAndGet(numRestored);
    progress(nanoClock.getAsLong());
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
    restoring.decrementAndGet();
    progress(nanoClock.getAsLong());
  }

  @Override
  public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
    restoring.decrementAndGet();
    progress(nanoClock.getAsLong());
  }

  private void progress(long t) {
    lastProgress.set(t);
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  /**
   * Waits until RUNNING (true), a terminal state, no progress for the stall timeout, or the cap;
   * calls {@code report} with {@link #describe()} every {@code reportEvery} while waiting.
   */
  Outcome await(Duration reportEvery, java.util.function.Consumer<String> report)
      throws InterruptedException {
    long nextReport = startedAt + reportEvery.toNanos();
    while (true) {
      KafkaStreams.State s = state.get();
      if (s == KafkaStreams.State.RUNNING) {
        return Outcome.RUNNING;
      }
      if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.PENDING_ERROR
          || s == KafkaStreams.State.NOT_RUNNING || s == KafkaStreams.State.PENDING_SHUTDOWN) {
        return Outcome.FAILED;
      }
      String fingerprint = fingerprint();
      if (!fingerprint.equals(lastThreads)) {
        lastThreads = fingerprint;
        progress(nanoClock.getAsLong());
      }
      long now = nanoClock.getAsLong();
      if (now - lastProgress.get() >= stallTimeout.toNanos()) {
        return Outcome.STALLED;
      }
      if (now - startedAt >= cap.toNanos()) {
        return Outcome.CAPPED;
      }
      if (now >= nextReport) {
        report.accept(describe());
        nextReport = now + reportEvery.toNanos();
      }
      long wait = Math.min(Math.min(stallTimeout.toNanos() - (now - lastProgress.get()),
          cap.toNanos() - (now - startedAt)), Math.max(1, nextReport - now));
      pause.pause(Math.max(1_000_000, Math.min(wait, 1_000_000_000L)));
    }
  }

  private String fingerprint() {
    try {
      String f = threads.get();
      return f == null ? "" : f;
    } catch (RuntimeException e) {
      return lastThreads; // e.g. the application is closing: no news
    }
  }

  private void waitForProgress(long nanos) throws InterruptedException {
    synchronized (lock) {
      TimeUnit.NANOSECONDS.timedWait(lock, nanos);
    }
  }

  /** State, for how long, and what was restored: for logs and failure messages. */
  String describe() {
    long now = nanoClock.getAsLong();
    return String.format(Locale.ROOT, "state %s for %.0f s, %.0f s since start, last progress"
            + " %.0f s ago; restored %d of %d changelog records (%d partitions restoring);"
        + " threads %s",
        state.get() == null ? "CREATED" : state.get(),
        (now - lastStateChange.get()) / 1e9, (now - startedAt) / 1e9,
        (now - lastProgress.get()) / 1e9, restored.get(), toRestore.get(),
        Math.max(0, restoring.get()), lastThreads.isEmpty() ? "-" : lastThreads);
  }

  Duration stallTimeout() {
    return stallTimeout;
  }

  Duration cap() {
    return cap;
  }
}
