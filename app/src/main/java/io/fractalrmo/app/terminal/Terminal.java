package io.fractalrmo.app.terminal;

import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * What {@code fractal up} and {@code fractal demo} print: whole lines, and one progress line that
 * a TTY shows in place (carriage return, erase line) and that is redrawn below every other line;
 * when the output is not a TTY, a progress line is printed as a plain line, at most every
 * {@code plainEveryMs} unless it is the last of its series.
 */
public final class Terminal {

  private static final String ERASE_LINE = "\r\033[K";

  private final PrintWriter writer;
  private final boolean tty;
  private final long plainEveryMs;
  private final PrintStream stream;
  private String progress = "";
  private String lastPlain = "";
  private long lastPlainAt;

  public Terminal(PrintWriter writer, boolean tty, long plainEveryMs) {
    this.writer = writer;
    this.tty = tty;
    this.plainEveryMs = plainEveryMs;
    this.stream = new PrintStream(new LineStream(), true, StandardCharsets.UTF_8);
  }

  /** A TTY when the JVM has a console and TERM is not {@code dumb}. */
  public static boolean isTty() {
    String term = System.getenv("TERM");
    return System.console() != null && (term == null || !term.equals("dumb"));
  }

  public boolean tty() {
    return tty;
  }

  /** Whole lines; on a TTY the progress line is erased first and drawn again after them. */
  public PrintStream stream() {
    return stream;
  }

  /** Shows {@code line} as the current progress. */
  public synchronized void progress(String line) {
    if (tty) {
      line = fit(line);
      if (line.equals(progress)) {
        return;
      }
      progress = line;
      writer.print(ERASE_LINE + line);
      writer.flush();
      return;
    }
    long now = System.currentTimeMillis();
    if (!line.equals(lastPlain) && now - lastPlainAt >= plainEveryMs) {
      writer.println(line);
      writer.flush();
      lastPlain = line;
      lastPlainAt = now;
    }
  }

  /** A line longer than the terminal would wrap, and a carriage return would not erase it all. */
  private static String fit(String line) {
    int columns = 120;
    String env = System.getenv("COLUMNS");
    if (env != null && env.matches("\\d{2,4}")) {
      columns = Integer.parseInt(env);
    }
    return line.length() < columns ? line : line.substring(0, columns - 2) + "…";
  }

  /** Ends the current progress series: its last state stays on screen as a plain line. */
  public synchronized void endProgress(String finalLine) {
    if (tty) {
      writer.print(ERASE_LINE);
      progress = "";
    }
    if (!tty && finalLine.equals(lastPlain)) {
      return;
    }
    writer.println(finalLine);
    writer.flush();
    lastPlain = "";
    lastPlainAt = 0;
  }

  private synchronized void printLine(String text) {
    if (tty && !progress.isEmpty()) {
      writer.print(ERASE_LINE);
    }
    writer.print(text);
    if (tty && !progress.isEmpty()) {
      writer.print(progress);
    }
    writer.flush();
  }

  /** Collects bytes into lines and hands each whole line to {@link #printLine}. */
  private final class LineStream extends OutputStream {
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
      line.write(b);
      if (b == '\n') {
        flush();
      }
    }

    @Override
    public synchronized void flush() {
      if (line.size() > 0) {
        printLine(line.toString(StandardCharsets.UTF_8));
        line.reset();
      }
    }
  }
}
