package io.fractalrmo.registry.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.fractalrmo.registry.schema.ProtobufParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import io.fractalrmo.registry.serde.AvroDeserializer;
import io.fractalrmo.registry.serde.AvroSerializer;
import io.fractalrmo.registry.serde.JsonSchemaDeserializer;
import io.fractalrmo.registry.serde.JsonSchemaSerializer;
import io.fractalrmo.registry.serde.ProtobufDeserializer;
import io.fractalrmo.registry.serde.ProtobufSerializer;
import io.fractalrmo.registry.serde.SchemaSerdeConfig;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Confluent's Python client, as Debian packages it ({@code python3-confluent-kafka} 1.7.0 with
 * {@code python3-avro}, {@code python3-protobuf}, {@code python3-jsonschema}; {@code .ci/run}
 * installs them), drives our registry: client calls and serdes for JSON Schema and Protobuf, the
 * legacy Avro serde. Frames cross both ways: the Java serdes write one per type for Python to
 * decode, and the Java deserializers read the frames Python wrote. Python 1.7.0 writes a
 * message's indexes as unsigned varints for messages other than a file's first (fixed upstream in
 * 1.8.2, {@code use.deprecated.format}); the flows use first messages, which both formats write
 * as the single byte 0.
 */
class PythonClientConformanceTest {

  private static final Logger LOG = LoggerFactory.getLogger(PythonClientConformanceTest.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PYTHON = "/usr/bin/python3";
  static final String ORDER = "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
      + "\"qty\":{\"type\":\"integer\"}},\"required\":[\"id\"]}";
  static final String PING = "syntax = \"proto3\";\npackage javashop;\nmessage Ping {\n  string id = 1;\n  int64 n = 2;\n}\n";
  static final Schema TASK = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"JavaTask\",\"namespace\":\"j\","
      + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}");

  @TempDir
  static Path work;
  static SchemaRegistryServer registry;

  @BeforeAll
  static void up() throws Exception {
    if (!Files.isExecutable(Path.of(PYTHON))) {
      ExternalTools.require("python3-for-confluent-kafka", "install Debian's python3 (apt-get install python3)");
    }
    ExternalTools.Result probe = ExternalTools.run(work, 60, PYTHON, "-c",
        "import confluent_kafka.schema_registry.json_schema, confluent_kafka.schema_registry.protobuf,"
            + " confluent_kafka.avro, avro.schema, google.protobuf, jsonschema");
    if (probe.exitCode() != 0) {
      String message = "Confluent's Python client is not importable by " + PYTHON
          + " (apt-get install python3-confluent-kafka python3-avro python3-protobuf python3-jsonschema): "
          + probe.output().lines().reduce((a, b) -> b).orElse("");
      if (ExternalTools.inCi()) {
        throw new AssertionError(message + " (CI=true: conformance tests must run in CI)");
      }
      org.junit.jupiter.api.Assumptions.abort(message + " — skipped on this developer machine (fails in CI)");
    }
    registry = SchemaRegistryServer.startInMemory(0);
  }

  @AfterAll
  static void down() {
    if (registry != null) {
      registry.close();
    }
  }

  static Map<String, Object> config() {
    Map<String, Object> c = new java.util.HashMap<>();
    c.put("schema.registry.url", registry.url());
    c.put(SchemaSerdeConfig.JSON_VALUE_SCHEMA, ORDER);
    c.put("specific.avro.reader", false);
    return c;
  }

  @Test
  void shouldPassThePythonClientsFlowsAndExchangeFramesWithTheJavaSerdes() throws Exception {
    ObjectNode frames = JSON.createObjectNode();
    JsonSchemaSerializer<Object> js = new JsonSchemaSerializer<>();
    js.configure(config(), false);
    Map<String, Object> jsonValue = Map.of("id", "j-1", "qty", 4);
    frames.putObject("JSON").put("schema", ORDER).put("frame", b64(js.serialize("java-json", jsonValue)))
        .set("value", JSON.valueToTree(jsonValue));

    Descriptors.Descriptor ping = ((ProtobufParsedSchema) Schemas.parse("PROTOBUF", PING, Map.of()))
        .descriptor().findMessageTypeByName("Ping");
    DynamicMessage p = DynamicMessage.newBuilder(ping).setField(ping.findFieldByName("id"), "p-1")
        .setField(ping.findFieldByName("n"), 9L).build();
    ProtobufSerializer<DynamicMessage> ps = new ProtobufSerializer<>();
    ps.configure(config(), false);
    frames.putObject("PROTOBUF").put("frame", b64(ps.serialize("java-proto", p)))
        .putObject("value").put("id", "p-1").put("n", 9);

    AvroSerializer<GenericRecord> as = new AvroSerializer<>();
    as.configure(config(), false);
    GenericRecord task = new GenericRecordBuilder(TASK).set("id", "t-9").set("n", 3).build();
    frames.putObject("AVRO").put("frame", b64(as.serialize("java-avro", task)))
        .putObject("value").put("id", "t-9").put("n", 3);
    Files.writeString(work.resolve("java-frames.json"), frames.toString());

    Path script = Path.of("src/test/python/confluent_kafka_flows.py").toAbsolutePath();
    ExternalTools.Result r = ExternalTools.run(work, 300, PYTHON, script.toString(), registry.url(), work.toString());
    Map<String, int[]> counts = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    for (String line : ExternalTools.lines(r.output(), "{")) {
      JsonNode n = JSON.readTree(line);
      int[] c = counts.computeIfAbsent(n.path("type").asText(), k -> new int[2]);
      c[n.path("ok").asBoolean() ? 0 : 1]++;
      if (!n.path("ok").asBoolean()) {
        failures.add(n.path("type").asText() + ": " + n.path("name").asText() + " — " + n.path("error").asText());
      }
    }
    counts.forEach((type, c) -> LOG.info("python {}: {} passed, {} failed", type, c[0], c[1]));
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(failures).as(r.output()).isEmpty();
    assertThat(counts.keySet()).containsExactly("AVRO", "JSON", "PROTOBUF");

    // and the Java deserializers read what Python wrote
    JsonNode py = JSON.readTree(Files.readString(work.resolve("python-frames.json")));
    JsonSchemaDeserializer<JsonNode> jd = new JsonSchemaDeserializer<>();
    jd.configure(config(), false);
    assertThat(jd.deserialize("py", unb64(py.get("JSON").asText()))).isEqualTo(JSON.readTree("{\"id\":\"o-1\",\"qty\":2}"));
    ProtobufDeserializer<Message> pd = new ProtobufDeserializer<>();
    pd.configure(config(), false);
    Message order = pd.deserialize("py", unb64(py.get("PROTOBUF").asText()));
    assertThat(order.getDescriptorForType().getFullName()).isEqualTo("pyshop.Order");
    assertThat(order.getField(order.getDescriptorForType().findFieldByName("qty"))).isEqualTo(3);
    AvroDeserializer<GenericRecord> ad = new AvroDeserializer<>();
    ad.configure(config(), false);
    GenericRecord back = ad.deserialize("py", unb64(py.get("AVRO").asText()));
    assertThat(back.get("id").toString()).isEqualTo("t-1");
    assertThat(back.get("n")).isEqualTo(7);
  }

  private static String b64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  private static byte[] unb64(String s) {
    return Base64.getDecoder().decode(s);
  }
}
