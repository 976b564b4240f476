package io.fractalrmo.app;

import io.fractalrmo.app.run.RunCommand;
import io.fractalrmo.app.up.UpCommand;
import io.fractalrmo.platform.PlatformException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code fractal} command. Each subcommand is a class of its own; to add one, add its class to
 * the {@code subcommands} list below (keep one per line).
 */
@Command(
    name = "fractal",
    mixinStandardHelpOptions = true,
    versionProvider = FractalCommand.Version.class,
    description = {
        "Fractal-RMO: AI-agent work as an event-streaming pipeline on Apache Kafka.",
        "Start everything on this machine with 'fractal up'; run one role against any cluster with 'fractal run <role>'."},
    subcommands = {
        UpCommand.class,
        RunCommand.class,
        io.fractalrmo.app.demo.DemoCommand.class,
        io.fractalrmo.app.cli.SubmitCommand.class,
        io.fractalrmo.app.cli.StatusCommand.class,
        io.fractalrmo.app.cli.RulesCommand.class,
        io.fractalrmo.app.chaos.ChaosCommand.class,
        io.fractalrmo.app.replay.ReplayCommand.class,
        io.fractalrmo.app.mcp.McpCommand.class,
        io.fractalrmo.app.bench.BenchCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class FractalCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand (try 'fractal up' or 'fractal --help')");
  }

  /** The command line with fractal's error handling: failures we expect print one clear line. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new FractalCommand());
    commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
      Throwable cause = e;
      while (!(cause instanceof PlatformException) && cause.getCause() != null && cause.getCause() != cause) {
        cause = cause.getCause();
      }
      if (cause instanceof PlatformException || e instanceof IllegalArgumentException) {
        cmd.getErr().println("fractal: " + (cause instanceof PlatformException ? cause.getMessage() : e.getMessage()));
        return ExitCodes.FAILED;
      }
      cmd.getErr().println("fractal: " + e);
      e.printStackTrace(cmd.getErr());
      return ExitCodes.FAILED;
    });
    CommandLine run = commandLine.getSubcommands().get("run");
    if (run != null) {
      run.getCommandSpec().usageMessage().footer(io.fractalrmo.app.run.RunCommand.footer());
      run.setUsageHelpWidth(120); // one line per role and setting
    }
    return commandLine;
  }

  public static void main(String[] args) {
    io.fractalrmo.app.observe.Telemetry.configure(System.getenv());
    int code = commandLine().execute(args);
    System.exit(code);
  }

  /** The version from the jar's manifest (unknown when run from classes). */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FractalCommand.class.getPackage().getImplementationVersion();
      return new String[] {"fractal " + (v == null ? "(development build)" : v)};
    }
  }
}
