package io.fractalrmo.streams;

import java.time.Duration;
import org.apache.kafka.streams.processor.api.ProcessingContext;

/**
 * Asks Kafka Streams to commit ({@link ProcessingContext#commit()}) when a processor has emitted
 * something a client waits for — a plan, a final status — at most once per
 * {@code spacing} on each stream thread. A lone output is still committed at once (an idle
 * pipeline does not wait for {@code commit.interval.ms}); in a burst the outputs of one spacing
 * share a transaction.
 *
 * <p>Why not a request per output: Streams commits a requested commit right after the current
 * processing iteration, and after every commit it halves the records it takes per iteration. A
 * request per plan thus ended in one exactly-once transaction per one or two records (the
 * zero-cost pipeline planned 117 tasks/s with 2 cores mostly idle; each transaction is several
 * broker round trips and a marker per partition). Outputs that come within a spacing of the last
 * request are committed by the next request or by the commit interval, whichever comes first.
 * One pacer is shared by the processors of one topology; the state is per thread because each
 * stream thread commits its own tasks.
 */
public final class CommitPacer {

  /** Half the default commit interval: a burst pays a transaction at most every 50 ms. */
  public static final Duration DEFAULT_SPACING = Duration.ofMillis(50);

  private final long spacingNanos;
  private final ThreadLocal<long[]> lastRequest = ThreadLocal.withInitial(() -> new long[] {0});

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
   * thread within the spacing. Returns whether it requested one.
   */
  public boolean outputReady(ProcessingContext context) {
    long now = System.nanoTime();
    long[] last = lastRequest.get();
    if (last[0] != 0 && now - last[0] < spacingNanos) {
      return false;
    }
    last[0] = now == 0 ? 1 : now;
    context.commit();
    return true;
  }
}
