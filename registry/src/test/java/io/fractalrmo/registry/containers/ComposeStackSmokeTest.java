package io.fractalrmo.registry.containers;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The operator's stack ({@code infra/compose.yaml}) comes up and carries a record: its Kafka,
 * topic creation and schema registry (Apicurio's Confluent-compatible API) start with the local
 * {@code docker compose}, the catalogue's topics exist, and a Task written with our serde through
 * that registry is read back. The fractal services are left out: they need the application image
 * built first ({@code ./mvnw package}, {@code docker compose build}). The compose file publishes
 * fixed host ports (29092, 8080, 5432): free them before running this. Skipped without Docker.
 */
@Testcontainers(disabledWithoutDocker = true)
class ComposeStackSmokeTest {

  @Container
  static final ComposeContainer STACK = new ComposeContainer(new File("../infra/compose.yaml"))
      .withLocalCompose(true)
      .withEnv("POSTGRES_PASSWORD", "smoke-" + UUID.randomUUID())
      .withServices("kafka", "topics", "schema-registry", "postgres")
      .withExposedService("schema-registry", 8080,
          Wait.forHttp("/apis/ccompat/v7/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(4)))
      .withExposedService("kafka", 29092, Wait.forListeningPort().withStartupTimeout(Duration.ofMinutes(3)))
      .withExposedService("postgres", 5432, Wait.forListeningPort().withStartupTimeout(Duration.ofMinutes(3)))
      .withRemoveVolumes(true)
      .withStartupTimeout(Duration.ofMinutes(6));

  /** The broker advertises localhost:29092 to clients outside compose (compose.yaml's EXTERNAL listener). */
  static final String BOOTSTRAP = "localhost:29092";

  @Test
  void shouldComeUpCreateTheCatalogueTopicsAndCarryARecordThroughTheRegistry() throws Exception {
    String registryUrl = "http://" + STACK.getServiceHost("schema-registry", 8080) + ":"
        + STACK.getServicePort("schema-registry", 8080) + "/apis/ccompat/v7";
    TopicCatalog catalog = TopicCatalog.withPrefix("");
    Set<String> wanted = new java.util.HashSet<>();
    catalog.all().forEach(t -> wanted.add(t.name()));
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, BOOTSTRAP))) {
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      Set<String> names = Set.of();
      while (System.nanoTime() < deadline && !names.containsAll(wanted)) {
        names = admin.listTopics().names().get();
        if (!names.containsAll(wanted)) {
          Thread.sleep(500); // the one-shot 'topics' service is still creating them; bounded by the deadline
        }
      }
      assertThat(names).as("topics created by the compose 'topics' service").containsAll(wanted);
    }
    Task task = Mothers.aTask().setTaskId("compose-smoke-" + UUID.randomUUID()).build();
    String topic = catalog.tasks().name();
    try (Serde<Task> tasks = FractalSerdes.value(Task.class, FractalSerdes.config(registryUrl))) {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, BOOTSTRAP);
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      try (KafkaProducer<String, Task> producer = new KafkaProducer<>(p, new StringSerializer(), tasks.serializer())) {
        producer.send(new ProducerRecord<>(topic, task.getTaskId(), task)).get();
      }
      Properties c = new Properties();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BOOTSTRAP);
      c.put(ConsumerConfig.GROUP_ID_CONFIG, "compose-smoke-" + UUID.randomUUID());
      c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      try (KafkaConsumer<String, Task> consumer = new KafkaConsumer<>(c, new StringDeserializer(), tasks.deserializer())) {
        consumer.subscribe(List.of(topic));
        Task read = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (read == null && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, Task> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.key().equals(task.getTaskId())) {
              read = r.value();
            }
          }
        }
        assertThat(read).isEqualTo(task);
      }
    }
    assertThat(SchemaRegistryClient.of(registryUrl).subjects()).contains(topic + "-value");
  }
}
