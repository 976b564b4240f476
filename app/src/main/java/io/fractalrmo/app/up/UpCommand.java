package io.fractalrmo.app.up;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.app.run.Signals;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.app.observe.StackObservability;
import io.fractalrmo.app.terminal.RoleLogs;
import io.fractalrmo.app.terminal.Terminal;
import java.util.concurrent.TimeUnit;
import io.fractalrmo.platform.Ports;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code fractal up}: the whole system on this machine until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = {
        "Start a Kafka broker (KRaft), PostgreSQL and a schema registry on this machine, create the topics, "
            + "register the schemas, migrate the database and start every role of the pipeline.",
        "Writes DIR/endpoints.json and prints the endpoints once everything is ready; runs until Ctrl-C "
            + "(SIGINT) or SIGTERM, then stops everything and exits 0.",
        "Data stays in DIR: the next 'fractal up' on it comes back with its topics, offsets, schemas and rows.",
        "Give --bootstrap-servers / --schema-registry-url / --jdbc-url to use external infrastructure instead."})
public final class UpCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${env:FRACTAL_DATA_DIR:-.fractal}",
      description = "Where the broker, database and endpoints.json live (default: ${DEFAULT-VALUE}; env FRACTAL_DATA_DIR).")
  Path dataDir;

  @Option(names = "--kafka-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of the Kafka broker (0 = a free one, the previous run's when free).")
  int kafkaPort;

  @Option(names = "--registry-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of the schema registry (0 = a free one, the previous run's when free).")
  int registryPort;

  @Option(names = "--postgres-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of PostgreSQL (0 = a free one, the previous run's when free).")
  int postgresPort;

  @Option(names = "--no-roles", description = "Start only the infrastructure, not the pipeline's roles.")
  boolean noRoles;

  @Option(names = "--brokers", paramLabel = "N", defaultValue = "1",
      description = "Kafka brokers to start (default ${DEFAULT-VALUE}). With 3: a KRaft cluster of three "
          + "combined broker+controller nodes, replication factor 3, min.insync.replicas 2, so any one "
          + "broker may die without losing an acknowledged record.")
  int brokers;

  @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of the dashboard, /metrics, /health and the MCP endpoint (0 = a free one).")
  int httpPort;

  @Option(names = "--http-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
      description = "Address the HTTP port listens on (default ${DEFAULT-VALUE}: this machine only).")
  String httpHost;

  @Option(names = "--verbose", description = "Show the roles' log lines here instead of only in DIR/logs/fractal.log.")
  boolean verbose;

  @Mixin
  EndpointOptions external;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    CountDownLatch stop = Signals.stopRequested();
    StackSettings settings = StackSettings.defaults(dataDir)
        .withPorts(kafkaPort, registryPort, postgresPort)
        .withExternal(external.bootstrapServers(), external.schemaRegistryUrl(), external.jdbcUrl())
        .withCatalog(external.catalog())
        .withRoles(!noRoles)
        .withBrokers(brokers);
    if (httpPort != 0) {
      Ports.resolve(httpPort, "the HTTP endpoint", "--http-port");
    }
    out.println("Starting fractal in " + dataDir.toAbsolutePath().normalize() + " ...");
    RoleLogs logs = verbose ? null : RoleLogs.toFileOrConsole(RoleLogs.fileIn(dataDir));
    if (logs != null) {
      out.println("  role logs go to " + logs.file() + " (--verbose shows them here)");
    }
    out.flush();
    LocalStack started;
    try {
      started = LocalStack.start(settings, stop); // SIGTERM or Ctrl-C meanwhile ends the start
    } catch (LocalStack.StartCancelled e) {
      if (logs != null) {
        logs.close();
      }
      out.println("Stopped while starting.");
      out.flush();
      return ExitCodes.OK;
    } catch (RuntimeException e) {
      if (logs != null) {
        logs.close();
      }
      throw e;
    }
    try (LocalStack stack = started;
         StackObservability observe = StackObservability.start(stack.endpoints(), stack.roles(),
             httpHost, httpPort)) {
      printReady(out, stack, observe, logs);
      Terminal terminal = new Terminal(out, Terminal.isTty(), 30_000);
      observe.view().onEvent(terminal.stream()::println);
      do {
        terminal.progress(observe.view().statusLine()); // drawn when it changed
        java.util.Optional<String> failed = stack.failedRole();
        if (failed.isPresent()) {
          // a fatal error: stop everything and exit non-zero, so that a supervisor restarts us
          observe.view().onEvent(line -> { });
          terminal.endProgress(observe.view().statusLine());
          spec.commandLine().getErr().println("fractal: " + failed.get() + "; stopping");
          spec.commandLine().getErr().flush();
          return ExitCodes.FAILED;
        }
      } while (!stop.await(1, TimeUnit.SECONDS));
      observe.view().onEvent(line -> { });
      terminal.endProgress(observe.view().statusLine());
      out.println("Stopping ...");
      out.flush();
    } finally {
      if (logs != null) {
        logs.close();
      }
    }
    out.println("Stopped.");
    out.flush();
    return ExitCodes.OK;
  }

  /**
   * How the executor's sandbox confines untrusted code, as its start-up self-test found it (the
   * layers in force, or why it refuses to run code), as {@code fractal up} and {@code fractal
   * demo} print it.
   */
  public static void printSandbox(PrintWriter out, LocalStack stack) {
    if (stack.roles().get("executor") instanceof io.fractalrmo.agentworkers.roles.RunningRole r) {
      r.sandbox().ifPresent(s -> out.println("  Sandbox (executor)       "
          + s.confinement().describe() + "; bubblewrap: " + s.confinement().bubblewrap()));
    }
  }

  /** The HTTP endpoints, as {@code fractal up} and {@code fractal demo} print them. */
  public static void printHttp(PrintWriter out, StackObservability observe) {
    out.println("  Dashboard                " + observe.url() + "/");
    out.println("  Metrics (Prometheus)     " + observe.metricsUrl());
    out.println("  Health                   " + observe.healthUrl());
    out.println("  MCP (Streamable HTTP)    " + observe.mcpUrl());
  }

  private static void printReady(PrintWriter out, LocalStack stack, StackObservability observe,
      RoleLogs logs) {
    Endpoints e = stack.endpoints();
    out.println();
    out.printf("fractal is up (%.1f s). Endpoints:%n", stack.startup().toMillis() / 1000.0);
    out.println("  Kafka bootstrap servers  " + e.bootstrapServers());
    out.println("  Schema registry          " + e.schemaRegistryUrl());
    out.println("  PostgreSQL (JDBC)        " + e.jdbcUrl().orElse("-"));
    printHttp(out, observe);
    printSandbox(out, stack);
    out.println("  written to               " + stack.endpointsFile());
    if (logs != null) {
      out.println("  role logs                " + logs.file());
    }
    out.println();
    out.println("  running: " + String.join(", ", stack.components()));
    if (!Roles.planned().isEmpty()) {
      out.println("  roles not in this build yet: " + String.join(", ", Roles.planned()));
    }
    out.println();
    out.println("  kcat -b " + e.bootstrapServers() + " -t " + e.topics().tasks().name()
        + " -s value=avro -r " + e.schemaRegistryUrl() + " -C -e");
    out.println();
    out.println("Press Ctrl-C to stop.");
    out.flush();
  }
}
