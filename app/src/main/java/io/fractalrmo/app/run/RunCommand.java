package io.fractalrmo.app.run;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.observe.RoleObservability;
import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.FileTrees;
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
    lines.add("Settings (--set KEY=VALUE):");
    lines.add("  sandbox.warm-pool=N       executor, validator: pre-started sandboxed interpreters (default instances+1)");
    lines.add("  sandbox.bubblewrap=BOOL   executor, validator: confine code with bwrap when installed (default true)");
    lines.add("  sandbox.work-root=DIR     executor, validator: where runs' work dirs go without bwrap (a bounded tmpfs)");
    lines.add("  sandbox.unsafe-allow-unconfined=BOOL  run untrusted code even when no sandbox layer works (default false)");
    lines.add("  model.url=URL             executor: OpenAI-compatible chat-completions endpoint for GENERATE_CODE");
    lines.add("  model.name=NAME           executor: model name sent to it (API key only from FRACTAL_MODEL_API_KEY)");
    for (io.fractalrmo.contracts.InputLimits.Setting s : io.fractalrmo.contracts.InputLimits.SETTINGS) {
      lines.add(String.format("  %-25s streams, analyzer, executor, validator: %s (default %d)",
          s.key() + "=N", s.doc(), s.defaultValue()));
    }
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
      stop.await();
    } finally {
      if (stateDir == null) {
        deleteTemporary(state); // a fresh directory no later run would find again
      }
    }
    out.println("role " + chosen.name() + " stopped.");
    out.flush();
    return ExitCodes.OK;
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
