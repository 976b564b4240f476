package io.fractalrmo.app.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Runs a Python program with the real interpreter and a wall-clock limit (test helper). */
final class Python {

  record Run(int exitCode, boolean timedOut, String stderr, long millis) {
    boolean passed() {
      return !timedOut && exitCode == 0;
    }

    /** The last line of stderr, e.g. {@code NameError: name 'List' is not defined}. */
    String lastErrorLine() {
      String[] lines = stderr.strip().split("\n");
      return lines[lines.length - 1];
    }
  }

  private Python() {
  }

  static String interpreter() {
    String env = System.getenv("FRACTAL_PYTHON");
    if (env != null && !env.isBlank()) {
      return env;
    }
    return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
  }

  /** The program the executor runs: solution, tests, then {@code check(entry_point)}. */
  static String program(FaultedCode faulted) {
    Problem p = faulted.problem();
    return faulted.code() + "\n\n" + p.test() + "\n\ncheck(" + p.entryPoint() + ")\n";
  }

  static Run run(String program, Duration limit) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("fault-injector");
    try {
      Path file = dir.resolve("main.py");
      Files.writeString(file, program, StandardCharsets.UTF_8);
      Path err = dir.resolve("stderr");
      long start = System.nanoTime();
      Process process = new ProcessBuilder(interpreter(), "-I", file.toString())
          .directory(dir.toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(err.toFile())
          .start();
      boolean finished = process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
      if (!finished) {
        process.destroyForcibly().waitFor();
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      return new Run(finished ? process.exitValue() : -1, !finished,
          Files.readString(err, StandardCharsets.UTF_8), millis);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(dir);
    }
  }
}
