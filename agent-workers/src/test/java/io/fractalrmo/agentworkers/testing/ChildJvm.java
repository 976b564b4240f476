package io.fractalrmo.agentworkers.testing;

import io.fractalrmo.runtime.SlotLease;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@code main} class of the test classpath in its own JVM, so a test can kill it abruptly
 * ({@link #kill()}: SIGKILL, nothing of it runs any more). Its stdout is drained line by line (so
 * it never blocks on a full pipe) and copied with its stderr to {@code target/child-logs}; a test
 * waits on a line it prints with {@link #awaitLine}. It has a temporary directory of its own
 * ({@code java.io.tmpdir}: a killed JVM cannot delete its sandbox and helper files);
 * {@link #close()} kills it if still alive and deletes that directory.
 */
public final class ChildJvm implements AutoCloseable {

  private final Process process;
  private final BlockingQueue<String> lines;
  private final Path log;
  private final Path tmp;

  private ChildJvm(Process process, BlockingQueue<String> lines, Path log, Path tmp) {
    this.process = process;
    this.lines = lines;
    this.log = log;
    this.tmp = tmp;
  }

  /** Starts {@code main} with {@code args} in a JVM with a 256 MiB heap. */
  public static ChildJvm start(String name, Class<?> main, List<String> args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path logs = Files.createDirectories(Path.of("target", "child-logs"));
    Path log = Files.createTempFile(logs, name, ".log");
    Path tmp = Files.createTempDirectory("child-jvm-");
    List<String> command = new ArrayList<>(List.of(java, "-Xmx256m",
        "-Djava.io.tmpdir=" + tmp,
        // the same host-wide instance slots as this JVM's workers (a restarted child gets the
        // slot, and so the identity, of the one it replaces)
        "-D" + SlotLease.DIRECTORY_PROPERTY + "=" + SlotLease.defaultDirectory(),
        // log4j2 would stop logging in its own shutdown hook, hiding what SIGTERM closes
        "-Dlog4j.shutdownHookEnabled=false",
        "-cp", System.getProperty("java.class.path"), main.getName()));
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread drain = new Thread(() -> {
      try (BufferedReader reader = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
          var copy = Files.newBufferedWriter(log.resolveSibling(log.getFileName() + ".out"))) {
        for (String l = reader.readLine(); l != null; l = reader.readLine()) {
          lines.add(l);
          copy.write(l);
          copy.newLine();
          copy.flush();
        }
      } catch (IOException e) {
        // the child is gone
      }
    }, name + "-stdout");
    drain.setDaemon(true);
    drain.start();
    return new ChildJvm(process, lines, log, tmp);
  }

  public Process process() {
    return process;
  }

  /** Where its stderr goes (stdout: the same name + {@code .out}). */
  public Path log() {
    return log;
  }

  /** The next line the child printed that starts with {@code prefix} (earlier ones are skipped). */
  public String awaitLine(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new AssertionError("child printed no " + prefix + " within " + timeout
            + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + ")")
            + "; see " + log + "[.out]");
      }
      if (line.startsWith(prefix)) {
        return line;
      }
    }
  }

  /**
   * SIGKILL (no shutdown hook, no close: an abrupt crash) and waits until the JVM is gone.
   * Returns the processes it had started (e.g. sandboxes, helpers), as they were just before.
   */
  public List<ProcessHandle> kill() throws InterruptedException {
    List<ProcessHandle> descendants = process.descendants().toList();
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new AssertionError("child JVM " + process.pid() + " still alive 10 s after SIGKILL");
    }
    return descendants;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
    try (Stream<Path> paths = Files.walk(tmp)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
