package io.fractalrmo.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.platform.PlatformException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Where to find the infrastructure, as a picocli mixin shared by every command that talks to it
 * ({@code @Mixin EndpointOptions endpoints;}). Each option falls back to its environment variable;
 * when neither Kafka nor the registry is given, the {@code endpoints.json} that {@code fractal up}
 * wrote (in {@code $FRACTAL_DATA_DIR}, default {@code ./.fractal}) is used.
 */
public final class EndpointOptions {

  /** The data directory of {@code fractal up} unless overridden. */
  public static final String DEFAULT_DATA_DIR = ".fractal";
  public static final String ENDPOINTS_FILE = "endpoints.json";

  @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
      defaultValue = "${env:FRACTAL_BOOTSTRAP_SERVERS}",
      description = "Kafka bootstrap servers (env FRACTAL_BOOTSTRAP_SERVERS).")
  String bootstrapServers;

  @Option(names = "--schema-registry-url", paramLabel = "URL",
      defaultValue = "${env:FRACTAL_SCHEMA_REGISTRY_URL}",
      description = "Confluent-compatible schema registry (env FRACTAL_SCHEMA_REGISTRY_URL).")
  String schemaRegistryUrl;

  @Option(names = "--jdbc-url", paramLabel = "URL",
      defaultValue = "${env:FRACTAL_JDBC_URL}",
      description = "PostgreSQL, e.g. jdbc:postgresql://host:5432/fractal?user=fractal (env FRACTAL_JDBC_URL).")
  String jdbcUrl;

  @Option(names = "--topic-prefix", paramLabel = "PREFIX",
      defaultValue = "${env:FRACTAL_TOPIC_PREFIX}",
      description = "Prefix of every topic name, for a shared cluster (env FRACTAL_TOPIC_PREFIX).")
  String topicPrefix;

  public Optional<String> bootstrapServers() {
    return nonBlank(bootstrapServers);
  }

  public Optional<String> schemaRegistryUrl() {
    return nonBlank(schemaRegistryUrl);
  }

  public Optional<String> jdbcUrl() {
    return nonBlank(jdbcUrl);
  }

  public TopicCatalog catalog() {
    return nonBlank(topicPrefix).map(TopicCatalog::withPrefix).orElseGet(TopicCatalog::defaults);
  }

  /** Whether Kafka or the registry was given explicitly (flag or environment). */
  public boolean anyGiven() {
    return bootstrapServers().isPresent() || schemaRegistryUrl().isPresent() || jdbcUrl().isPresent();
  }

  /**
   * The endpoints from the options, else from the {@code endpoints.json} of a running
   * {@code fractal up}.
   *
   * @throws PlatformException when neither says where Kafka and the registry are
   */
  public Endpoints resolve() {
    if (bootstrapServers().isPresent() && schemaRegistryUrl().isPresent()) {
      return new Endpoints(bootstrapServers().get(), schemaRegistryUrl().get(), jdbcUrl(), catalog());
    }
    Path file = defaultEndpointsFile();
    if (Files.isRegularFile(file)) {
      Optional<Long> writer = writerPid(file);
      if (writer.isPresent() && ProcessHandle.of(writer.get()).map(ProcessHandle::isAlive).orElse(false) == false) {
        throw new PlatformException(file + " was left by a 'fractal up' that is no longer running (pid "
            + writer.get() + "): start it again with 'fractal up', or pass --bootstrap-servers and --schema-registry-url");
      }
      Endpoints fromFile = read(file).withTopics(catalog());
      return new Endpoints(
          bootstrapServers().orElse(fromFile.bootstrapServers()),
          schemaRegistryUrl().orElse(fromFile.schemaRegistryUrl()),
          jdbcUrl().or(fromFile::jdbcUrl),
          catalog());
    }
    throw new PlatformException("where is Kafka? Pass --bootstrap-servers and --schema-registry-url "
        + "(or set FRACTAL_BOOTSTRAP_SERVERS and FRACTAL_SCHEMA_REGISTRY_URL), or start the local stack with "
        + "'fractal up' (its " + file + " is read when present)");
  }

  /** {@code $FRACTAL_DATA_DIR/endpoints.json}, default {@code ./.fractal/endpoints.json}. */
  public static Path defaultEndpointsFile() {
    String dir = System.getenv("FRACTAL_DATA_DIR");
    return Path.of(dir == null || dir.isBlank() ? DEFAULT_DATA_DIR : dir).resolve(ENDPOINTS_FILE);
  }

  /** Reads an {@code endpoints.json} written by {@code fractal up}. */
  public static Endpoints read(Path file) {
    try {
      JsonNode json = new ObjectMapper().readTree(file.toFile());
      String bootstrap = json.path("bootstrap_servers").asText("");
      String registry = json.path("schema_registry_url").asText("");
      if (bootstrap.isEmpty() || registry.isEmpty()) {
        throw new PlatformException(file + " lacks bootstrap_servers or schema_registry_url");
      }
      Optional<String> jdbc = nonBlank(json.path("jdbc_url").isNull() ? null : json.path("jdbc_url").asText(null));
      String prefix = json.path("topic_prefix").asText("");
      return new Endpoints(bootstrap, registry, jdbc,
          prefix.isEmpty() ? TopicCatalog.defaults() : TopicCatalog.withPrefix(prefix));
    } catch (IOException e) {
      throw new PlatformException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** The pid of the {@code fractal up} that wrote the file, when it says. */
  public static Optional<Long> writerPid(Path file) {
    try {
      JsonNode pid = new ObjectMapper().readTree(file.toFile()).path("pid");
      return pid.canConvertToLong() ? Optional.of(pid.asLong()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> nonBlank(String value) {
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }
}
