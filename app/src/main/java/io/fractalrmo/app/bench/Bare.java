package io.fractalrmo.app.bench;

import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset.Problem;
import io.fractalrmo.platform.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The same programs the pipeline runs (solution, tests, {@code check(entry_point)}), run bare:
 * {@code python3 -I file.py}, as many at once as the machine has cores. A run counts as passed
 * only when the program printed a marker after its last line (an early {@code exit(0)} does not),
 * so a fast wrong answer fails the benchmark here too.
 */
final class Bare {

  static final String MARKER = "FRACTAL-BENCH-COMPLETED";

  /** One bare pass over the programs. */
  record Result(int programs, int passed, List<String> failed, double wallMs, Cpu.Usage cpu,
      List<Double> perProgramMs) {

    double tasksPerSecond() {
      return wallMs <= 0 ? 0 : programs * 1000.0 / wallMs;
    }
  }

  private final Path python;
  private final Path dir;
  private final List<Problem> problems;
  private final List<Path> files = new ArrayList<>();

  Bare(Path python, Path dir, List<Problem> problems) throws IOException {
    this.python = python;
    this.dir = Files.createDirectories(dir);
    this.problems = List.copyOf(problems);
    for (int i = 0; i < problems.size(); i++) {
      Problem p = problems.get(i);
      Path f = dir.resolve("p" + i + ".py");
      Files.writeString(f, program(p), StandardCharsets.UTF_8);
      files.add(f);
    }
  }

  /** The program as the sandbox composes it, plus the completion marker. */
  static String program(Problem p) {
    String code = p.solution();
    return code + (code.endsWith("\n") ? "" : "\n") + "\n\n" + p.test() + "\n\ncheck("
        + p.entryPoint() + ")\nprint(\"" + MARKER + "\")\n";
  }

  /** Runs every program, {@code parallel} at a time. */
  Result runAll(int parallel) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(parallel, r -> {
      Thread t = new Thread(r, "fractal-bench-bare");
      t.setDaemon(true);
      return t;
    });
    try {
      Cpu.Snapshot before = Cpu.snapshot();
      long start = System.nanoTime();
      List<Future<Double>> runs = new ArrayList<>();
      for (Path f : files) {
        runs.add(pool.submit(() -> runOne(f)));
      }
      List<String> failed = new ArrayList<>();
      List<Double> times = new ArrayList<>();
      for (int i = 0; i < runs.size(); i++) {
        try {
          double ms = runs.get(i).get();
          if (ms < 0) {
            failed.add(problems.get(i).taskId());
          } else {
            times.add(ms);
          }
        } catch (ExecutionException e) {
          failed.add(problems.get(i).taskId() + " (" + e.getCause() + ")");
        }
      }
      double wall = (System.nanoTime() - start) / 1e6;
      Cpu.Usage cpu = Cpu.between(before, Cpu.snapshot());
      return new Result(files.size(), files.size() - failed.size(), failed, wall, cpu, times);
    } finally {
      pool.shutdownNow();
    }
  }

  /** Wall time of one program in ms, or -1 when it did not complete. */
  double runOne(Path file) throws IOException, InterruptedException {
    long t = System.nanoTime();
    Process p = new ProcessBuilder(python.toString(), "-I", file.toString())
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    double ms = (System.nanoTime() - t) / 1e6;
    boolean ok = p.exitValue() == 0 && new String(out, StandardCharsets.UTF_8).contains(MARKER);
    return ok ? ms : -1;
  }

  Path file(int index) {
    return files.get(index);
  }

  void delete() {
    FileTrees.deleteTree(dir);
  }
}
