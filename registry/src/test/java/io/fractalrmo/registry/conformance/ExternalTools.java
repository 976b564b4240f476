package io.fractalrmo.registry.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Finding and running other projects' tools (node, npm, python) for the conformance tests.
 * Policy: in CI ({@code CI=true}) a missing tool fails the test with a message naming what to
 * install; on a developer machine it skips the test (JUnit "aborted"), so the module still builds
 * where node or python is not installed.
 */
final class ExternalTools {

  record Result(int exitCode, String output) {
  }

  private ExternalTools() {
  }

  static boolean inCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** The tool's path, or: fail in CI / skip elsewhere. */
  static String require(String tool, String howToInstall) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    String message = tool + " is not on PATH: " + howToInstall;
    if (inCi()) {
      throw new AssertionError(message + " (CI=true: conformance tests must run in CI)");
    }
    Assumptions.abort(message + " — skipped on this developer machine (fails in CI)");
    return null;
  }

  /** Runs {@code command} in {@code dir}, output merged, killed after {@code timeoutSeconds}. */
  static Result run(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
    Path log = Files.createTempFile("conformance-", ".log");
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds
            + " s; output:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  static List<String> lines(String output, String prefix) {
    List<String> out = new ArrayList<>();
    for (String l : output.split("\n")) {
      if (l.startsWith(prefix)) {
        out.add(l);
      }
    }
    return out;
  }
}
