package io.fractalrmo.app.terminal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class TerminalTest {

  @Test
  void aTtyRedrawsTheProgressLineInPlaceAndKeepsItBelowOtherLines() {
    StringWriter screen = new StringWriter();
    Terminal t = new Terminal(new PrintWriter(screen), true, 2_000);
    t.progress("wave 1  1/3 done");
    t.progress("wave 1  1/3 done"); // unchanged: not drawn again
    t.progress("wave 1  2/3 done");
    t.stream().println("pattern  LOGIC|AssertionError x3");
    t.endProgress("wave 1  3/3 done");
    assertThat(screen.toString()).isEqualTo(
        "\r\033[Kwave 1  1/3 done"
            + "\r\033[Kwave 1  2/3 done"
            + "\r\033[Kpattern  LOGIC|AssertionError x3\nwave 1  2/3 done"
            + "\r\033[Kwave 1  3/3 done\n");
  }

  @Test
  void withoutATtyProgressIsPlainLinesAtMostEveryIntervalAndTheLastIsKept() {
    StringWriter screen = new StringWriter();
    Terminal t = new Terminal(new PrintWriter(screen), false, 60_000);
    t.progress("1/3 done");
    t.progress("2/3 done"); // within the interval: skipped
    t.stream().println("rule     r1 v1 CANDIDATE");
    t.endProgress("3/3 done");
    assertThat(screen.toString()).isEqualTo("1/3 done\nrule     r1 v1 CANDIDATE\n3/3 done\n");
    assertThat(screen.toString()).doesNotContain("\r", "\033");
  }

  @Test
  void roleLogsGoToTheFileUntilClosed(@TempDir Path dir) throws Exception {
    Path file = RoleLogs.fileIn(dir);
    try (RoleLogs logs = RoleLogs.toFile(file)) {
      LoggerFactory.getLogger("io.fractalrmo.test.RoleLogsProbe").info("a role's line {}", 42);
      assertThat(logs.file()).isEqualTo(file);
    }
    LoggerFactory.getLogger("io.fractalrmo.test.RoleLogsProbe").info("after close");
    assertThat(Files.readString(file)).contains("a role's line 42").doesNotContain("after close");
  }
}
