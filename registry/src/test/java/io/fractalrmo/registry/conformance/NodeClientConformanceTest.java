package io.fractalrmo.registry.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.platform.kafka.EmbeddedKafka;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Other projects' JavaScript registry clients drive our registry (Kafka-backed, as deployed):
 * the specs Confluent ships inside {@code @confluentinc/schemaregistry} (its end-to-end client
 * spec and its Avro/JSON/Protobuf serde specs, pointed at us instead of its mock), and a flow of
 * KafkaJS's {@code @kafkajs/confluent-schema-registry} per schema type. The packages are installed
 * from npm into {@code target/conformance-node} (versions pinned in src/test/interop/package.json).
 * Every case passes except those listed, with the reason, in
 * {@code src/test/interop/confluent-specs-skip.json} (features we do not implement).
 */
class NodeClientConformanceTest {

  private static final Logger LOG = LoggerFactory.getLogger(NodeClientConformanceTest.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path SOURCES = Path.of("src/test/interop").toAbsolutePath();

  @TempDir
  static Path dir;
  static EmbeddedKafka kafka;
  static SchemaRegistryServer registry;
  static Path work;

  @BeforeAll
  static void up() throws Exception {
    String npm = ExternalTools.require("npm", "install Node.js 20 with npm (Debian: apt-get install nodejs npm)");
    ExternalTools.require("node", "install Node.js 20");
    work = Path.of("target/conformance-node").toAbsolutePath();
    Files.createDirectories(work);
    Path pkg = work.resolve("package.json");
    byte[] wanted = Files.readAllBytes(SOURCES.resolve("package.json"));
    boolean fresh = !Files.exists(work.resolve("node_modules")) || !Files.exists(pkg)
        || !java.util.Arrays.equals(Files.readAllBytes(pkg), wanted);
    if (fresh) {
      Files.write(pkg, wanted);
      ExternalTools.Result r = ExternalTools.run(work, 600, npm, "install", "--no-audit", "--no-fund", "--loglevel=error");
      assertThat(r.exitCode()).as("npm install:\n" + r.output()).isZero();
    }
    for (String f : List.of("jest-shim.js", "confluent-specs.js", "kafkajs-flows.js", "confluent-specs-skip.json")) {
      Files.copy(SOURCES.resolve(f), work.resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    registry = SchemaRegistryServer.start(kafka.bootstrapServers(),
        SchemaRegistryServer.Options.defaults().withTopic("_schemas_node_" + System.nanoTime()));
  }

  @AfterAll
  static void down() {
    if (registry != null) {
      registry.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void shouldPassKafkaJsClientFlowsForAvroJsonAndProtobuf() throws Exception {
    ExternalTools.Result r = ExternalTools.run(work, 300, "node", "kafkajs-flows.js", registry.url(),
        work.resolve("node_modules").toString());
    Map<String, int[]> counts = report("kafkajs", r);
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(counts.keySet()).containsExactlyInAnyOrder("AVRO", "JSON", "PROTOBUF");
    assertThat(counts.values()).allSatisfy(c -> assertThat(c[1]).as("failed cases").isZero());
    assertThat(r.output()).contains("kafkajs: 30 passed, 0 failed");
  }

  @Test
  void shouldPassConfluentsOwnSpecsExceptTheListedUnimplementedFeatures() throws Exception {
    ExternalTools.Result r = ExternalTools.run(work, 600, "node", "confluent-specs.js", registry.url(),
        work.resolve("node_modules").toString(), work.resolve("confluent-specs-skip.json").toString());
    Map<String, int[]> counts = report("confluent", r);
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(counts.keySet()).contains("AVRO", "JSON", "PROTOBUF", "client-e2e");
    List<String> failures = new ArrayList<>();
    for (String line : ExternalTools.lines(r.output(), "{")) {
      JsonNode n = JSON.readTree(line);
      if (n.path("ok").isBoolean() && !n.path("ok").asBoolean()) {
        failures.add(n.path("type").asText() + ": " + n.path("name").asText() + " — " + n.path("error").asText());
      }
    }
    assertThat(failures).as("failing Confluent spec cases").isEmpty();
    assertThat(counts.get("client-e2e")[0]).as("Confluent's end-to-end client spec: all 8 cases").isEqualTo(8);
  }

  /** Per type: {passed, failed, skipped}; logged for the report. */
  private static Map<String, int[]> report(String suite, ExternalTools.Result r) throws Exception {
    Map<String, int[]> counts = new TreeMap<>();
    for (String line : ExternalTools.lines(r.output(), "{")) {
      JsonNode n = JSON.readTree(line);
      int[] c = counts.computeIfAbsent(n.path("type").asText(), k -> new int[3]);
      c[n.path("ok").isNull() ? 2 : n.path("ok").asBoolean() ? 0 : 1]++;
    }
    counts.forEach((type, c) -> LOG.info("{} {}: {} passed, {} failed, {} skipped (unimplemented features)",
        suite, type, c[0], c[1], c[2]));
    return counts;
  }
}
