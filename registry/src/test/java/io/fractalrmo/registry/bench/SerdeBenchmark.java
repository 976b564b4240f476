package io.fractalrmo.registry.bench;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Serializer + deserializer round trip of a typical Task with a warm cache (the registry is only
 * called during setup), against plain Avro specific encoding of the same record as the baseline;
 * and the same task as JSON Schema (Jackson tree, validated on write by default) and as Protobuf
 * (a {@code DynamicMessage}: no generated class in this build, so an upper bound for generated
 * code). Run: {@code ./mvnw -B -pl registry -Pbench test-compile exec:exec}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// the JSON Schema path (Jackson 3 + networknt) needs ~20 s of warm-up before it settles
@Warmup(iterations = 12, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xms512m", "-Xmx512m"})
@State(Scope.Benchmark)
public class SerdeBenchmark {

  private static final String TOPIC = "bench.tasks";

  private SchemaRegistryServer registry;
  private Serializer<Task> serializer;
  private Deserializer<Task> deserializer;
  private Task task;
  private byte[] framed;

  private final SpecificDatumWriter<Task> plainWriter = new SpecificDatumWriter<>(Task.class);
  private final SpecificDatumReader<Task> plainReader = new SpecificDatumReader<>(Task.class);
  private final ByteArrayOutputStream plainOut = new ByteArrayOutputStream(1024);
  private BinaryEncoder plainEncoder;
  private BinaryDecoder plainDecoder;

  static final String TASK_JSON_SCHEMA = """
      {"title":"Task","type":"object","additionalProperties":false,
       "required":["task_id","description","code","entry_point","test_code","language","priority","submitted_at","source"],
       "properties":{
        "task_id":{"type":"string"},"description":{"type":"string"},"code":{"type":"string"},
        "entry_point":{"type":"string"},"test_code":{"type":"string"},
        "language":{"enum":["PYTHON","UNKNOWN"]},"priority":{"type":"integer"},
        "submitted_at":{"type":"integer"},"source":{"type":"string"},
        "attributes":{"type":"object","additionalProperties":{"type":"string"}}}}""";
  static final String TASK_PROTO = """
      syntax = "proto3";
      package bench;
      message Task {
        string task_id = 1;
        string description = 2;
        string code = 3;
        string entry_point = 4;
        string test_code = 5;
        enum Language { UNKNOWN = 0; PYTHON = 1; }
        Language language = 6;
        int32 priority = 7;
        int64 submitted_at = 8;
        string source = 9;
        map<string, string> attributes = 10;
      }
      """;

  private Serializer<Object> jsonSerializer;
  private Serializer<Object> jsonSerializerUnvalidated;
  private Deserializer<com.fasterxml.jackson.databind.JsonNode> jsonDeserializer;
  private com.fasterxml.jackson.databind.JsonNode jsonTask;
  private Serializer<com.google.protobuf.DynamicMessage> protoSerializer;
  private Deserializer<com.google.protobuf.Message> protoDeserializer;
  private com.google.protobuf.DynamicMessage protoTask;

  @Setup(Level.Trial)
  public void setUp() {
    registry = SchemaRegistryServer.startInMemory(0);
    setUpJsonAndProtobuf();
    Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(registry.url()));
    serializer = serde.serializer();
    deserializer = serde.deserializer();
    task = typicalTask();
    framed = serializer.serialize(TOPIC, task);
    deserializer.deserialize(TOPIC, framed);
  }

  /** A typical task: a HumanEval-sized solution and test, a few attributes. */
  static Task typicalTask() {
    return Mothers.aTask()
        .setTaskId("HumanEval/0-5f0c2a2e-7d3b-4a63-9a57-4f1d1c0e8b11")
        .setDescription("Check if in given list of numbers, are any two numbers closer to each other than given threshold.")
        .setCode("from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
            + "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n"
            + "            if idx != idx2:\n                distance = abs(elem - elem2)\n"
            + "                if distance < threshold:\n                    return True\n\n    return False\n")
        .setEntryPoint("has_close_elements")
        .setTestCode("def check(candidate):\n    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n"
            + "    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False\n"
            + "    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True\n")
        .setSource("humaneval")
        .setAttributes(Map.of("dataset", "humaneval", "fault", "none", "run", "bench-1"))
        .build();
  }

  private void setUpJsonAndProtobuf() {
    Task t = typicalTask();
    com.fasterxml.jackson.databind.node.ObjectNode n = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
    n.put("task_id", t.getTaskId()).put("description", t.getDescription()).put("code", t.getCode())
        .put("entry_point", t.getEntryPoint()).put("test_code", t.getTestCode()).put("language", "PYTHON")
        .put("priority", t.getPriority()).put("submitted_at", t.getSubmittedAt().toEpochMilli()).put("source", t.getSource());
    t.getAttributes().forEach((k, v) -> n.with("attributes").put(k, v));
    jsonTask = n;
    Map<String, Object> c = new java.util.HashMap<>(FractalSerdes.config(registry.url()));
    c.put(io.fractalrmo.registry.serde.SchemaSerdeConfig.JSON_VALUE_SCHEMA, TASK_JSON_SCHEMA);
    jsonSerializer = new io.fractalrmo.registry.serde.JsonSchemaSerializer<>();
    jsonSerializer.configure(c, false);
    Map<String, Object> lenient = new java.util.HashMap<>(c);
    lenient.put(io.fractalrmo.registry.serde.SchemaSerdeConfig.JSON_FAIL_INVALID_SCHEMA, false);
    jsonSerializerUnvalidated = new io.fractalrmo.registry.serde.JsonSchemaSerializer<>();
    jsonSerializerUnvalidated.configure(lenient, false);
    jsonDeserializer = new io.fractalrmo.registry.serde.JsonSchemaDeserializer<>();
    jsonDeserializer.configure(c, false);
    jsonDeserializer.deserialize(TOPIC + ".json", jsonSerializer.serialize(TOPIC + ".json", jsonTask));

    com.google.protobuf.Descriptors.Descriptor d = ((io.fractalrmo.registry.schema.ProtobufParsedSchema)
        io.fractalrmo.registry.schema.Schemas.parse("PROTOBUF", TASK_PROTO, Map.of())).descriptor().findMessageTypeByName("Task");
    com.google.protobuf.DynamicMessage.Builder b = com.google.protobuf.DynamicMessage.newBuilder(d)
        .setField(d.findFieldByName("task_id"), t.getTaskId())
        .setField(d.findFieldByName("description"), t.getDescription())
        .setField(d.findFieldByName("code"), t.getCode())
        .setField(d.findFieldByName("entry_point"), t.getEntryPoint())
        .setField(d.findFieldByName("test_code"), t.getTestCode())
        .setField(d.findFieldByName("language"), d.findEnumTypeByName("Language").findValueByName("PYTHON"))
        .setField(d.findFieldByName("priority"), t.getPriority())
        .setField(d.findFieldByName("submitted_at"), t.getSubmittedAt().toEpochMilli())
        .setField(d.findFieldByName("source"), t.getSource());
    com.google.protobuf.Descriptors.Descriptor entry = d.findFieldByName("attributes").getMessageType();
    t.getAttributes().forEach((k, v) -> b.addRepeatedField(d.findFieldByName("attributes"),
        com.google.protobuf.DynamicMessage.newBuilder(entry).setField(entry.findFieldByName("key"), k)
            .setField(entry.findFieldByName("value"), v).build()));
    protoTask = b.build();
    protoSerializer = new io.fractalrmo.registry.serde.ProtobufSerializer<>();
    protoSerializer.configure(c, false);
    protoDeserializer = new io.fractalrmo.registry.serde.ProtobufDeserializer<>();
    protoDeserializer.configure(c, false);
    protoDeserializer.deserialize(TOPIC + ".proto", protoSerializer.serialize(TOPIC + ".proto", protoTask));
  }

  @Benchmark
  public Object jsonRoundTrip() {
    return jsonDeserializer.deserialize(TOPIC + ".json", jsonSerializer.serialize(TOPIC + ".json", jsonTask));
  }

  /** The same without validating the payload on write ({@code json.fail.invalid.schema=false}). */
  @Benchmark
  public Object jsonRoundTripWithoutValidation() {
    return jsonDeserializer.deserialize(TOPIC + ".json", jsonSerializerUnvalidated.serialize(TOPIC + ".json", jsonTask));
  }

  @Benchmark
  public Object protobufRoundTrip() {
    return protoDeserializer.deserialize(TOPIC + ".proto", protoSerializer.serialize(TOPIC + ".proto", protoTask));
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    registry.close();
  }

  @Benchmark
  public Task roundTrip() {
    return deserializer.deserialize(TOPIC, serializer.serialize(TOPIC, task));
  }

  @Benchmark
  public byte[] serialize() {
    return serializer.serialize(TOPIC, task);
  }

  @Benchmark
  public Task deserialize() {
    return deserializer.deserialize(TOPIC, framed);
  }

  /** Avro's own specific serde, no framing, no registry: the floor. */
  @Benchmark
  public Task plainAvroRoundTrip() throws IOException {
    plainOut.reset();
    plainEncoder = EncoderFactory.get().binaryEncoder(plainOut, plainEncoder);
    plainWriter.write(task, plainEncoder);
    plainEncoder.flush();
    byte[] bytes = plainOut.toByteArray();
    plainDecoder = DecoderFactory.get().binaryDecoder(bytes, plainDecoder);
    return plainReader.read(null, plainDecoder);
  }

  /** Size of the framed typical task, for the report. */
  public static void main(String[] args) throws Exception {
    org.openjdk.jmh.Main.main(args.length > 0 ? args : new String[] {SerdeBenchmark.class.getName()});
  }
}
