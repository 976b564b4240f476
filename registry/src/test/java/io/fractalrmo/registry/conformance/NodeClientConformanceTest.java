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
    // package.json pins the two clients; package-lock.json (versions and integrity hashes of
    // everything they pull in) makes 'npm ci' install exactly what these tests were written against
    Path stamp = work.resolve(".installed-lock");
    byte[] wanted = Files.readAllBytes(SOURCES.resolve("package-lock.json"));
    boolean fresh = !Files.exists(work.resolve("node_modules")) || !Files.exists(stamp)
        || !java.util.Arrays.equals(Files.readAllBytes(stamp), wanted);
    if (fresh) {
      Files.copy(SOURCES.resolve("package.json"), work.resolve("package.json"), StandardCopyOption.REPLACE_EXISTING);
      Files.write(work.resolve("package-lock.json"), wanted);
      ExternalTools.Result r = ExternalTools.run(work, 600, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error");
      assertThat(r.exitCode()).as("npm ci:\n" + r.output()).isZero();
      Files.write(stamp, wanted);
    }
    for (String f : List.of("jest-shim.js", "confluent-specs.js", "kafkajs-flows.js", "cross-frames.js",
        "confluent-specs-skip.json")) {
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

  /**
   * The Java serdes and the JavaScript ones read each other's frames: Java writes one per type,
   * Confluent's deserializers and KafkaJS decode it; Confluent's serializers write, Java reads
   * (a Protobuf file's second message too, whose indexes are not the 0 shortcut).
   */
  @Test
  void shouldExchangeFramesBetweenTheJavaAndJavaScriptSerdes() throws Exception {
    java.util.Map<String, Object> cfg = new java.util.HashMap<>();
    cfg.put("schema.registry.url", registry.url());
    cfg.put(io.fractalrmo.registry.serde.SchemaSerdeConfig.JSON_VALUE_SCHEMA, PythonClientConformanceTest.ORDER);
    cfg.put("specific.avro.reader", false);
    com.fasterxml.jackson.databind.node.ObjectNode frames = JSON.createObjectNode();
    var js = new io.fractalrmo.registry.serde.JsonSchemaSerializer<Object>();
    js.configure(cfg, false);
    frames.putObject("JSON").put("frame", b64(js.serialize("java-json", java.util.Map.of("id", "j-1", "qty", 4))))
        .set("value", JSON.readTree("{\"id\":\"j-1\",\"qty\":4}"));
    var ping = ((io.fractalrmo.registry.schema.ProtobufParsedSchema) io.fractalrmo.registry.schema.Schemas.parse(
        "PROTOBUF", PythonClientConformanceTest.PING, java.util.Map.of())).descriptor().findMessageTypeByName("Ping");
    var ps = new io.fractalrmo.registry.serde.ProtobufSerializer<com.google.protobuf.DynamicMessage>();
    ps.configure(cfg, false);
    frames.putObject("PROTOBUF").put("frame", b64(ps.serialize("java-proto", com.google.protobuf.DynamicMessage.newBuilder(ping)
        .setField(ping.findFieldByName("id"), "p-1").setField(ping.findFieldByName("n"), 9L).build())))
        .putObject("value").put("id", "p-1").put("n", 9);
    var as = new io.fractalrmo.registry.serde.AvroSerializer<org.apache.avro.generic.GenericRecord>();
    as.configure(cfg, false);
    frames.putObject("AVRO").put("frame", b64(as.serialize("java-avro",
        new org.apache.avro.generic.GenericRecordBuilder(PythonClientConformanceTest.TASK).set("id", "t-9").set("n", 3).build())))
        .putObject("value").put("id", "t-9").put("n", 3);
    Files.writeString(work.resolve("java-frames.json"), frames.toString());

    ExternalTools.Result r = ExternalTools.run(work, 300, "node", "cross-frames.js", registry.url(),
        work.resolve("node_modules").toString(), work.toString());
    Map<String, int[]> counts = report("cross", r);
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(counts.values()).as(r.output()).allSatisfy(c -> assertThat(c[1]).isZero());

    JsonNode node = JSON.readTree(Files.readString(work.resolve("node-frames.json")));
    var ad = new io.fractalrmo.registry.serde.AvroDeserializer<org.apache.avro.generic.GenericRecord>();
    ad.configure(cfg, false);
    var avro = ad.deserialize("node-avro", unb64(node.get("AVRO").asText()));
    assertThat(avro.get("id").toString()).isEqualTo("n-1");
    var jd = new io.fractalrmo.registry.serde.JsonSchemaDeserializer<JsonNode>();
    jd.configure(cfg, false);
    assertThat(jd.deserialize("node-json", unb64(node.get("JSON").asText()))).isEqualTo(JSON.readTree("{\"id\":\"n-2\",\"qty\":6}"));
    var pd = new io.fractalrmo.registry.serde.ProtobufDeserializer<com.google.protobuf.Message>();
    pd.configure(cfg, false);
    var author = pd.deserialize("node-proto", unb64(node.get("PROTOBUF_AUTHOR").asText()));
    assertThat(author.getDescriptorForType().getFullName()).isEqualTo("test.Author");
    assertThat(author.getField(author.getDescriptorForType().findFieldByName("name"))).isEqualTo("Kafka");
    byte[] pizzaBytes = unb64(node.get("PROTOBUF_PIZZA").asText());
    assertThat(java.util.Arrays.copyOfRange(pizzaBytes, 5, 7)).as("indexes [1] as zig-zag varints").containsExactly(2, 2);
    var pizza = pd.deserialize("node-pizza", pizzaBytes);
    assertThat(pizza.getDescriptorForType().getFullName()).isEqualTo("test.Pizza");
    assertThat(pizza.getField(pizza.getDescriptorForType().findFieldByName("size"))).isEqualTo("L");
  }

  private static String b64(byte[] b) {
    return java.util.Base64.getEncoder().encodeToString(b);
  }

  private static byte[] unb64(String s) {
    return java.util.Base64.getDecoder().decode(s);
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
