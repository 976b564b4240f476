package io.fractalrmo.app.replay;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fractal replay}: what would last period's traffic have done under another rule set. */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {
        "Re-run the failed (and a sample of the passed) actions of a period through the "
            + "executors under a chosen rule set, and report the difference per rule: what a "
            + "rule fixes and what it breaks before you trust it, or what the live rules are "
            + "worth (--rules none).",
        "Replayed actions are trial records (arm REPLAY): they never change a task status, a "
            + "pattern or a rule. Exit code 0 when every replayed action got a verdict, 1 "
            + "otherwise."})
public final class ReplayCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  EndpointOptions endpoints;

  @Option(names = "--since", required = true, paramLabel = "TIME|OFFSET",
      description = "Start of the period: an ISO-8601 instant (2026-12-01T09:00:00Z), a "
          + "duration back from now (30m, 2h, 7d, PT1H), or an offset of "
          + "fractal.execution-results (the same on every partition).")
  String since;

  @Option(names = "--rules", defaultValue = "current", paramLabel = "current|none|FILE",
      description = "The rule set: the ACTIVE rules of fractal.protocol-rules (current, the "
          + "default), no rule at all (none), or a JSON file of rules (rule_id, condition, "
          + "action — the fields of a ProtocolRule).")
  String rules;

  @Option(names = "--passed", defaultValue = "20", paramLabel = "N",
      description = "How many of the period's passed actions to re-run too (default "
          + "${DEFAULT-VALUE}): what a rule set breaks shows there.")
  int passed;

  @Option(names = "--wait", defaultValue = "180", paramLabel = "SECONDS",
      description = "How long to wait for the replay's verdicts (default ${DEFAULT-VALUE}).")
  long waitSeconds;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON.")
  Path json;

  @Override
  public Integer call() throws Exception {
    PrintStream out = new PrintStream(new java.io.OutputStream() {
      @Override
      public void write(int b) {
        spec.commandLine().getOut().write(b);
      }

      @Override
      public void flush() {
        spec.commandLine().getOut().flush();
      }
    }, true, StandardCharsets.UTF_8);
    Endpoints e = endpoints.resolve();
    ReplayRunner runner = new ReplayRunner(e, FractalSerdes.config(e.schemaRegistryUrl()),
        new ReplayRunner.Options(since, rules, passed, Duration.ofSeconds(waitSeconds)), out,
        Clock.systemUTC());
    ReplayReport report;
    try {
      report = runner.run();
    } catch (IllegalArgumentException ex) {
      spec.commandLine().getErr().println("fractal replay: " + ex.getMessage());
      return ExitCodes.FAILED;
    }
    out.print(report.toTable());
    if (json != null) {
      Files.writeString(json, report.toJson(), StandardCharsets.UTF_8);
      out.println("report: " + json.toAbsolutePath());
    }
    out.flush();
    return report.unanswered() == 0 ? ExitCodes.OK : ExitCodes.FAILED;
  }
}
