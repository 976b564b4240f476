package io.fractalrmo.streams;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Properties;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * TopologyTestDriver plumbing for the tests: a real schema registry server (in-memory schema
 * log, ephemeral port) shared by a test class, unique topic names per test, the app's real
 * Streams properties (exactly_once_v2, DLQ handlers, explicit naming enforced).
 */
public final class TtdSupport implements AutoCloseable {

  private final SchemaRegistryServer registry;

  private TtdSupport(SchemaRegistryServer registry) {
    this.registry = registry;
  }

  public static TtdSupport start() {
    return new TtdSupport(SchemaRegistryServer.startInMemory(0));
  }

  public String registryUrl() {
    return registry.url();
  }

  public RecordSerdes serdes() {
    return RecordSerdes.forRegistry(registry.url());
  }

  public static TopicCatalog uniqueTopics() {
    return TopicCatalog.withPrefix("t-" + UUID.randomUUID() + ".");
  }

  public static Properties properties(TopicCatalog topics, Path stateDir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, topics.prefix() + "fractal-streams-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.dlq().name());
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterDeserializationHandler.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterProcessingHandler.class);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    return p;
  }

  public static TopologyTestDriver driver(Topology topology, TopicCatalog topics, Path stateDir,
      Instant wallClock) {
    return new TopologyTestDriver(topology, properties(topics, stateDir), wallClock);
  }

  public <T extends SpecificRecord> TestInputTopic<String, T> input(TopologyTestDriver d,
      TopicSpec topic, Class<T> type, RecordSerdes serdes) {
    return d.createInputTopic(topic.name(), Serdes.String().serializer(),
        serdes.value(type).serializer());
  }

  public <T extends SpecificRecord> TestOutputTopic<String, T> output(TopologyTestDriver d,
      TopicSpec topic, Class<T> type, RecordSerdes serdes) {
    return d.createOutputTopic(topic.name(), Serdes.String().deserializer(),
        serdes.value(type).deserializer());
  }

  @Override
  public void close() {
    registry.close();
  }
}
