package io.fractalrmo.registry.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TestStackTest {

  static TestStack stack;

  @BeforeAll
  static void up() {
    stack = TestStack.start();
  }

  @AfterAll
  static void down() {
    stack.close();
  }

  @Test
  void shouldCreateEveryCatalogueTopicUnderAUniquePrefix() throws Exception {
    Endpoints a = stack.newEndpoints();
    Endpoints b = stack.newEndpoints();
    assertThat(a.topics().prefix()).isNotEqualTo(b.topics().prefix());
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()))) {
      Set<String> names = admin.listTopics().names().get();
      a.topics().all().forEach(t -> assertThat(names).contains(t.name()));
      assertThat(admin.describeTopics(List.of(a.topics().tasks().name())).allTopicNames().get()
          .get(a.topics().tasks().name()).partitions()).hasSize(a.topics().tasks().partitions());
    }
    assertThat(a.schemaRegistryUrl()).isEqualTo(stack.schemaRegistryUrl());
    assertThat(a.jdbcUrl()).isEmpty();
  }

  @Test
  void shouldCarryATaskThroughTheBrokerInConfluentWireFormat() {
    Endpoints e = stack.newEndpoints();
    String topic = e.topics().tasks().name();
    Task task = Mothers.aTask().setTaskId("stack-1").build();
    try (Serde<Task> serde = FractalSerdes.value(Task.class, stack.serdeConfig());
         KafkaProducer<String, Task> producer = new KafkaProducer<>(Map.of(
             ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()),
             new StringSerializer(), serde.serializer());
         KafkaConsumer<String, Task> consumer = new KafkaConsumer<>(Map.of(
             ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
             ConsumerConfig.GROUP_ID_CONFIG, "g-" + topic,
             ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
             new StringDeserializer(), serde.deserializer())) {
      producer.send(new ProducerRecord<>(topic, task.getTaskId(), task));
      producer.flush();
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      Task got = null;
      while (got == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Task> r : consumer.poll(Duration.ofMillis(200))) {
          got = r.value();
        }
      }
      assertThat(got).isEqualTo(task);
    }
  }
}
