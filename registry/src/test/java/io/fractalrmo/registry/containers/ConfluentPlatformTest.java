package io.fractalrmo.registry.containers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.client.RestClientException;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ProtobufParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.serde.JsonSchemaDeserializer;
import io.fractalrmo.registry.serde.JsonSchemaSerializer;
import io.fractalrmo.registry.serde.ProtobufDeserializer;
import io.fractalrmo.registry.serde.ProtobufSerializer;
import io.fractalrmo.registry.serde.SchemaSerdeConfig;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.ConfluentKafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Against Confluent's real platform in containers (skipped where Docker is missing): our Java
 * serdes write and read Avro, JSON Schema and Protobuf through Confluent's
 * {@code cp-schema-registry} and its Kafka. {@link ConfluentImportTest} covers the migration.
 */
@Testcontainers(disabledWithoutDocker = true)
class ConfluentPlatformTest {

  static final String CP_VERSION = "7.9.0";
  static final Network NETWORK = Network.newNetwork();

  @Container
  static final ConfluentKafkaContainer KAFKA = new ConfluentKafkaContainer(
      DockerImageName.parse("confluentinc/cp-kafka:" + CP_VERSION))
      .withNetwork(NETWORK)
      .withNetworkAliases("kafka")
      .withListener("kafka:19092");

  @Container
  static final GenericContainer<?> SCHEMA_REGISTRY = new GenericContainer<>(
      DockerImageName.parse("confluentinc/cp-schema-registry:" + CP_VERSION))
      .withNetwork(NETWORK)
      .withNetworkAliases("schema-registry")
      .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
      .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
      .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
      .withEnv("SCHEMA_REGISTRY_MODE_MUTABILITY", "true")
      .withExposedPorts(8081)
      .dependsOn(KAFKA)
      .waitingFor(Wait.forHttp("/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(3)));

  static String confluentUrl() {
    return "http://" + SCHEMA_REGISTRY.getHost() + ":" + SCHEMA_REGISTRY.getMappedPort(8081);
  }

  static final String ORDER_JSON = "{\"title\":\"Order\",\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
      + "\"qty\":{\"type\":\"integer\"}},\"required\":[\"id\"]}";
  static final String PING_PROTO = "syntax = \"proto3\";\npackage tc;\nmessage Ping {\n  string id = 1;\n  int64 n = 2;\n}\n"
      + "message Pong {\n  string id = 1;\n}\n";

  static Map<String, Object> serdeConfig(String registryUrl) {
    Map<String, Object> c = new HashMap<>(FractalSerdes.config(registryUrl));
    c.put(SchemaSerdeConfig.JSON_VALUE_SCHEMA, ORDER_JSON);
    return c;
  }

  static List<byte[]> roundTripThroughKafka(String topic, List<byte[]> values) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (byte[] v : values) {
        producer.send(new ProducerRecord<>(topic, v)).get();
      }
    } catch (Exception e) {
      throw new AssertionError("producing to " + topic + " failed", e);
    }
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "tc-" + UUID.randomUUID());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<byte[]> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (out.size() < values.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          out.add(r.value());
        }
      }
    }
    assertThat(out).as("records read back from " + topic).hasSameSizeAs(values);
    return out;
  }

  @Test
  void shouldWriteAndReadAvroJsonAndProtobufThroughConfluentsRegistryAndKafka() throws Exception {
    String url = confluentUrl();
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    // Avro: the project's Task through FractalSerdes
    Task task = Mothers.aTask().build();
    try (Serde<Task> tasks = FractalSerdes.value(Task.class, serdeConfig(url))) {
      String topic = "tc-tasks-" + suffix;
      byte[] read = roundTripThroughKafka(topic, List.of(tasks.serializer().serialize(topic, task))).get(0);
      assertThat(tasks.deserializer().deserialize(topic, read)).isEqualTo(task);
    }
    // JSON Schema
    String jsonTopic = "tc-orders-" + suffix;
    JsonSchemaSerializer<Object> js = new JsonSchemaSerializer<>();
    js.configure(serdeConfig(url), false);
    JsonSchemaDeserializer<JsonNode> jd = new JsonSchemaDeserializer<>();
    jd.configure(serdeConfig(url), false);
    byte[] jsonRead = roundTripThroughKafka(jsonTopic, List.of(js.serialize(jsonTopic, Map.of("id", "o-1", "qty", 2)))).get(0);
    assertThat(jd.deserialize(jsonTopic, jsonRead).get("qty").asInt()).isEqualTo(2);
    // Protobuf, the file's second message (message indexes [1])
    var pong = ((ProtobufParsedSchema) Schemas.parse("PROTOBUF", PING_PROTO, Map.of())).descriptor().findMessageTypeByName("Pong");
    ProtobufSerializer<DynamicMessage> ps = new ProtobufSerializer<>();
    ps.configure(serdeConfig(url), false);
    ProtobufDeserializer<Message> pd = new ProtobufDeserializer<>();
    pd.configure(serdeConfig(url), false);
    String protoTopic = "tc-pongs-" + suffix;
    byte[] protoRead = roundTripThroughKafka(protoTopic, List.of(ps.serialize(protoTopic,
        DynamicMessage.newBuilder(pong).setField(pong.findFieldByName("id"), "p-1").build()))).get(0);
    Message back = pd.deserialize(protoTopic, protoRead);
    assertThat(back.getDescriptorForType().getFullName()).isEqualTo("tc.Pong");

    // Confluent's registry holds what our serdes registered, and refuses what it must
    SchemaRegistryClient theirs = SchemaRegistryClient.of(url);
    assertThat(theirs.subjects()).contains(jsonTopic + "-value", protoTopic + "-value");
    assertThat(theirs.registered(java.nio.ByteBuffer.wrap(protoRead, 1, 4).getInt()).schemaType()).isEqualTo("PROTOBUF");
    assertThatThrownBy(() -> theirs.register(jsonTopic + "-value", "JSON",
        "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}},\"required\":[\"id\"]}", List.of(), false))
        .isInstanceOfSatisfying(RestClientException.class, e -> assertThat(e.status()).isEqualTo(409));
  }
}
