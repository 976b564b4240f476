package io.fractalrmo.registry.serde;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The serde inside Kafka Streams: given explicitly, and as default.value.serde by class name. */
class StreamsSerdeTest {

  static SchemaRegistryServer registry;

  @BeforeAll
  static void up() {
    registry = SchemaRegistryServer.startInMemory(0);
  }

  @AfterAll
  static void down() {
    registry.close();
  }

  @Test
  void shouldCarryTasksThroughATopologyWithAnExplicitSerde() {
    Serde<Task> tasks = FractalSerdes.value(Task.class, FractalSerdes.config(registry.url()));
    StreamsBuilder b = new StreamsBuilder();
    b.stream("in", Consumed.with(Serdes.String(), tasks).withName("read-tasks"))
        .mapValues(t -> Task.newBuilder(t).setPriority(1).build())
        .to("out", Produced.with(Serdes.String(), tasks).withName("write-tasks"));
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "serde-explicit");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), p)) {
      TestInputTopic<String, Task> in = driver.createInputTopic("in", Serdes.String().serializer(), tasks.serializer());
      TestOutputTopic<String, Task> out = driver.createOutputTopic("out", Serdes.String().deserializer(), tasks.deserializer());
      in.pipeInput("task-1", Mothers.aTask().setPriority(5).build());
      assertThat(out.readValue().getPriority()).isEqualTo(1);
    }
  }

  @Test
  void shouldWorkAsTheDefaultValueSerdeConfiguredByClassName() {
    StreamsBuilder b = new StreamsBuilder();
    b.stream("in", Consumed.with(Serdes.String(), (Serde<Object>) null).withName("read"))
        .to("out", Produced.<String, Object>with(Serdes.String(), null).withName("write"));
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "serde-by-name");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, AvroSerde.class.getName());
    p.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url());
    p.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, "true");
    Serde<Task> tasks = FractalSerdes.value(Task.class, FractalSerdes.config(registry.url()));
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), p)) {
      TestInputTopic<String, Task> in = driver.createInputTopic("in", Serdes.String().serializer(), tasks.serializer());
      TestOutputTopic<String, Task> out = driver.createOutputTopic("out", Serdes.String().deserializer(), tasks.deserializer());
      Task t = Mothers.aTask().build();
      in.pipeInput("task-1", t);
      assertThat(out.readValue()).isEqualTo(t);
    }
  }
}
