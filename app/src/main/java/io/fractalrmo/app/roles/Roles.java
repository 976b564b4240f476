package io.fractalrmo.app.roles;

import io.fractalrmo.connectors.sink.SinkRole;
import io.fractalrmo.contracts.Endpoints;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The roles of the pipeline that this build can run, each started from an {@link Endpoints}:
 * {@code fractal up} starts all of them (in this order), {@code fractal run <role>} one. To add a
 * role, add a {@link Role} to {@link #ALL} calling the module's
 * {@code start(Endpoints, <RoleOptions>)}.
 */
public final class Roles {

  /** Per-run settings from the command line, mapped onto each module's own options. */
  public record Settings(int instances, Optional<String> aspect, Map<String, String> values) {

    public Settings {
      if (instances < 1) {
        throw new IllegalArgumentException("--instances must be at least 1, was " + instances);
      }
      Objects.requireNonNull(aspect, "aspect");
      values = Map.copyOf(values);
    }

    public static Settings defaults() {
      return new Settings(1, Optional.empty(), Map.of());
    }
  }

  /** Starts a role; the returned value stops it on close(). */
  @FunctionalInterface
  public interface Starter {
    AutoCloseable start(Endpoints endpoints, Settings settings) throws Exception;
  }

  /**
   * One role.
   *
   * @param name as typed after {@code fractal run}
   * @param description one line for {@code --help}
   * @param needsDatabase whether it cannot run without {@code --jdbc-url}
   */
  public record Role(String name, String description, boolean needsDatabase, Starter starter) {
  }

  private static final List<Role> ALL = List.of(
      new Role("sink", "PostgreSQL sink: upserts every record topic into its table", true,
          (endpoints, settings) -> SinkRole.start(endpoints, settings.values().containsKey("group.id")
              ? SinkRole.Options.defaults().withGroupId(settings.values().get("group.id"))
              : SinkRole.Options.defaults()))
  );

  /** Roles the design names that this build does not offer yet. */
  private static final List<String> PLANNED = List.of(
      "analyzer", "executor", "validator", "streams", "outbox");

  private Roles() {
  }

  /** Every role this build can run, in the order {@code fractal up} starts them. */
  public static List<Role> all() {
    return ALL;
  }

  public static Optional<Role> byName(String name) {
    return ALL.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  /** Names of the roles still to come (for messages). */
  public static List<String> planned() {
    return PLANNED.stream().filter(n -> byName(n).isEmpty()).toList();
  }
}
