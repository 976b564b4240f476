package io.fractalrmo.registry.containers;

import static io.fractalrmo.registry.containers.ConfluentPlatformTest.PING_PROTO;
import static io.fractalrmo.registry.containers.ConfluentPlatformTest.serdeConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ProtobufParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.serde.JsonSchemaDeserializer;
import io.fractalrmo.registry.serde.JsonSchemaSerializer;
import io.fractalrmo.registry.serde.ProtobufDeserializer;
import io.fractalrmo.registry.serde.ProtobufSerializer;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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
 * A migration from our registry to Confluent's (skipped where Docker is missing): records written
 * with our registry's ids — Avro, JSON Schema, Protobuf — decode through a fresh
 * {@code cp-schema-registry} after its schemas were imported with their ids in IMPORT mode. Our
 * registry runs on the same (containerized) Kafka, in a topic of its own.
 */
@Testcontainers(disabledWithoutDocker = true)
class ConfluentImportTest {

  static final Network NETWORK = Network.newNetwork();

  @Container
  static final ConfluentKafkaContainer KAFKA = new ConfluentKafkaContainer(
      DockerImageName.parse("confluentinc/cp-kafka:" + ConfluentPlatformTest.CP_VERSION))
      .withNetwork(NETWORK)
      .withNetworkAliases("kafka")
      .withListener("kafka:19092");

  @Container
  static final GenericContainer<?> SCHEMA_REGISTRY = new GenericContainer<>(
      DockerImageName.parse("confluentinc/cp-schema-registry:" + ConfluentPlatformTest.CP_VERSION))
      .withNetwork(NETWORK)
      .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
      .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
      .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
      // IMPORT mode is refused unless mode changes are allowed
      .withEnv("SCHEMA_REGISTRY_MODE_MUTABILITY", "true")
      .withExposedPorts(8081)
      .dependsOn(KAFKA)
      .waitingFor(Wait.forHttp("/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(3)));

  static String confluentUrl() {
    return "http://" + SCHEMA_REGISTRY.getHost() + ":" + SCHEMA_REGISTRY.getMappedPort(8081);
  }

  @Test
  void shouldDecodeRecordsOurRegistryWroteThroughConfluentsAfterAnImport() throws Exception {
    String url = confluentUrl();
    try (SchemaRegistryServer ours = SchemaRegistryServer.start(KAFKA.getBootstrapServers(),
        SchemaRegistryServer.Options.defaults().withTopic("_fractal_schemas_" + UUID.randomUUID()))) {
      // spend a few ids first, so ours and theirs would disagree without the import
      SchemaRegistryClient ourClient = SchemaRegistryClient.of(ours.url());
      for (int i = 0; i < 3; i++) {
        ourClient.register("warm-up-" + i, "JSON", "{\"type\":\"string\",\"title\":\"w" + i + "\"}", List.of(), false);
      }
      Task task = Mothers.aTask().setTaskId("imported-1").build();
      byte[] avro;
      byte[] json;
      byte[] proto;
      try (Serde<Task> tasks = FractalSerdes.value(Task.class, serdeConfig(ours.url()))) {
        avro = tasks.serializer().serialize("mig-tasks", task);
      }
      JsonSchemaSerializer<Object> js = new JsonSchemaSerializer<>();
      js.configure(serdeConfig(ours.url()), false);
      json = js.serialize("mig-orders", Map.of("id", "o-9"));
      var ping = ((ProtobufParsedSchema) Schemas.parse("PROTOBUF", PING_PROTO, Map.of())).descriptor().findMessageTypeByName("Ping");
      ProtobufSerializer<DynamicMessage> ps = new ProtobufSerializer<>();
      ps.configure(serdeConfig(ours.url()), false);
      proto = ps.serialize("mig-pings", DynamicMessage.newBuilder(ping).setField(ping.findFieldByName("id"), "p-9").build());

      // the migration into Confluent's (empty) registry: IMPORT mode, every version with its id
      int copied = Registries.importAll(ours.url(), url);
      assertThat(copied).isGreaterThanOrEqualTo(6);

      Map<String, Object> theirs = serdeConfig(url);
      try (Serde<Task> tasks = FractalSerdes.value(Task.class, theirs)) {
        assertThat(tasks.deserializer().deserialize("mig-tasks", avro)).isEqualTo(task);
      }
      JsonSchemaDeserializer<JsonNode> jd = new JsonSchemaDeserializer<>();
      jd.configure(theirs, false);
      assertThat(jd.deserialize("mig-orders", json).get("id").asText()).isEqualTo("o-9");
      ProtobufDeserializer<Message> pd = new ProtobufDeserializer<>();
      pd.configure(theirs, false);
      Message back = pd.deserialize("mig-pings", proto);
      assertThat(back.getField(back.getDescriptorForType().findFieldByName("id"))).isEqualTo("p-9");
      // and the ids agree: Confluent answers our id with our schema
      int avroId = java.nio.ByteBuffer.wrap(avro, 1, 4).getInt();
      assertThat(SchemaRegistryClient.of(url).schemaById(avroId)).isEqualTo(Task.getClassSchema());
    }
  }
}
