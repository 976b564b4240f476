package io.fractalrmo.app.up;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.platform.DataDirLock;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
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
import org.junit.jupiter.api.io.TempDir;

/** The real stack on ephemeral ports in a temp dir, stopped and started again on the same dir. */
class LocalStackTest {

  @TempDir
  Path dir;

  @Test
  void shouldComeBackWithItsRecordsSchemasAndRowsAndLeaveNoProcess() throws Exception {
    StackSettings settings = StackSettings.defaults(dir.resolve("data")).withRoles(false);
    Task task = Mothers.aTask().setTaskId("task-" + UUID.randomUUID()).build();
    int schemaId;
    Collection<Long> pids;
    try (LocalStack stack = LocalStack.start(settings)) {
      Endpoints endpoints = stack.endpoints();
      assertThat(stack.endpointsFile()).exists();
      Endpoints fromFile = EndpointOptions.read(stack.endpointsFile());
      assertThat(fromFile.bootstrapServers()).isEqualTo(endpoints.bootstrapServers());
      assertThat(fromFile.schemaRegistryUrl()).isEqualTo(endpoints.schemaRegistryUrl());
      assertThat(fromFile.jdbcUrl()).isEqualTo(endpoints.jdbcUrl());

      // every value schema is registered under <topic>-value before anything is written
      try (SchemaRegistryClient registry = SchemaRegistryClient.of(endpoints.schemaRegistryUrl())) {
        assertThat(registry.subjects()).contains(endpoints.topics().tasks().valueSubject(),
            endpoints.topics().protocolRules().valueSubject());
        schemaId = registry.idOf(endpoints.topics().tasks().valueSubject(), Task.getClassSchema());
      }
      produce(endpoints, task);
      assertThat(consumeAll(endpoints)).containsExactly(task);

      try (Connection c = DriverManager.getConnection(endpoints.jdbcUrl().orElseThrow());
           Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS probe (id varchar PRIMARY KEY)");
        s.execute("INSERT INTO probe VALUES ('" + task.getTaskId() + "')");
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM flyway_schema_history WHERE success")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getInt(1)).isPositive();
        }
      }
      pids = stack.childPids().values();
      assertThat(pids).isNotEmpty();
    }
    assertThat(dir.resolve("data").resolve("endpoints.json")).doesNotExist();
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("process %d still running", pid).isFalse();
    }

    try (LocalStack again = LocalStack.start(settings)) {
      Endpoints endpoints = again.endpoints();
      assertThat(consumeAll(endpoints)).containsExactly(task);
      try (SchemaRegistryClient registry = SchemaRegistryClient.of(endpoints.schemaRegistryUrl())) {
        assertThat(registry.idOf(endpoints.topics().tasks().valueSubject(), Task.getClassSchema())).isEqualTo(schemaId);
      }
      try (Connection c = DriverManager.getConnection(endpoints.jdbcUrl().orElseThrow());
           Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT id FROM probe")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo(task.getTaskId());
      }

      // a second stack on a directory in use fails at once, naming the owner
      long before = System.nanoTime();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> LocalStack.start(settings))
          .isInstanceOf(PlatformException.class)
          .hasMessageContaining("in use")
          .hasMessageContaining("--data-dir");
      assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(5));
      assertThat(again.endpointsFile()).exists(); // the running stack is untouched
    }
    assertThat(Files.exists(dir.resolve("data").resolve(DataDirLock.FILE_NAME))).isTrue();
  }

  @Test
  void shouldStartThreeBrokersWithEveryTopicReplicatedThreeTimes() throws Exception {
    StackSettings settings = StackSettings.defaults(dir.resolve("data")).withRoles(false)
        .withBrokers(3);
    try (LocalStack stack = LocalStack.start(settings)) {
      Endpoints endpoints = stack.endpoints();
      assertThat(endpoints.bootstrapServers().split(",")).hasSize(3);
      assertThat(stack.childPids()).containsKeys("kafka-1", "kafka-2", "kafka-3");
      try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
          org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
          endpoints.bootstrapServers()))) {
        List<String> names = endpoints.topics().all().stream()
            .map(io.fractalrmo.contracts.TopicSpec::name).toList();
        var topics = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
        assertThat(topics.values()).allSatisfy(t -> assertThat(t.partitions())
            .allSatisfy(p -> assertThat(p.replicas()).as(t.name()).hasSize(3)));
      }
      Task task = Mothers.aTask().setTaskId("task-" + UUID.randomUUID()).build();
      produce(endpoints, task);
      assertThat(consumeAll(endpoints)).containsExactly(task);
    }
  }

  private static void produce(Endpoints endpoints, Task task) throws Exception {
    try (Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(endpoints.schemaRegistryUrl()));
         KafkaProducer<String, Task> producer = new KafkaProducer<>(Map.of(
             ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers(),
             ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), serde.serializer())) {
      producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), task.getTaskId(), task))
          .get(30, TimeUnit.SECONDS);
    }
  }

  private static List<Task> consumeAll(Endpoints endpoints) {
    List<Task> seen = new ArrayList<>();
    try (Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(endpoints.schemaRegistryUrl()));
         KafkaConsumer<String, Task> consumer = new KafkaConsumer<>(Map.of(
             ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers(),
             ConsumerConfig.GROUP_ID_CONFIG, "g-" + UUID.randomUUID(),
             ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), serde.deserializer())) {
      consumer.subscribe(List.of(endpoints.topics().tasks().name()));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (seen.isEmpty() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Task> r : consumer.poll(Duration.ofMillis(500))) {
          seen.add(r.value());
        }
      }
      // drain what else is there for a moment, to catch duplicates
      consumer.poll(Duration.ofMillis(500)).forEach(r -> seen.add(r.value()));
    }
    return seen;
  }
}
