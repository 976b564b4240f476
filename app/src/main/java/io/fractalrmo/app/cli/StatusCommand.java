package io.fractalrmo.app.cli;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.connectors.query.RecordQueries;
import io.fractalrmo.connectors.query.Reports;
import io.fractalrmo.platform.PlatformException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fractal status [TASK_ID]}: a task's history, or recent tasks by state, from PostgreSQL;
 * the summary also lists every agent instance with its state and health, from
 * {@code fractal.agent-status}; {@code --trace} prints a task's trace from the topics
 * ({@link TaskTrace}).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show a task's history, or without TASK_ID a summary of recent tasks by state "
        + "(from the PostgreSQL record the sink writes) and every agent's state and health "
        + "(STARTING, RUNNING, DEGRADED with why, FAILED, STOPPED; from fractal.agent-status).")
public final class StatusCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  EndpointOptions endpoints;

  @Parameters(arity = "0..1", paramLabel = "TASK_ID", description = "The task to show.")
  String taskId;

  @Option(names = "--since", paramLabel = "DURATION", defaultValue = "PT24H",
      description = "Summary window (ISO-8601, default ${DEFAULT-VALUE}).")
  Duration since;

  @Option(names = "--trace",
      description = "With TASK_ID: print the task's trace — every hop (span name, role/instance, "
          + "start, duration, parent, links) — rebuilt from the trace headers of its records on "
          + "the topics and its status transitions; needs Kafka only.")
  boolean trace;

  @Option(names = "--limit", defaultValue = "20",
      description = "How many latest tasks the summary lists (default ${DEFAULT-VALUE}).")
  int limit;

  @Override
  public Integer call() {
    if (trace) {
      if (taskId == null) {
        spec.commandLine().getErr().println("fractal: --trace needs a TASK_ID");
        return ExitCodes.USAGE;
      }
      TaskTrace t = TaskTrace.read(endpoints.resolve(), taskId, Duration.ofSeconds(30));
      spec.commandLine().getOut().print(t.render());
      spec.commandLine().getOut().flush();
      return t.traceId().isPresent() ? ExitCodes.OK : ExitCodes.FAILED;
    }
    RecordQueries queries = new RecordQueries(jdbcUrl(endpoints));
    try {
      if (taskId == null) {
        spec.commandLine().getOut().print(
            Reports.summary(queries.summary(Instant.now().minus(since), limit)));
        spec.commandLine().getOut().print(agents());
        return ExitCodes.OK;
      }
      Optional<RecordQueries.TaskHistory> history = queries.history(taskId);
      if (history.isEmpty()) {
        spec.commandLine().getErr().println("fractal: no task " + taskId + " in the record");
        return ExitCodes.FAILED;
      }
      spec.commandLine().getOut().print(Reports.history(history.get()));
      return ExitCodes.OK;
    } catch (SQLException e) {
      throw new PlatformException("cannot query PostgreSQL: " + e.getMessage(), e);
    } finally {
      spec.commandLine().getOut().flush();
    }
  }

  /** The agents section; a line saying why when Kafka cannot be read (the summary still stands). */
  private String agents() {
    try {
      return AgentsView.render(AgentsView.latest(endpoints.resolve(), Duration.ofSeconds(15)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "agents: interrupted\n";
    } catch (RuntimeException e) {
      return "agents: cannot read them (" + e.getMessage() + ")\n";
    }
  }

  static String jdbcUrl(EndpointOptions endpoints) {
    return endpoints.jdbcUrl().orElseGet(() -> {
      try {
        return endpoints.resolve().requireJdbcUrl();
      } catch (IllegalStateException e) {
        throw new PlatformException(e.getMessage());
      }
    });
  }
}
