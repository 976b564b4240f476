package io.fractalrmo.app.run;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.observe.RoleObservability;
import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.runtime.Supervised;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code fractal run <role>}: one role of the pipeline against any cluster, until Ctrl-C. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {
        "Run one role of the pipeline against Kafka, the schema registry and (for some roles) PostgreSQL.",
        "Scale a role by starting more instances: Kafka's consumer groups share the partitions among them.",
        "Without --bootstrap-servers/--schema-registry-url (or their environment variables) the endpoints of a "
            + "running 'fractal up' are used."})
public final class RunCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "ROLE", completionCandidates = RoleNames.class,
      description = "One of: ${COMPLETION-CANDIDATES}.")
  String role;

  @Option(names = "--instances", defaultValue = "1", description = "Worker instances in this process (default ${DEFAULT-VALUE}).")
  int instances;

  @Option(names = "--aspect", description = "For 'analyzer': only this aspect (default: all five).")
  String aspect;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A role setting, e.g. --set group.id=my-sink (repeatable).")
  Map<String, String> values = new LinkedHashMap<>();

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "Local state of the role (Streams stores, outbox offsets); default: a fresh temporary directory, deleted when the role stops.")
  java.nio.file.Path stateDir;

  @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "${env:FRACTAL_METRICS_PORT:-0}",
      description = "Port of this role's /metrics and /health (0 = a free one, printed; -1 = none; env FRACTAL_METRICS_PORT).")
  int metricsPort;

  @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "${env:FRACTAL_METRICS_HOST:-127.0.0.1}",
      description = "Address the metrics port listens on (default 127.0.0.1; 0.0.0.0 in a container; env FRACTAL_METRICS_HOST).")
  String metricsHost;

  @Mixin
  EndpointOptions endpointOptions;

  /** The roles with what each does, and the settings --set understands; shown under --help. */
  public static String[] footer() {
    java.util.List<String> lines = new java.util.ArrayList<>();
    lines.add("");
    lines.add("Roles:");
    for (Roles.Role r : Roles.all()) {
      lines.add(String.format("  %-10s %s%s", r.name(), r.description(),
          r.needsDatabase() ? " (needs --jdbc-url)" : ""));
    }
    lines.add("");
    lines.add("Settings (--set KEY=VALUE; checked at start: an unknown key or a bad value stops the role, naming it):");
    // one line per setting, with the roles that understand it
    java.util.Map<String, String> line = new java.util.LinkedHashMap<>();
    java.util.Map<String, java.util.List<String>> roles = new java.util.LinkedHashMap<>();
    for (Roles.Role r : Roles.all()) {
      java.util.List<String> help = r.settings().helpLines();
      for (String h : help) {
        String key = h.substring(0, h.indexOf(' ') < 0 ? h.length() : h.indexOf(' '));
        line.putIfAbsent(key, h);
        roles.computeIfAbsent(key, k -> new java.util.ArrayList<>()).add(r.name());
      }
    }
    line.forEach((key, h) -> lines.add("  " + h + "  [" + String.join(", ", roles.get(key)) + "]"));
    lines.add("");
    lines.add("Example: fractal run executor --instances 2 --bootstrap-servers kafka-1:9092 \\");
    lines.add("           --schema-registry-url http://registry:8081");
    return lines.toArray(String[]::new);
  }

  @Override
  public Integer call() throws Exception {
    Roles.Role chosen = Roles.byName(role).orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(),
        "unknown role '" + role + "': choose one of " + Roles.all().stream().map(Roles.Role::name).toList()
            + (Roles.planned().isEmpty() ? "" : " (not in this build yet: " + Roles.planned() + ")")));
    Endpoints endpoints = endpointOptions.resolve();
    if (chosen.needsDatabase() && endpoints.jdbcUrl().isEmpty()) {
      throw new io.fractalrmo.platform.PlatformException("role " + chosen.name()
          + " needs PostgreSQL: pass --jdbc-url or set FRACTAL_JDBC_URL");
    }
    chosen.settings().parse(values); // an unknown key or a bad value: refused before anything starts
    PrintWriter out = spec.commandLine().getOut();
    CountDownLatch stop = Signals.stopRequested();
    java.nio.file.Path state = stateDir != null ? stateDir
        : java.nio.file.Files.createTempDirectory("fractal-" + chosen.name() + "-");
    try (AutoCloseable running = chosen.starter().start(endpoints,
        new Roles.Settings(instances, Optional.ofNullable(aspect), values, state));
         RoleObservability observe = metricsPort < 0 ? null
             : RoleObservability.start(chosen.name(), running, metricsHost, metricsPort)) {
      out.println("role " + chosen.name() + " running against " + endpoints.bootstrapServers()
          + " (registry " + endpoints.schemaRegistryUrl() + "); Ctrl-C to stop.");
      if (observe != null) {
        out.println("  metrics " + observe.url() + "/metrics  health " + observe.url() + "/health");
      }
      out.flush();
      Throwable failed = awaitStopOrFailure(stop, running);
      if (failed != null) {
        // a fatal error: stop, and exit non-zero so that a supervisor restarts the role
        spec.commandLine().getErr().println("fractal: role " + chosen.name() + " failed: "
            + failed);
        spec.commandLine().getErr().flush();
        return ExitCodes.FAILED;
      }
    } finally {
      if (stateDir == null) {
        deleteTemporary(state); // a fresh directory no later run would find again
      }
    }
    out.println("role " + chosen.name() + " stopped.");
    out.flush();
    return ExitCodes.OK;
  }

  /** Waits for SIGINT/SIGTERM (null) or the role failing (its cause). */
  private static Throwable awaitStopOrFailure(CountDownLatch stop, AutoCloseable running)
      throws InterruptedException {
    while (!stop.await(500, java.util.concurrent.TimeUnit.MILLISECONDS)) {
      if (running instanceof Supervised s
          && s.health().health() == io.fractalrmo.contracts.AgentHealth.FAILED) {
        return s.failure() != null ? s.failure() : new IllegalStateException(s.health().toString());
      }
    }
    return null;
  }

  private static void deleteTemporary(java.nio.file.Path dir) {
    if (!FileTrees.deleteTree(dir)) {
      LOG.warn("cannot delete the temporary state directory {}", dir);
    }
  }

  /** The role names for help and completion. */
  static final class RoleNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return Roles.all().stream().map(Roles.Role::name).iterator();
    }
  }
}
