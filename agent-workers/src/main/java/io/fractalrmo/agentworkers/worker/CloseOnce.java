package io.fractalrmo.agentworkers.worker;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a close action exactly once. A second caller (e.g. a SIGTERM hook racing the
 * application's own close) waits for the first to finish instead of returning early, so the JVM
 * does not halt while the workers are still committing or leaving their group.
 */
public final class CloseOnce {

  private static final Logger LOG = LoggerFactory.getLogger(CloseOnce.class);
  private static final Duration PATIENCE = Duration.ofMinutes(2);

  private final String name;
  private final AtomicBoolean started = new AtomicBoolean();
  private final CountDownLatch done = new CountDownLatch(1);

  public CloseOnce(String name) {
    this.name = name;
  }

  /** True once a close has begun. */
  public boolean isClosed() {
    return started.get();
  }

  /** Runs {@code action} if no close ran before; otherwise waits for the running one. */
  public void close(Runnable action) {
    if (!started.compareAndSet(false, true)) {
      awaitDone();
      return;
    }
    try {
      action.run();
    } finally {
      done.countDown();
    }
  }

  private void awaitDone() {
    try {
      if (!done.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("{}: still closing after {}", name, PATIENCE);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
