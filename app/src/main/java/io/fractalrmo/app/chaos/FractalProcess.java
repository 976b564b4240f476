package io.fractalrmo.app.chaos;

import io.fractalrmo.app.FractalCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One {@code fractal <args>} in a JVM of its own, started from this JVM's class path (the same
 * jar or classes), with its output in a log file. It runs under a small shell that kills it when
 * this JVM goes away by any means (the shell's standard input closes), so a killed chaos or
 * benchmark run leaves no process behind; {@link #kill()} is a SIGKILL of the JVM and everything
 * below it (sandboxed interpreters included), as a crash would end it.
 */
final class FractalProcess {

  /** Waits for EOF on stdin (the parent closed it or died), then SIGKILLs the command. */
  private static final String GUARD = String.join("\n",
      "\"$@\" &",
      "child=$!",
      "( while read -r _; do :; done; kill -KILL \"$child\" 2>/dev/null ) <&0 &",
      "watcher=$!",
      "trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT",
      "wait \"$child\"; rc=$?",
      "while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; rc=$?; done",
      "kill \"$watcher\" 2>/dev/null",
      "exit $rc");

  private final String name;
  private final List<String> args;
  private final Path log;
  private final List<String> jvmOptions;
  private final Map<String, String> environment;
  private Process guard;

  FractalProcess(String name, List<String> args, Path log, List<String> jvmOptions,
      Map<String, String> environment) {
    this.name = name;
    this.args = List.copyOf(args);
    this.log = log;
    this.jvmOptions = List.copyOf(jvmOptions);
    this.environment = Map.copyOf(environment);
  }

  String name() {
    return name;
  }

  Path log() {
    return log;
  }

  synchronized FractalProcess start() {
    if (guard != null && guard.isAlive()) {
      throw new IllegalStateException(name + " is running");
    }
    List<String> command = new ArrayList<>(List.of("bash", "-c", GUARD, "fractal-" + name));
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(FractalCommand.class.getName());
    command.addAll(args);
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(environment);
      guard = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start fractal " + args, e);
    }
    return this;
  }

  synchronized boolean isAlive() {
    return guard != null && guard.isAlive();
  }

  /** The JVM's pid (the guard shell's child), once it is there. */
  synchronized Optional<Long> jvmPid() {
    if (guard == null) {
      return Optional.empty();
    }
    return guard.toHandle().children().filter(h -> h.info().command()
        .map(c -> c.endsWith("java")).orElse(false)).map(ProcessHandle::pid).findFirst();
  }

  /**
   * SIGKILL of the JVM and every process below it, collected first so none is reparented away;
   * waits until the JVM is gone.
   */
  synchronized void kill() {
    if (guard == null) {
      return;
    }
    List<ProcessHandle> all = guard.toHandle().descendants().toList();
    for (ProcessHandle h : all) {
      h.destroyForcibly();
    }
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // gone or stuck: nothing more a SIGKILL can do
      }
    }
    awaitExit(Duration.ofSeconds(30));
  }

  /** SIGTERM (the command's clean stop), then SIGKILL after {@code grace}. */
  synchronized void stop(Duration grace) {
    requestStop();
    awaitStopped(grace);
  }

  /** SIGTERM to the JVM, without waiting: several processes then stop at the same time. */
  synchronized void requestStop() {
    if (guard != null && guard.isAlive()) {
      jvmPid().flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroy);
    }
  }

  /** Waits up to {@code grace} for the exit {@link #requestStop()} asked for, then SIGKILL. */
  synchronized void awaitStopped(Duration grace) {
    if (guard == null) {
      return;
    }
    if (guard.isAlive() && !awaitExit(grace)) {
      kill();
    }
    closeStdin();
  }

  private boolean awaitExit(Duration timeout) {
    try {
      return guard.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void closeStdin() {
    try {
      guard.getOutputStream().close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** Exit code once exited, else empty. */
  synchronized Optional<Integer> exitCode() {
    return guard == null || guard.isAlive() ? Optional.empty() : Optional.of(guard.exitValue());
  }

  /**
   * CPU time (user + system, seconds) used so far by this command's JVM and every process below
   * it, including children that already exited and were reaped (Linux /proc; 0 elsewhere).
   */
  synchronized double cpuSeconds() {
    return cpuByProcess().values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /**
   * CPU seconds used so far by the processes under this one, by kind: "broker" (a Kafka JVM),
   * "postgres", "fractal" (the fractal JVM itself), "other" (sandboxed interpreters, shells).
   */
  synchronized java.util.Map<String, Double> cpuByProcess() {
    java.util.Map<String, Double> byKind = new java.util.TreeMap<>();
    if (guard == null) {
      return byKind;
    }
    List<ProcessHandle> all = new ArrayList<>(guard.toHandle().descendants().toList());
    for (ProcessHandle h : all) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        double ticks = 0;
        // fields 14-17 of stat (utime stime cutime cstime) are 11-14 after the state field
        for (int i = 11; i <= 14; i++) {
          ticks += Long.parseLong(f[i]);
        }
        String command = io.fractalrmo.platform.ChildProcesses.commandLine(h.pid());
        String kind = command.contains("BrokerMain") || command.contains("kafka.Kafka") ? "broker"
            : command.contains("postgres") ? "postgres"
            : command.contains(FractalCommand.class.getName()) ? "fractal" : "other";
        byKind.merge(kind, ticks / 100.0, Double::sum); // USER_HZ is 100 on Linux
      } catch (IOException | RuntimeException e) {
        // gone meanwhile
      }
    }
    return byKind;
  }

  /** Whether the log contains {@code text} (for readiness lines such as "is up"). */
  boolean logContains(String text) {
    try {
      return Files.exists(log) && Files.readString(log).contains(text);
    } catch (IOException | UncheckedIOException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
