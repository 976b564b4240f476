package io.fractalrmo.app;

/** Exit codes of the {@code fractal} command. */
public final class ExitCodes {

  public static final int OK = 0;
  /** Something failed; the message on stderr says what to do. */
  public static final int FAILED = 1;
  /** Bad command line (picocli's usage error code). */
  public static final int USAGE = 2;

  private ExitCodes() {
  }
}
