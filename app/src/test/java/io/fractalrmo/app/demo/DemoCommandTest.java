package io.fractalrmo.app.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.FractalCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DemoCommandTest {

  @TempDir
  Path dir;

  private record Result(int exitCode, String out, String err) {
  }

  private static Result run(String... args) {
    CommandLine cli = FractalCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void shouldBeASubcommandWithItsOptionsInTheHelp() {
    Result help = run("demo", "--help");
    assertThat(help.exitCode()).isEqualTo(ExitCodes.OK);
    assertThat(help.out()).contains("--tasks", "--seed", "--data-dir", "--report",
        "--keep-running");
  }

  @Test
  void shouldRefuseTooFewTasksBeforeStartingAnything() {
    Result r = run("demo", "--tasks", "3", "--data-dir", dir.toString());
    assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--tasks must be at least");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void shouldExitNonZeroWithAClearMessageWhenTheStackCannotStart() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
    Result r = run("demo", "--data-dir", file.resolve("data").toString());
    assertThat(r.exitCode()).isEqualTo(ExitCodes.FAILED);
    assertThat(r.err()).contains("fractal demo: the embedded stack could not start");
  }
}
