package io.fractalrmo.streams.testing;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import io.fractalrmo.streams.DeadLetterDeserializationHandler;
import io.fractalrmo.streams.DeadLetterProcessingHandler;
import io.fractalrmo.streams.RecordSerdes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * TopologyTestDriver plumbing for the tests: a real schema registry server (in-memory schema
 * log, ephemeral port) shared by a test class, unique topic names and a fresh state directory per
 * driver, the app's real Streams properties (exactly_once_v2, DLQ handlers, explicit naming
 * enforced).
 *
 * <p>As a JUnit extension ({@code @RegisterExtension static final TopologyFixture fixture = new
 * TopologyFixture();}) the registry lives for the test class and the driver of each test is
 * closed after it. Outside JUnit, use it in a try-with-resources block.
 */
public final class TopologyFixture
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback, AutoCloseable {

  private SchemaRegistryServer registry;
  private TopicCatalog topics;
  private RecordSerdes serdes;
  private Path stateDir;
  private TopologyTestDriver driver;

  /**
   * Builds a topology on fresh unique topics and serdes against the registry, and starts a driver
   * on it with its wall clock at {@code wallClock}. The previous driver, if any, is closed.
   */
  public TopologyTestDriver start(BiFunction<TopicCatalog, RecordSerdes, Topology> topology,
      Instant wallClock) {
    stopDriver();
    topics = uniqueTopics();
    serdes = serdes();
    Topology built = topology.apply(topics, serdes);
    try {
      stateDir = Files.createTempDirectory("ttd-state");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    driver = new TopologyTestDriver(built, properties(topics, stateDir), wallClock);
    return driver;
  }

  /** The driver of the last {@link #start}. */
  public TopologyTestDriver driver() {
    return driver;
  }

  /** The topics of the last {@link #start}. */
  public TopicCatalog topics() {
    return topics;
  }

  /** New serdes against the registry (the registry starts on first use). */
  public RecordSerdes serdes() {
    if (registry == null) {
      registry = SchemaRegistryServer.startInMemory(0);
    }
    return RecordSerdes.forRegistry(registry.url());
  }

  public <T extends SpecificRecord> TestInputTopic<String, T> input(
      Function<TopicCatalog, TopicSpec> topic, Class<T> type) {
    return driver.createInputTopic(topic.apply(topics).name(), Serdes.String().serializer(),
        serdes.value(type).serializer());
  }

  public <T extends SpecificRecord> TestOutputTopic<String, T> output(
      Function<TopicCatalog, TopicSpec> topic, Class<T> type) {
    return driver.createOutputTopic(topic.apply(topics).name(), Serdes.String().deserializer(),
        serdes.value(type).deserializer());
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

  @Override
  public void beforeAll(ExtensionContext context) {
    serdes();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    stopDriver();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void close() {
    stopDriver();
    if (registry != null) {
      registry.close();
      registry = null;
    }
  }

  private void stopDriver() {
    try {
      if (driver != null) {
        driver.close();
      }
    } finally {
      driver = null;
      deleteStateDir();
    }
  }

  private void deleteStateDir() {
    if (stateDir == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(stateDir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      stateDir = null;
    }
  }
}
