package io.fractalrmo.app.cli;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.connectors.query.RecordQueries;
import io.fractalrmo.connectors.query.Reports;
import io.fractalrmo.platform.PlatformException;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fractal rules [--all]}: protocol rules with their evidence and trial figures. */
@Command(name = "rules", mixinStandardHelpOptions = true,
    description = "List the live protocol rules (CANDIDATE, ACTIVE) with their evidence and "
        + "trial figures, from the PostgreSQL record.")
public final class RulesCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  EndpointOptions endpoints;

  @Option(names = "--all", description = "Include REJECTED and RETIRED rules.")
  boolean all;

  @Override
  public Integer call() {
    RecordQueries queries = new RecordQueries(StatusCommand.jdbcUrl(endpoints));
    try {
      spec.commandLine().getOut().print(Reports.rules(queries.rules(all), all));
      spec.commandLine().getOut().flush();
      return ExitCodes.OK;
    } catch (SQLException e) {
      throw new PlatformException("cannot query PostgreSQL: " + e.getMessage(), e);
    }
  }
}
