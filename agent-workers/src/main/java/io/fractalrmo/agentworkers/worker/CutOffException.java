package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.runtime.TransientException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedByInterruptException;

/**
 * Thrown by a {@link RecordHandler} whose work was cut off (its thread interrupted by the worker's
 * stop or a revocation, or the sandbox it ran in closed): the record was not handled, so it has
 * no result and no error — nothing about it may be concluded. The worker neither commits nor
 * dead-letters it: cut off by a stop or revocation it is discarded (the next owner redoes it),
 * otherwise it is retried as a transient failure.
 */
public final class CutOffException extends TransientException {

  private static final long serialVersionUID = 1L;
  private static final int MAX_DEPTH = 10;

  public CutOffException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Whether {@code e} is what an interrupt of the calling thread leaves behind: the thread's
   * interrupt flag is set, or an {@link InterruptedException} (or an interrupted channel or
   * stream, not a socket timeout) is among its causes.
   */
  public static boolean byInterrupt(Throwable e) {
    if (Thread.currentThread().isInterrupted()) {
      return true;
    }
    int depth = 0;
    for (Throwable t = e; t != null && depth++ < MAX_DEPTH; t = t.getCause()) {
      if (t instanceof InterruptedException || t instanceof ClosedByInterruptException
          || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
        return true;
      }
    }
    return false;
  }
}
