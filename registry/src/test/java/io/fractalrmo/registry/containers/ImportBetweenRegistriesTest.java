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
import io.fractalrmo.registry.schema.SchemaReference;
import io.fractalrmo.registry.schema.Schemas;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.serde.JsonSchemaDeserializer;
import io.fractalrmo.registry.serde.JsonSchemaSerializer;
import io.fractalrmo.registry.serde.ProtobufDeserializer;
import io.fractalrmo.registry.serde.ProtobufSerializer;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

/**
 * The migration {@link ConfluentImportTest} runs against Confluent's registry, here between two of
 * ours (no Docker needed): records written with the source's ids decode through the target after
 * an import in IMPORT mode, references included, and the target gives new ids above the imported.
 */
class ImportBetweenRegistriesTest {

  @Test
  void shouldDecodeRecordsWrittenWithTheSourceThroughTheTargetAfterAnImport() throws Exception {
    try (SchemaRegistryServer source = SchemaRegistryServer.startInMemory(0);
         SchemaRegistryServer target = SchemaRegistryServer.startInMemory(0)) {
      SchemaRegistryClient src = SchemaRegistryClient.of(source.url());
      for (int i = 0; i < 3; i++) {
        src.register("warm-up-" + i, "JSON", "{\"type\":\"string\",\"title\":\"w" + i + "\"}", List.of(), false);
      }
      // the target already gave id 1 to something else: the import must not depend on ids being free
      SchemaRegistryClient.of(target.url()).register("elsewhere", "JSON", "{\"type\":\"integer\"}", List.of(), false);
      SchemaRegistryClient.of(target.url()).deleteSubject("elsewhere", false);
      SchemaRegistryClient.of(target.url()).deleteSubject("elsewhere", true);

      Task task = Mothers.aTask().setTaskId("imported-1").build();
      byte[] avro;
      try (Serde<Task> tasks = FractalSerdes.value(Task.class, serdeConfig(source.url()))) {
        avro = tasks.serializer().serialize("mig-tasks", task);
      }
      JsonSchemaSerializer<Object> js = new JsonSchemaSerializer<>();
      js.configure(serdeConfig(source.url()), false);
      byte[] json = js.serialize("mig-orders", Map.of("id", "o-9"));
      var ping = ((ProtobufParsedSchema) Schemas.parse("PROTOBUF", PING_PROTO, Map.of())).descriptor().findMessageTypeByName("Ping");
      ProtobufSerializer<DynamicMessage> ps = new ProtobufSerializer<>();
      ps.configure(serdeConfig(source.url()), false);
      byte[] proto = ps.serialize("mig-pings", DynamicMessage.newBuilder(ping).setField(ping.findFieldByName("id"), "p-9").build());
      src.register("mig-address", "JSON", "{\"$id\":\"a.json\",\"type\":\"object\"}", List.of(), false);
      int withRef = src.register("mig-customer", "JSON", "{\"properties\":{\"a\":{\"$ref\":\"a.json\"}}}",
          List.of(new SchemaReference("a.json", "mig-address", 1)), false).id();

      assertThat(Registries.importAll(source.url(), target.url())).isEqualTo(8);

      Map<String, Object> theirs = serdeConfig(target.url());
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
      SchemaRegistryClient tgt = SchemaRegistryClient.of(target.url());
      assertThat(tgt.registered(withRef).references()).singleElement()
          .satisfies(r -> assertThat(r.subject()).isEqualTo("mig-address"));
      assertThat(tgt.schemaById(ByteBuffer.wrap(avro, 1, 4).getInt())).isEqualTo(Task.getClassSchema());
      int fresh = tgt.register("after-import", "JSON", "{\"type\":\"boolean\"}", List.of(), false).id();
      assertThat(fresh).isGreaterThan(withRef);
    }
  }
}
