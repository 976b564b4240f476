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
 * called during setup), against plain Avro specific encoding of the same record as the baseline.
 * Run: {@code ./mvnw -B -pl registry -Pbench test-compile exec:exec}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
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

  @Setup(Level.Trial)
  public void setUp() {
    registry = SchemaRegistryServer.startInMemory(0);
    Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(registry.url()));
    serializer = serde.serializer();
    deserializer = serde.deserializer();
    // A typical task: a HumanEval-sized solution and test, a few attributes.
    task = Mothers.aTask()
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
    framed = serializer.serialize(TOPIC, task);
    deserializer.deserialize(TOPIC, framed);
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
