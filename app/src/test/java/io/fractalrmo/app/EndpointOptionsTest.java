package io.fractalrmo.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.platform.PlatformException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class EndpointOptionsTest {

  @Command(name = "probe")
  static final class Probe {
    @Mixin
    EndpointOptions endpoints;
  }

  @TempDir
  Path dir;

  private static EndpointOptions parse(String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).parseArgs(args);
    return probe.endpoints;
  }

  @Test
  void shouldTakeEndpointsAndTopicPrefixFromFlags() {
    Endpoints e = parse("--bootstrap-servers", "k:9092", "--schema-registry-url", "http://r:8081",
        "--jdbc-url", "jdbc:postgresql://db/fractal", "--topic-prefix", "team-a.").resolve();
    assertThat(e.bootstrapServers()).isEqualTo("k:9092");
    assertThat(e.schemaRegistryUrl()).isEqualTo("http://r:8081");
    assertThat(e.jdbcUrl()).contains("jdbc:postgresql://db/fractal");
    assertThat(e.topics().tasks().name()).isEqualTo("team-a.fractal.tasks");
  }

  @Test
  void shouldSayWhatToDoWhenNothingNamesKafka() {
    Assumptions.assumeTrue(System.getenv("FRACTAL_BOOTSTRAP_SERVERS") == null
        && !Files.exists(EndpointOptions.defaultEndpointsFile()));
    assertThatThrownBy(() -> parse().resolve())
        .isInstanceOf(PlatformException.class)
        .hasMessageContaining("--bootstrap-servers")
        .hasMessageContaining("fractal up");
  }

  @Test
  void shouldReadTheFileFractalUpWrites() throws Exception {
    Path file = Files.writeString(dir.resolve("endpoints.json"), """
        {"bootstrap_servers": "127.0.0.1:1", "schema_registry_url": "http://127.0.0.1:2",
         "jdbc_url": null, "topic_prefix": "", "pid": 1}
        """);
    Endpoints e = EndpointOptions.read(file);
    assertThat(e.bootstrapServers()).isEqualTo("127.0.0.1:1");
    assertThat(e.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:2");
    assertThat(e.jdbcUrl()).isEqualTo(Optional.empty());
    assertThat(EndpointOptions.writerPid(file)).contains(1L);
  }
}
