package io.fractalrmo.app.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

  /** Runs each program in a fresh namespace of ONE interpreter; the outcome line of each. */
  private static final String DRIVER = String.join("\n",
      "import sys, io, json, contextlib",
      "for name in sys.argv[1:]:",
      "    src = open(name, encoding='utf-8').read()",
      "    try:",
      "        with contextlib.redirect_stdout(io.StringIO()):",
      "            exec(compile(src, name, 'exec'), {'__name__': '__main__'})",
      "        out = ''",
      "    except BaseException as e:",
      "        out = type(e).__name__ + ': ' + str(e)",
      "    print(json.dumps(out), flush=True)",
      "");

  /**
   * Runs many short programs in one interpreter (much cheaper than a process each); each
   * {@link Run}'s stderr is its exception line ({@code NameError: name 'List' is not defined}),
   * empty when it passed.
   */
  static List<Run> runBatch(List<String> programs, Duration limit)
      throws IOException, InterruptedException {
    StringBuilder driver = new StringBuilder(DRIVER);
    List<String> lines = new ArrayList<>();
    Path dir = Files.createTempDirectory("fault-injector-batch");
    try {
      List<String> command = new ArrayList<>(List.of(interpreter(), "-I", "-c", driver.toString()));
      for (int i = 0; i < programs.size(); i++) {
        Path file = dir.resolve("p" + i + ".py");
        Files.writeString(file, programs.get(i), StandardCharsets.UTF_8);
        command.add(file.toString());
      }
      Path out = dir.resolve("out");
      Process process = new ProcessBuilder(command).directory(dir.toFile())
          .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor();
        throw new AssertionError("batch of " + programs.size() + " programs exceeded " + limit);
      }
      lines.addAll(Files.readAllLines(out, StandardCharsets.UTF_8));
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(dir);
    }
    if (lines.size() != programs.size()) {
      throw new AssertionError("the batch driver reported " + lines.size() + " outcomes for "
          + programs.size() + " programs");
    }
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    List<Run> runs = new ArrayList<>();
    for (String line : lines) {
      String error = json.readValue(line, String.class);
      runs.add(new Run(error.isEmpty() ? 0 : 1, false, error, -1));
    }
    return runs;
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
