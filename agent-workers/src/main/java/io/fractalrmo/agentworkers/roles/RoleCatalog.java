package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.contracts.Endpoints;
import java.util.List;
import java.util.Locale;

/**
 * The worker roles of this module by name, for {@code fractal run <role>} and {@code fractal up}:
 * {@code analyzer}, {@code executor}, {@code validator}. Each start returns once the role runs and
 * stops it on {@code close()} (each worker finishes or aborts its transaction and leaves its
 * group); {@link RunningRole#closeOnShutdown()} ties that to SIGTERM.
 */
public final class RoleCatalog {

  private static final List<String> NAMES =
      List.of(AnalyzerRole.NAME, ExecutorRole.NAME, ValidatorRole.NAME);

  private RoleCatalog() {
  }

  public static List<String> names() {
    return NAMES;
  }

  public static boolean has(String name) {
    return name != null && NAMES.contains(name.toLowerCase(Locale.ROOT));
  }

  /** Starts the role called {@code name}; throws IllegalArgumentException for an unknown name. */
  public static RunningRole start(String name, Endpoints endpoints, RoleOptions options) {
    String role = name == null ? "" : name.toLowerCase(Locale.ROOT);
    return switch (role) {
      case AnalyzerRole.NAME -> AnalyzerRole.start(endpoints, options);
      case ExecutorRole.NAME -> ExecutorRole.start(endpoints, options);
      case ValidatorRole.NAME -> ValidatorRole.start(endpoints, options);
      default -> throw new IllegalArgumentException(
          "no worker role '" + name + "' in this module; roles: " + String.join(", ", NAMES));
    };
  }
}
