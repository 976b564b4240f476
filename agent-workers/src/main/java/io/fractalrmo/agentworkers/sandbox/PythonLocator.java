package io.fractalrmo.agentworkers.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Finds the Python interpreter: env {@code FRACTAL_PYTHON}, else {@code /usr/bin/python3} (fast
 * start), else {@code python3} on PATH (resolved to the real binary, not a shim script).
 */
public final class PythonLocator {

  public static final String ENV = "FRACTAL_PYTHON";

  private PythonLocator() {}

  public static Path locate() {
    return locate(System.getenv());
  }

  static Path locate(Map<String, String> env) {
    String configured = env.get(ENV);
    if (configured != null && !configured.isBlank()) {
      return resolve(Path.of(configured));
    }
    Path system = Path.of("/usr/bin/python3");
    if (Files.isExecutable(system)) {
      return system;
    }
    String path = env.getOrDefault("PATH", "");
    for (String dir : path.split(":")) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, "python3");
      if (Files.isExecutable(candidate)) {
        return resolve(candidate);
      }
    }
    throw new IllegalStateException("no Python 3 found: set " + ENV + " or install /usr/bin/python3");
  }

  private static Path resolve(Path p) {
    try {
      return p.toRealPath();
    } catch (java.io.IOException e) {
      return p;
    }
  }
}
