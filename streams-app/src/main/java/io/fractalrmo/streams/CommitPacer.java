package io.fractalrmo.streams;

import java.time.Duration;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ProcessingContext;

/**
 * Asks Kafka Streams to commit ({@link ProcessingContext#commit()}) when a processor has emitted
 * something a client waits for — a plan, a final status, or a record the next step of this app
 * reads ({@link CommitSoon}) — on average at most once per {@code spacing} on each stream thread,
 * with a burst of {@value #BURST} (a token bucket: one request per spacing refills, two may be
 * spent at once). A lone output is still committed at once (an idle pipeline does not wait for
 * {@code commit.interval.ms}), and so is the next one even within the spacing: an idle task's plan
 * and, some 40 ms later, its final status each commit at once (with a strict one request per
 * spacing the final status waited for the plan's spacing to pass: its hop took 26 ms p50 from
 * processing to visible, the plan's 7, in {@code fractal bench} latency). Under a sustained burst
 * the bucket is empty and the outputs of one spacing share a transaction; an output held back is
 * committed once a request is due again (a one-shot wall-clock punctuator, scheduled only while
 * an output waits: a periodic one would mark every task as needing a commit each time it ran,
 * and Streams would then commit every task at every commit interval), not only at the next
 * request or the commit interval.
 *
 * <p>Why not a request per output: Streams commits a requested commit right after the current
 * processing iteration, and after every commit it halves the records it takes per iteration. A
 * request per plan thus ended in one exactly-once transaction per one or two records (the
 * zero-cost pipeline went 393 → 52 tasks/s without the spacing, back to back). Why the trailing
 * request: without it, an output suppressed by the spacing waited for the commit interval —
 * a trial decided right after another request became an ACTIVE rule p50 138–158 ms after its
 * last outcome; with it (and the stream thread's poll.ms at 20) 75–85 ms. One pacer is shared
 * by the processors of one topology; the state is per thread because each stream thread commits
 * its own tasks.
 */
public final class CommitPacer {

  /** Half the default commit interval: a burst pays a transaction at most every 50 ms. */
  public static final Duration DEFAULT_SPACING = Duration.ofMillis(50);

  /** Requests that may follow one another without waiting when the thread was quiet. */
  public static final int BURST = 2;

  private final long spacingNanos;
  private final ThreadLocal<ThreadState> state = ThreadLocal.withInitial(ThreadState::new);

  /** One stream thread's pacing. */
  private static final class ThreadState {
    boolean requested; // whether any request was made yet
    long full; // when the bucket is full again: each request moves it a spacing on
    boolean waiting;
    Cancellable punctuator;
    long punctuatorDue;
  }

  /** A punctuator this late has gone with its task (closed or moved in a rebalance). */
  private static final long STALE_NANOS = Duration.ofSeconds(1).toNanos();

  public CommitPacer(Duration spacing) {
    if (spacing.isNegative()) {
      throw new IllegalArgumentException("spacing must not be negative: " + spacing);
    }
    this.spacingNanos = spacing.toNanos();
  }

  public static CommitPacer defaults() {
    return new CommitPacer(DEFAULT_SPACING);
  }

  /**
   * An output a client waits for was forwarded: request a commit unless one was requested on this
   * thread within the spacing — then the output waits for the end of the spacing, when a
   * punctuator scheduled on {@code context} requests it. Returns whether it requested one now.
   */
  public boolean outputReady(ProcessingContext context) {
    long now = System.nanoTime();
    ThreadState s = state.get();
    if (!due(s, now)) {
      s.waiting = true;
      if (s.punctuator != null && now - s.punctuatorDue > STALE_NANOS) {
        s.punctuator.cancel();
        s.punctuator = null;
      }
      if (s.punctuator == null) {
        s.punctuatorDue = nextDue(s);
        long remainingMs = Math.max(1, (s.punctuatorDue - now + 999_999) / 1_000_000);
        s.punctuator = context.schedule(Duration.ofMillis(remainingMs),
            PunctuationType.WALL_CLOCK_TIME, t -> commitIfWaiting(context));
      }
      return false;
    }
    request(context, s, now);
    return true;
  }

  /**
   * The punctuator's work: requests the commit an output waits for once the spacing since the
   * last request has passed, and ends the punctuator once nothing waits; returns whether it
   * requested a commit.
   */
  boolean commitIfWaiting(ProcessingContext context) {
    ThreadState s = state.get();
    long now = System.nanoTime();
    if (s.waiting && !due(s, now)) {
      return false; // a later request spent the bucket and an output waits again: next tick
    }
    boolean requested = s.waiting;
    if (requested) {
      request(context, s, now);
    }
    if (s.punctuator != null) {
      s.punctuator.cancel();
      s.punctuator = null;
    }
    return requested;
  }

  /** Whether a request may be made now: the bucket holds a token. */
  private boolean due(ThreadState s, long now) {
    return !s.requested || now - nextDue(s) >= 0;
  }

  /** When the bucket holds a token again. */
  private long nextDue(ThreadState s) {
    return s.full - (BURST - 1) * spacingNanos;
  }

  private void request(ProcessingContext context, ThreadState s, long now) {
    // the bucket fills a spacing after the later of now and when it would have been full
    s.full = (!s.requested || now - s.full > 0 ? now : s.full) + spacingNanos;
    s.requested = true;
    s.waiting = false;
    context.commit();
  }
}
