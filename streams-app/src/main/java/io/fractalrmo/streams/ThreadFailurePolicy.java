package io.fractalrmo.streams;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uncaught-exception handler: a failed stream thread is replaced at most {@code maxReplacements}
 * times over the life of the application; the next failure shuts the whole application down
 * (every instance) with an ERROR log saying why, rather than looping on a persistent fault.
 */
public final class ThreadFailurePolicy implements StreamsUncaughtExceptionHandler {

  private static final Logger LOG = LoggerFactory.getLogger(ThreadFailurePolicy.class);
  private final int maxReplacements;
  private final AtomicInteger failures = new AtomicInteger();

  public ThreadFailurePolicy(int maxReplacements) {
    this.maxReplacements = maxReplacements;
  }

  @Override
  public StreamThreadExceptionResponse handle(Throwable e) {
    int n = failures.incrementAndGet();
    if (n <= maxReplacements) {
      LOG.warn("stream thread failed ({} of {} replacements): replacing it", n, maxReplacements, e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
    LOG.error("stream thread failed again after {} replacements: shutting the streams "
        + "application down", maxReplacements, e);
    return StreamThreadExceptionResponse.SHUTDOWN_APPLICATION;
  }
}
