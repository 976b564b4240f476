package io.fractalrmo.app.demo;

import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.app.run.Signals;
import io.fractalrmo.app.observe.StackObservability;
import io.fractalrmo.app.terminal.RoleLogs;
import io.fractalrmo.app.terminal.Terminal;
import io.fractalrmo.app.up.LocalStack;
import io.fractalrmo.app.up.UpCommand;
import io.fractalrmo.app.up.StackSettings;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fractal demo}: the whole loop on real problems, measured, in about three minutes. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Start the embedded stack (as 'fractal up'), feed HumanEval problems with injected faults "
            + "through Kafka in waves, and show the system learn: errors become patterns, patterns "
            + "become rules that are tried before they are adopted, and the fixable faults stop failing.",
        "Wave 1 runs fresh tasks with no rules; once rules are ACTIVE, wave 2 submits fresh tasks twice, "
            + "interleaved: with fractal.rules=off and with rules on. "
            + "Prints a table per fault class, writes the figures as JSON (--report) and an HTML chart beside it.",
        "Exit code 0 when the run completed (whatever it measured); 1 when the stack could not start."})
public final class DemoCommand implements Callable<Integer> {

  /** Roles the demo cannot do without. */
  static final List<String> REQUIRED_ROLES = List.of("analyzer", "executor", "validator",
      "streams");

  @Spec
  CommandSpec spec;

  @Option(names = "--tasks", paramLabel = "N", defaultValue = "100",
      description = "Tasks to submit in all (default ${DEFAULT-VALUE}; at least 12). About 40 % "
          + "form the comparison set, run once without and once with rules.")
  int tasks;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
      description = "Seed of the problem choice and the fault injection (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--workload", paramLabel = "W", defaultValue = "default",
      converter = WorkloadConverter.class,
      description = "What to feed it: 'default' (every fixable fault repeats enough to be tried "
          + "in full; the expectations of the README hold) or 'hard' (timeouts beyond a doubled "
          + "limit, imports spread over many modules, many syntax slips: rules that must fail "
          + "their trials). Default ${DEFAULT-VALUE}.")
  Workload workload;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Data directory of the stack (default: a temporary one, deleted afterwards but for the report and chart).")
  Path dataDir;

  @Option(names = "--report", paramLabel = "FILE",
      description = "Where to write the JSON report (default DIR/report.json; the HTML chart goes "
          + "beside it).")
  Path report;

  @Option(names = "--keep-running",
      description = "Keep the stack running after the report, until Ctrl-C, to look around.")
  boolean keepRunning;

  @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of the live dashboard, /metrics, /health and MCP (0 = a free one).")
  int httpPort;

  @Option(names = "--verbose", description = "Show the roles' log lines here instead of only in DIR/logs/fractal.log.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    PrintWriter writer = spec.commandLine().getOut();
    Terminal terminal = new Terminal(writer, Terminal.isTty(), 2_000);
    PrintStream out = terminal.stream();
    if (tasks < DemoPlan.MIN_TASKS) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--tasks must be at least " + DemoPlan.MIN_TASKS + " (was " + tasks + ")");
    }
    List<String> missing = REQUIRED_ROLES.stream().filter(r -> Roles.byName(r).isEmpty()).toList();
    if (!missing.isEmpty()) {
      spec.commandLine().getErr().println("fractal demo: this build cannot run the pipeline's "
          + String.join(", ", missing) + " role(s) yet; the demo needs them");
      return ExitCodes.FAILED;
    }
    boolean temporary = dataDir == null;
    Path dir = temporary ? Files.createTempDirectory("fractal-demo") : dataDir;
    Path reportFile = report != null ? report : dir.resolve("report.json");
    out.println("Starting the embedded stack in " + dir.toAbsolutePath().normalize() + " ...");
    RoleLogs logs = verbose ? null : RoleLogs.toFileOrConsole(RoleLogs.fileIn(dir));
    if (logs != null) {
      out.println("  role logs go to " + logs.file() + " (--verbose shows them here)");
    }
    LocalStack stack;
    StackObservability observe;
    try {
      stack = LocalStack.start(StackSettings.defaults(dir));
    } catch (RuntimeException e) {
      if (logs != null) {
        logs.close();
      }
      spec.commandLine().getErr().println("fractal demo: the embedded stack could not start: "
          + e.getMessage());
      if (temporary) {
        FileTrees.deleteTree(dir);
      }
      return ExitCodes.FAILED;
    }
    try {
      observe = StackObservability.start(stack.endpoints(), stack.roles(), "127.0.0.1", httpPort);
    } catch (RuntimeException e) {
      stack.close();
      if (logs != null) {
        logs.close();
      }
      throw e;
    }
    try (stack; observe) {
      Endpoints e = stack.endpoints();
      out.printf("%nstack ready in %.1f s; attach Kafka UI or kcat while it runs:%n",
          stack.startup().toMillis() / 1000.0);
      out.println("  Kafka bootstrap servers  " + e.bootstrapServers());
      out.println("  Schema registry          " + e.schemaRegistryUrl());
      out.println("  PostgreSQL (JDBC)        " + e.jdbcUrl().orElse("-"));
      writer.flush();
      UpCommand.printHttp(writer, observe);
      UpCommand.printSandbox(writer, stack);
      writer.flush();
      out.println("  kcat -b " + e.bootstrapServers() + " -t " + e.topics().taskStatus().name()
          + " -s value=avro -r " + e.schemaRegistryUrl() + " -C");
      DemoRunner runner = new DemoRunner(e, FractalSerdes.config(e.schemaRegistryUrl()),
          DemoRunner.Options.defaults(tasks, seed, workload), terminal);
      DemoReport result = runner.run();
      out.print(result.toTable());
      Path[] files = DemoRunner.write(result, reportFile);
      out.println("\nreport: " + files[0].toAbsolutePath() + "\nchart:  "
          + files[1].toAbsolutePath());
      if (keepRunning) {
        CountDownLatch stop = Signals.stopRequested();
        out.println("\nThe stack keeps running (--keep-running); press Ctrl-C to stop.");
        stop.await();
      }
      out.println("Stopping the stack ...");
    } finally {
      if (logs != null) {
        logs.close();
      }
      if (temporary && report == null) {
        // the report lives in the temporary dir: keep the reports, drop the rest
        deleteExcept(dir, reportFile);
      } else if (temporary) {
        FileTrees.deleteTree(dir);
      }
    }
    return ExitCodes.OK;
  }

  private static void deleteExcept(Path dir, Path keep) {
    String base = keep.getFileName().toString().replaceAll("\\.json$", "");
    try (var entries = Files.list(dir)) {
      for (Path p : entries.toList()) {
        if (!p.getFileName().toString().startsWith(base) && !p.getFileName().toString().equals("logs")) {
          FileTrees.deleteTree(p);
        }
      }
    } catch (IOException e) {
      // best effort: a temporary directory
    }
  }

  static final class WorkloadConverter implements picocli.CommandLine.ITypeConverter<Workload> {
    @Override
    public Workload convert(String value) {
      return Workload.parse(value);
    }
  }
}
