package io.fractalrmo.agentworkers.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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

  /**
   * The installation prefixes (the directory above {@code bin/}) of the interpreter as given and
   * of its real path, those outside {@code /usr}: what a sandbox must expose besides the system.
   */
  public static List<Path> prefixesOutsideUsr(Path python) {
    Set<Path> prefixes = new LinkedHashSet<>();
    for (Path p : List.of(python.toAbsolutePath().normalize(), resolve(python))) {
      if (!p.startsWith("/usr/")) {
        Path bin = p.getParent();
        Path prefix = bin != null && bin.getParent() != null ? bin.getParent() : bin;
        if (prefix != null && prefix.getParent() != null) {
          prefixes.add(prefix);
        }
      }
    }
    return List.copyOf(prefixes);
  }

  /**
   * The outermost directory on the way to one of the interpreter's prefixes that a user other
   * than its owner and group cannot enter (no search permission for others, e.g. a home directory of
   * mode 0700), if any: a sandboxed run under a uid of its own cannot import the standard library
   * from there.
   */
  public static Optional<Path> closedToOthers(Path python) {
    for (Path prefix : prefixesOutsideUsr(python)) {
      Path closed = null;
      for (Path dir = prefix; dir != null && dir.getParent() != null; dir = dir.getParent()) {
        if (!enterableByOthers(dir)) {
          closed = dir; // the outermost such directory: opening it is what comes first
        }
      }
      if (closed != null) {
        return Optional.of(closed);
      }
    }
    return Optional.empty();
  }

  private static boolean enterableByOthers(Path dir) {
    try {
      return Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_EXECUTE);
    } catch (java.io.IOException | UnsupportedOperationException e) {
      return false;
    }
  }
}
