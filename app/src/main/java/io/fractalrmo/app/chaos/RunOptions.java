package io.fractalrmo.app.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options {@code fractal chaos} and {@code fractal chaos recovery} share ({@code @Mixin}):
 * how many cycles and tasks, the seed, and where the run keeps its data and logs. The defaults
 * differ per command (a chaos run is long, a recovery benchmark short): each command passes its
 * own to the accessors, and its {@code --help} lists them.
 */
final class RunOptions {

  @Option(names = "--cycles", paramLabel = "N", description = "Fault cycles (default: chaos 20, recovery 5).")
  Integer cycles;

  @Option(names = "--tasks", paramLabel = "N",
      description = "Real tasks fed (default: chaos 150 over the run, recovery 30 before each kill).")
  Integer tasks;

  @Option(names = "--seed", paramLabel = "N", description = "Seed of every random choice (default: chaos 42, recovery 7).")
  Long seed;

  @Option(names = "--dir", paramLabel = "DIR",
      description = "Where the run keeps its data and logs; kept afterwards (default: a new temporary "
          + "directory, deleted after a passing run, kept and printed after a failing one).")
  Path dir;

  @Option(names = "--keep", description = "Keep the run's directory (logs, data) even when it passes.")
  boolean keep;

  int cycles(int byDefault) {
    return cycles != null ? cycles : byDefault;
  }

  int tasks(int byDefault) {
    return tasks != null ? tasks : byDefault;
  }

  long seed(long byDefault) {
    return seed != null ? seed : byDefault;
  }

  /** {@code --dir}, else a new temporary directory named {@code prefix...}. */
  Path runDir(String prefix) throws IOException {
    return dir != null ? dir : Files.createTempDirectory(prefix);
  }

  /** Whether the run's directory stays after a passing run. */
  boolean keepWhenPassed() {
    return keep || dir != null;
  }
}
