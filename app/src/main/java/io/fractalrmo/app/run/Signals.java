package io.fractalrmo.app.run;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits for SIGINT or SIGTERM and lets the caller stop in its own order and exit 0 (the JVM's
 * default handlers would run every shutdown hook at once and exit 130/143).
 */
public final class Signals {

  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {
  }

  /** A latch released by the first SIGINT or SIGTERM. */
  public static CountDownLatch stopRequested() {
    CountDownLatch latch = new CountDownLatch(1);
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
          if (latch.getCount() > 0) {
            LOG.info("SIG{} received: stopping", name);
          }
          latch.countDown();
        });
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        LOG.debug("cannot handle SIG{}: {}", name, e.toString());
      }
    }
    return latch;
  }
}
