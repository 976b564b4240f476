package io.fractalrmo.app.roles;

import io.fractalrmo.agentworkers.roles.AnalyzerRole;
import io.fractalrmo.agentworkers.roles.ExecutorRole;
import io.fractalrmo.agentworkers.roles.RoleOptions;
import io.fractalrmo.agentworkers.roles.RoleSettings;
import io.fractalrmo.agentworkers.roles.ValidatorRole;
import io.fractalrmo.connectors.outbox.OutboxIngest;
import io.fractalrmo.connectors.sink.SinkRole;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.InstanceIds;
import io.fractalrmo.runtime.settings.SettingsDef;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * The roles of the pipeline, each started from an {@link Endpoints}: {@code fractal up} starts all
 * of them (in this order: consumers of later stages first), {@code fractal run <role>} one. To add
 * a role, add a {@link Role} to {@link #ALL} calling the module's
 * {@code start(Endpoints, <RoleOptions>)}.
 */
public final class Roles {

  /**
   * Per-run settings from the command line, mapped onto each module's own options.
   *
   * @param instances worker instances in this process (worker roles)
   * @param aspect the analyzer aspect to run, empty = all five
   * @param values free-form role settings ({@code --set key=value})
   * @param stateDir where a role keeps local state (Streams stores, the outbox engine's offsets)
   */
  public record Settings(int instances, Optional<String> aspect, Map<String, String> values, Path stateDir) {

    public Settings {
      if (instances < 1) {
        throw new IllegalArgumentException("--instances must be at least 1, was " + instances);
      }
      Objects.requireNonNull(aspect, "aspect");
      Objects.requireNonNull(stateDir, "stateDir");
      values = Map.copyOf(values);
    }

    public static Settings defaults(Path stateDir) {
      return new Settings(1, Optional.empty(), Map.of(), stateDir);
    }

    RoleOptions workerOptions() {
      RoleOptions options = RoleOptions.defaults().withInstances(instances).withSettings(values);
      if (aspect.isPresent()) {
        try {
          options = options.withAspect(Aspect.valueOf(aspect.get().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("unknown --aspect '" + aspect.get() + "': choose one of "
              + AnalyzerRole.aspects().stream().map(a -> a.name().toLowerCase(Locale.ROOT)).toList(), e);
        }
      }
      return options;
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
   * @param settings the {@code --set} keys it understands (any other is refused at start)
   */
  public record Role(String name, String description, boolean needsDatabase, SettingsDef settings,
      Starter starter) {
  }

  /** The sink's settings. */
  static final SettingsDef SINK_SETTINGS = new SettingsDef("role sink")
      .define("group.id", SettingsDef.Type.STRING, null, SettingsDef.nonBlank(),
          "consumer group of the sink (its offsets in sink_offsets are kept per group)");

  /** The streams role's settings: the plan's maxima, the same {@code limits.*} the workers read. */
  static final SettingsDef STREAMS_SETTINGS = RoleSettings.limits(new SettingsDef("role streams"));

  private static final List<Role> ALL = List.of(
      new Role("sink", "PostgreSQL sink: upserts every record topic into its table", true,
          SINK_SETTINGS,
          (endpoints, settings) -> SinkRole.start(endpoints, sinkOptions(settings))),
      new Role("outbox", "Debezium outbox ingest: rows of the outbox table become Tasks on fractal.tasks", true,
          new SettingsDef("role outbox"),
          (endpoints, settings) -> OutboxIngest.start(endpoints,
              OutboxIngest.Options.defaults(settings.stateDir().resolve("outbox")))),
      new Role("streams", "Kafka Streams app: plan merge, task status, error patterns, protocol updater", false,
          STREAMS_SETTINGS,
          (endpoints, settings) -> {
            StreamsOptions options = streamsOptions(settings.stateDir().resolve("streams"));
            // the plan's input contract and maxima: the same limits.* settings the workers read
            return StreamsRole.start(endpoints, options.withSettings(options.settings()
                .withLimits(RoleSettings.inputLimits(STREAMS_SETTINGS.parse(settings.values())))));
          }),
      new Role(ValidatorRole.NAME, "validator: re-runs executed code independently (levels 1-4)", false,
          RoleSettings.validator(),
          (endpoints, settings) -> ValidatorRole.start(endpoints, settings.workerOptions())),
      new Role(ExecutorRole.NAME, "executor: runs action items in the Python sandbox, applying active rules", false,
          RoleSettings.executor(),
          (endpoints, settings) -> ExecutorRole.start(endpoints, settings.workerOptions())),
      new Role(AnalyzerRole.NAME, "analyzer swarm: five aspects (or one with --aspect) analyse each task", false,
          RoleSettings.analyzer(),
          (endpoints, settings) -> AnalyzerRole.start(endpoints, settings.workerOptions()))
  );

  private Roles() {
  }

  /**
   * Worker instances {@code fractal up} runs of a role in its one JVM (1 for roles that are not
   * worker roles).
   */
  public static int defaultInstances(String role) {
    return 1;
  }

  /**
   * The sink as a static group member whose id lives in its state directory: restarted on the
   * same directory (as {@code fractal up} does) it takes its partitions back at once.
   */
  static SinkRole.Options sinkOptions(Settings settings) {
    SinkRole.Options options = SinkRole.Options.defaults()
        .withInstanceId(InstanceIds.stable(settings.stateDir(), "sink"));
    String group = settings.values().get("group.id");
    return group == null ? options : options.withGroupId(group);
  }

  /**
   * The streams app as a static member (id kept in its state directory, beside the process id
   * Streams keeps there for its transactional ids): restarted on the same directory it rejoins
   * without waiting for its dead predecessor's session (45 s by default) to expire; 15 s is how
   * long a killed instance's tasks wait for it before the group moves them.
   */
  static StreamsOptions streamsOptions(Path stateDir) {
    return StreamsOptions.defaults(stateDir).withExtraProperties(Map.of(
        ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, InstanceIds.stable(stateDir, "streams"),
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 15_000,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000));
  }

  /** Every role this build can run, in the order {@code fractal up} starts them. */
  public static List<Role> all() {
    return ALL;
  }

  public static Optional<Role> byName(String name) {
    return ALL.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  /** Names of roles the design names that this build does not offer (none once all are in). */
  public static List<String> planned() {
    return List.of("analyzer", "executor", "validator", "streams", "sink", "outbox").stream()
        .filter(n -> byName(n).isEmpty()).toList();
  }
}
