package io.fractalrmo.platform;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Helpers for the child processes the platform starts: pid files, recovering a child left
 * behind by a killed parent, and stopping a process within a deadline.
 */
public final class ChildProcesses {

  private static final Logger LOG = LoggerFactory.getLogger(ChildProcesses.class);

  private ChildProcesses() {
  }

  /** The pid in a pid file (first line), if the file exists and starts with a number. */
  public static Optional<Long> readPid(Path pidFile) {
    try {
      if (!Files.isRegularFile(pidFile)) {
        return Optional.empty();
      }
      String first = Files.readAllLines(pidFile, StandardCharsets.UTF_8).stream()
          .findFirst().orElse("").trim();
      return first.matches("\\d+") ? Optional.of(Long.parseLong(first)) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  public static void writePid(Path pidFile, long pid) {
    try {
      Files.writeString(pidFile, pid + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + pidFile + ": " + e.getMessage(), e);
    }
  }

  /** The command line of a live process, arguments joined by spaces ("" if unknown). */
  public static String commandLine(long pid) {
    Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
    try {
      if (Files.isReadable(cmdline)) {
        return new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).replace('\0', ' ');
      }
    } catch (IOException e) {
      // fall through to ProcessHandle
    }
    return ProcessHandle.of(pid).flatMap(h -> h.info().commandLine()).orElse("");
  }

  /** Whether the pid is a zombie: exited, not yet reaped by its parent (Linux /proc). */
  public static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"),
          StandardCharsets.UTF_8);
      int close = stat.lastIndexOf(')');
      return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
    } catch (IOException | RuntimeException e) {
      return false; // gone, or not Linux
    }
  }

  /**
   * The live processes whose working directory is {@code dir} (Linux /proc; empty elsewhere or
   * where /proc/PID/cwd cannot be read). PostgreSQL's backends all work in their data directory.
   */
  public static java.util.List<ProcessHandle> workingIn(Path dir) {
    Path target = dir.toAbsolutePath().normalize();
    java.util.List<ProcessHandle> out = new java.util.ArrayList<>();
    ProcessHandle.allProcesses().forEach(h -> {
      try {
        Path cwd = Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "cwd"));
        if (cwd.equals(target) && !isZombie(h.pid()) && h.pid() != ProcessHandle.current().pid()) {
          out.add(h);
        }
      } catch (IOException | RuntimeException e) {
        // not ours to read, or gone
      }
    });
    return out;
  }

  /**
   * Stops a process left behind by a parent that was killed, when the pid file names a live
   * process whose command line contains {@code marker} (so an unrelated process that reused the
   * pid is never touched). Returns whether one was stopped.
   */
  public static boolean stopLeftover(Path pidFile, String marker, Duration grace) {
    Optional<Long> pid = readPid(pidFile);
    if (pid.isEmpty() || pid.get() == ProcessHandle.current().pid()) {
      return false;
    }
    Optional<ProcessHandle> handle = ProcessHandle.of(pid.get()).filter(ProcessHandle::isAlive);
    if (handle.isEmpty() || !commandLine(pid.get()).contains(marker)) {
      return false;
    }
    LOG.warn("Stopping process {} left behind by an earlier run ({})", pid.get(), pidFile);
    handle.get().destroy();
    if (!waitForExit(handle.get(), grace)) {
      handle.get().destroyForcibly();
      waitForExit(handle.get(), Duration.ofSeconds(10));
    }
    return true;
  }

  /**
   * Sends a signal by name ("INT", "TERM") with {@code kill}; false if it could not be sent.
   * Used for PostgreSQL, whose fast shutdown is SIGINT (Java's destroy() sends SIGTERM).
   */
  public static boolean signal(long pid, String name) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The command prefix that starts a child in its own session ({@code setsid}, which keeps the
   * pid when the caller is not a group leader), so that a Ctrl-C in the terminal reaches only
   * this JVM, which then stops its children in order. Empty where {@code setsid} is missing.
   */
  public static java.util.List<String> ownSessionPrefix() {
    for (String candidate : new String[] {"/usr/bin/setsid", "/bin/setsid"}) {
      if (Files.isExecutable(Path.of(candidate))) {
        return java.util.List.of(candidate);
      }
    }
    return java.util.List.of();
  }

  /** Waits until the process has exited; true if it did within the timeout. */
  public static boolean waitForExit(ProcessHandle handle, Duration timeout) {
    try {
      handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return !handle.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !handle.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !handle.isAlive();
    }
  }

  /** The last {@code maxBytes} of a log file, for an error message ("" if it cannot be read). */
  public static String tail(Path file, int maxBytes) {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      long length = raf.length();
      long start = Math.max(0, length - maxBytes);
      byte[] bytes = new byte[(int) (length - start)];
      raf.seek(start);
      raf.readFully(bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
