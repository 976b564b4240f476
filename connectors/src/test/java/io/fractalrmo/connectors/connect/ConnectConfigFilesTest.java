package io.fractalrmo.connectors.connect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.contracts.TopicCatalog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Connector;
import org.apache.kafka.connect.runtime.SinkConnectorConfig;
import org.apache.kafka.connect.runtime.SourceConnectorConfig;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.transforms.Transformation;
import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.registry.testing.TestStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file under {@code connectors/connect/} is a body a Connect cluster accepts for
 * {@code PUT /connectors/{name}/config}: each key is one the framework, the connector or a
 * configured transform declares (so a typo fails), and the connector's own
 * {@link Connector#validate(Map)} reports no error.
 */
class ConnectConfigFilesTest {

  private static final Path DIR = Path.of("connect");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Keys whose value is handed to a plugin we do not ship in the test (converters). */
  private static final List<String> PASS_THROUGH_PREFIXES =
      List.of("key.converter.", "value.converter.", "header.converter.");
  private static final String AVRO_CONVERTER = "io.confluent.connect.avro.AvroConverter";
  private static final Set<String> TOPIC_CREATION_KEYS =
      Set.of("replication.factor", "partitions", "cleanup.policy", "retention.ms", "include",
          "exclude");

  static Stream<Path> files() throws IOException {
    try (Stream<Path> list = Files.list(DIR)) {
      List<Path> files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
      assertThat(files).extracting(p -> p.getFileName().toString())
          .contains("debezium-outbox-source.json")
          .anyMatch(n -> n.startsWith("jdbc-sink-"));
      return files.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("files")
  void shouldDeclareOnlyKnownKeysAndPassTheConnectorsOwnValidation(Path file) throws Exception {
    Map<String, String> config = read(file);
    Connector connector = (Connector) Class.forName(config.get("connector.class"))
        .getDeclaredConstructor().newInstance();
    boolean sink = connector instanceof SinkConnector;
    ConfigDef framework = sink ? SinkConnectorConfig.configDef() : SourceConnectorConfig.configDef();

    List<String> unknown = new ArrayList<>();
    Map<String, Map<String, String>> transformConfigs = new LinkedHashMap<>();
    List<String> aliases = config.containsKey("transforms")
        ? Arrays.stream(config.get("transforms").split(",")).map(String::trim).toList()
        : List.of();
    for (String key : config.keySet()) {
      if (framework.names().contains(key) || connector.config().names().contains(key)
          || PASS_THROUGH_PREFIXES.stream().anyMatch(key::startsWith)) {
        continue;
      }
      if (key.startsWith("topic.creation.default.") && !sink) {
        if (TOPIC_CREATION_KEYS.contains(key.substring("topic.creation.default.".length()))) {
          continue;
        }
      }
      String alias = aliases.stream().filter(a -> key.startsWith("transforms." + a + "."))
          .findFirst().orElse(null);
      if (alias != null) {
        String sub = key.substring(("transforms." + alias + ".").length());
        if (!sub.equals("type")) {
          transformConfigs.computeIfAbsent(alias, a -> new TreeMap<>()).put(sub, config.get(key));
        }
        continue;
      }
      unknown.add(key);
    }

    for (String alias : aliases) {
      String type = config.get("transforms." + alias + ".type");
      assertThat(type).as("transforms.%s.type in %s", alias, file).isNotNull();
      @SuppressWarnings("unchecked")
      Transformation<?> transform = (Transformation<?>) Class.forName(type)
          .getDeclaredConstructor().newInstance();
      Map<String, String> sub = transformConfigs.getOrDefault(alias, Map.of());
      for (String key : sub.keySet()) {
        if (!transform.config().names().contains(key)) {
          unknown.add("transforms." + alias + "." + key);
        }
      }
      assertThat(errors(transform.config().validate(new LinkedHashMap<>(sub))))
          .as("transform %s of %s", alias, file).isEmpty();
    }
    assertThat(unknown).as("keys no ConfigDef declares in %s", file).isEmpty();

    // Confluent's AvroConverter is a worker plugin that is not on Maven Central: check that it
    // is pointed at the registry, and validate the rest of the framework config without it.
    Map<String, String> frameworkConfig = new LinkedHashMap<>(config);
    for (String side : List.of("key", "value")) {
      if (AVRO_CONVERTER.equals(config.get(side + ".converter"))) {
        assertThat(config.get(side + ".converter.schema.registry.url"))
            .as("%s.converter.schema.registry.url in %s", side, file).startsWith("http");
        frameworkConfig.put(side + ".converter", "org.apache.kafka.connect.storage.StringConverter");
      }
    }
    assertThat(errors(framework.validate(frameworkConfig)))
        .as("Connect framework config of %s", file).isEmpty();
    Config validated = connector.validate(config);
    List<String> errors = errors(validated.configValues()).stream()
        // The PostgreSQL connector's validate() also opens a connection to database.hostname,
        // which is the compose service name and not reachable from a unit test.
        .filter(e -> !(e.startsWith("database.hostname:") && !sink))
        .toList();
    assertThat(errors).as("%s.validate() of %s", connector.getClass().getSimpleName(), file)
        .isEmpty();
  }

  @Test
  void outboxSourceShouldPassThePostgresConnectorsValidationAgainstARealServer() throws Exception {
    // validate() of the PostgreSQL connector also connects: point the file at a real server
    // with logical decoding (only the connection coordinates change) and expect no error at all.
    Map<String, String> config = read(DIR.resolve("debezium-outbox-source.json"));
    String url = Databases.fresh(TestStack.sharedWithPostgres());
    Migrations.apply(url);
    java.net.URI uri = java.net.URI.create(url.substring("jdbc:".length()));
    config.put("database.hostname", uri.getHost());
    config.put("database.port", String.valueOf(uri.getPort()));
    config.put("database.dbname", uri.getPath().substring(1));
    config.put("database.user", "fractal");
    config.put("database.password", "");
    Connector connector = new io.debezium.connector.postgresql.PostgresConnector();
    assertThat(errors(connector.validate(config).configValues())).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("files")
  void shouldReadOrWriteOnlyCatalogueTopics(Path file) throws Exception {
    Map<String, String> config = read(file);
    if (config.containsKey("topics")) {
      Set<String> names = TopicCatalog.defaults().all().stream().map(t -> t.name())
          .collect(java.util.stream.Collectors.toSet());
      for (String topic : config.get("topics").split(",")) {
        assertThat(names).as("topic of %s", file).contains(topic.trim());
      }
    }
    if (config.containsKey("errors.deadletterqueue.topic.name")) {
      assertThat(config.get("errors.deadletterqueue.topic.name"))
          .isEqualTo(TopicCatalog.defaults().dlq().name());
    }
    assertThat(config.values()).as("no secret in %s", file)
        .noneMatch(v -> v.toLowerCase().contains("password") && !v.startsWith("${"));
  }

  private static Map<String, String> read(Path file) throws IOException {
    Map<String, Object> raw = JSON.readValue(file.toFile(), Map.class);
    Map<String, String> config = new LinkedHashMap<>();
    raw.forEach((k, v) -> config.put(k, String.valueOf(v)));
    assertThat(raw.values()).as("values of %s are strings", file).allMatch(v -> v instanceof String);
    return config;
  }

  private static List<String> errors(List<ConfigValue> values) {
    return values.stream().filter(v -> !v.errorMessages().isEmpty())
        .map(v -> v.name() + ": " + v.errorMessages()).toList();
  }
}
