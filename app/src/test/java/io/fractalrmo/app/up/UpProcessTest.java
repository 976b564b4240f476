package io.fractalrmo.app.up;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.FractalCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fractal up} as a real process: killed with -9 it leaves nothing running and its data dir
 * is recovered by the next {@code up}; SIGTERM stops everything and exits 0.
 */
class UpProcessTest {

  /** Generous: on a loaded 2-core machine (load 30+) a cold broker alone took 35 s. */
  private static final Duration READY = Duration.ofSeconds(300);

  @TempDir
  Path dir;

  private Process up;

  @AfterEach
  void killLeftovers() {
    if (up != null) {
      up.descendants().forEach(ProcessHandle::destroyForcibly);
      up.destroyForcibly();
    }
  }

  @Test
  void shouldRecoverFromKill9AndStopCleanlyOnSigterm() throws Exception {
    Path data = dir.resolve("data");
    up = startUp(data, "first");
    awaitEndpoints(data, up, "first");
    List<ProcessHandle> children = up.descendants().toList();
    assertThat(children).as("broker and database processes").isNotEmpty();

    up.destroyForcibly(); // kill -9: no shutdown hook runs
    up.waitFor(10, TimeUnit.SECONDS);
    for (ProcessHandle child : children) {
      child.onExit().get(60, TimeUnit.SECONDS); // the broker and database notice and stop
    }

    up = startUp(data, "second");
    awaitEndpoints(data, up, "second");
    List<ProcessHandle> again = up.descendants().toList();

    up.destroy(); // SIGTERM
    assertThat(up.waitFor(90, TimeUnit.SECONDS)).as("up stops within 90 s").isTrue();
    assertThat(up.exitValue()).as("exit code; stdout:\n%s\nstderr:\n%s",
        Files.readString(dir.resolve("second.out")), Files.readString(dir.resolve("second.err"))).isZero();
    assertThat(Files.readString(dir.resolve("second.out"))).contains("Stopped.");
    assertThat(data.resolve("endpoints.json")).doesNotExist();
    for (ProcessHandle child : again) {
      assertThat(child.isAlive()).as("child %d still running", child.pid()).isFalse();
    }
  }

  private Process startUp(Path data, String name) throws IOException {
    return new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m",
        "-cp", System.getProperty("java.class.path"),
        FractalCommand.class.getName(), "up", "--no-roles", "--data-dir", data.toString())
        .redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile())
        .start();
  }

  private void awaitEndpoints(Path data, Process process, String name) throws Exception {
    long deadline = System.nanoTime() + READY.toNanos();
    // endpoints.json names the pid of the up that wrote it (a killed up leaves its own behind)
    while (!Files.exists(data.resolve("endpoints.json"))
        || !Files.readString(data.resolve("endpoints.json")).contains("\"pid\" : " + process.pid())) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("fractal up (" + name + ") not ready; exit "
            + (process.isAlive() ? "none" : process.exitValue()) + "; stdout:\n"
            + Files.readString(dir.resolve(name + ".out")) + "\nstderr:\n"
            + Files.readString(dir.resolve(name + ".err")));
      }
      Thread.sleep(100); // polling interval of a deadline-bounded wait for a file
    }
  }
}
