package io.fractalrmo.app.up;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.FractalCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** Bad input to {@code fractal up} fails fast, with a message that says what to do. */
class UpCommandTest {

  @TempDir
  Path dir;

  private final StringWriter err = new StringWriter();

  private int fractal(String... args) {
    CommandLine cli = FractalCommand.commandLine();
    cli.setErr(new PrintWriter(err, true));
    cli.setOut(new PrintWriter(new StringWriter(), true));
    return cli.execute(args);
  }

  @ParameterizedTest
  @ValueSource(strings = {"--kafka-port", "--registry-port", "--postgres-port"})
  void shouldRefuseAPortAlreadyTaken(String flag) throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      long before = System.nanoTime();
      int code = fractal("up", "--data-dir", dir.resolve("data").toString(), flag, Integer.toString(taken.getLocalPort()));
      assertThat(code).isEqualTo(ExitCodes.FAILED);
      assertThat(err.toString())
          .contains("port " + taken.getLocalPort())
          .contains("already in use")
          .contains(flag);
      assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(5));
    }
    assertThat(dir.resolve("data").resolve("endpoints.json")).doesNotExist();
  }

  @Test
  void shouldRefuseADataDirThatCannotBeCreated() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x"); // even root cannot create a dir below a file
    int code = fractal("up", "--data-dir", file.resolve("data").toString());
    assertThat(code).isEqualTo(ExitCodes.FAILED);
    assertThat(err.toString()).contains("cannot create the data directory").contains("--data-dir");
  }

  @Test
  void shouldExplainAMissingSubcommand() {
    assertThat(fractal()).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("fractal up");
  }

  @Test
  void shouldSayThatTheSinkNeedsADatabase() {
    int code = fractal("run", "sink", "--bootstrap-servers", "127.0.0.1:1", "--schema-registry-url", "http://127.0.0.1:1");
    assertThat(code).isEqualTo(ExitCodes.FAILED);
    assertThat(err.toString()).contains("needs PostgreSQL").contains("--jdbc-url");
  }

  @Test
  void shouldRejectAnUnknownRole() {
    int code = fractal("run", "no-such-role", "--bootstrap-servers", "127.0.0.1:1", "--schema-registry-url", "http://127.0.0.1:1");
    assertThat(code).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("unknown role 'no-such-role'");
  }
}
