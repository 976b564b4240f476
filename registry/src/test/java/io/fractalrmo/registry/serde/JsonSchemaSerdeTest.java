package io.fractalrmo.registry.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.SchemaReference;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The JSON Schema serde against a real registry server (in-memory store). */
class JsonSchemaSerdeTest {

  static SchemaRegistryServer registry;
  static final ObjectMapper JSON = new ObjectMapper();
  static final String ORDER = """
      {"title":"Order","type":"object","properties":{
        "id":{"type":"string"},"qty":{"type":"integer","minimum":1}},
       "required":["id","qty"],"additionalProperties":false}""";

  /** A plain Java type the serde maps to and from. */
  public record Order(String id, int qty) {
  }

  @BeforeAll
  static void up() {
    registry = SchemaRegistryServer.startInMemory(0);
  }

  @AfterAll
  static void down() {
    registry.close();
  }

  static Map<String, Object> config() {
    Map<String, Object> c = new HashMap<>();
    c.put("schema.registry.url", registry.url());
    c.put(SchemaSerdeConfig.JSON_VALUE_SCHEMA, ORDER);
    return c;
  }

  static <T> Serializer<T> serializer(Map<String, Object> c) {
    JsonSchemaSerializer<T> s = new JsonSchemaSerializer<>();
    s.configure(c, false);
    return s;
  }

  @Test
  void shouldRoundTripAPojoAndAJsonNodeInConfluentWireFormat() throws Exception {
    byte[] bytes = serializer(config()).serialize("orders", new Order("o-1", 2));
    assertThat(bytes[0]).isZero();
    assertThat(new String(bytes, 5, bytes.length - 5, StandardCharsets.UTF_8)).isEqualTo("{\"id\":\"o-1\",\"qty\":2}");
    JsonSchemaDeserializer<JsonNode> asTree = new JsonSchemaDeserializer<>();
    asTree.configure(config(), false);
    assertThat(asTree.deserialize("orders", bytes)).isEqualTo(JSON.readTree("{\"id\":\"o-1\",\"qty\":2}"));
    Map<String, Object> typed = config();
    typed.put(SchemaSerdeConfig.JSON_VALUE_TYPE, Order.class.getName());
    JsonSchemaDeserializer<Order> asOrder = new JsonSchemaDeserializer<>();
    asOrder.configure(typed, false);
    assertThat(asOrder.deserialize("orders", bytes)).isEqualTo(new Order("o-1", 2));

    SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
    int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
    assertThat(client.registered(id).schemaType()).isEqualTo("JSON");
    assertThat(client.versions("orders-value")).containsExactly(1);
    assertThat(serializer(config()).serialize("orders", JSON.readTree("{\"id\":\"o-2\",\"qty\":5}"))).isNotNull();
  }

  @Test
  void shouldRefuseToWriteAPayloadThatDoesNotValidate() {
    Serializer<Object> ser = serializer(config());
    assertThatThrownBy(() -> ser.serialize("orders-invalid", Map.of("id", "o-1", "qty", 0)))
        .isInstanceOf(SerializationException.class).hasMessageContaining("does not validate").hasMessageContaining("minimum");
    assertThatThrownBy(() -> ser.serialize("orders-invalid", Map.of("id", "o-1", "qty", 1, "extra", true)))
        .isInstanceOf(SerializationException.class).hasMessageContaining("does not validate");
    Map<String, Object> lenient = config();
    lenient.put(SchemaSerdeConfig.JSON_FAIL_INVALID_SCHEMA, false);
    assertThat(serializer(lenient).serialize("orders-invalid", Map.of("id", "o-1", "qty", 0))).isNotNull();
  }

  @Test
  void shouldWriteWithTheLatestVersionAndItsReferences() throws Exception {
    SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
    client.register("addresses", "JSON",
        "{\"$id\":\"address.json\",\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}",
        List.of(), false);
    int id = client.register("customers-value", "JSON",
        "{\"type\":\"object\",\"properties\":{\"home\":{\"$ref\":\"address.json\"}},\"required\":[\"home\"]}",
        List.of(new SchemaReference("address.json", "addresses", 1)), false).id();
    Map<String, Object> c = new HashMap<>();
    c.put("schema.registry.url", registry.url());
    c.put(SchemaSerdeConfig.USE_LATEST_VERSION, true);
    Serializer<Object> ser = serializer(c);
    byte[] bytes = ser.serialize("customers", Map.of("home", Map.of("city", "Oslo")));
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(id);
    assertThatThrownBy(() -> ser.serialize("customers", Map.of("home", Map.of("town", "Oslo"))))
        .as("validated through the reference").isInstanceOf(SerializationException.class).hasMessageContaining("city");
  }

  @Test
  void shouldNeedASchemaUnlessTheLatestVersionIsUsed() {
    JsonSchemaSerializer<Object> s = new JsonSchemaSerializer<>();
    assertThatThrownBy(() -> s.configure(Map.of("schema.registry.url", registry.url()), false))
        .isInstanceOf(ConfigException.class).hasMessageContaining(SchemaSerdeConfig.JSON_VALUE_SCHEMA);
  }

  @Test
  void shouldWorkAsTheDefaultValueSerdeOfAStreamsApplication() {
    StreamsBuilder b = new StreamsBuilder();
    b.stream("in", Consumed.with(Serdes.String(), (Serde<Object>) null).withName("read"))
        .to("out", Produced.<String, Object>with(Serdes.String(), null).withName("write"));
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "json-serde-by-name");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, JsonSchemaSerde.class.getName());
    p.putAll(config());
    p.put(SchemaSerdeConfig.JSON_VALUE_TYPE, Order.class.getName());
    Serde<Order> serde = new JsonSchemaSerde<>(ORDER, Order.class);
    serde.configure(config(), false);
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), p)) {
      TestInputTopic<String, Order> in = driver.createInputTopic("in", Serdes.String().serializer(), serde.serializer());
      TestOutputTopic<String, Order> out = driver.createOutputTopic("out", Serdes.String().deserializer(), serde.deserializer());
      in.pipeInput("k", new Order("o-7", 7));
      assertThat(out.readValue()).isEqualTo(new Order("o-7", 7));
    }
  }

  @Nested
  class PoisonBytes {

    final byte[] good = JsonSchemaSerdeTest.<Object>serializer(config()).serialize("poison", new Order("o", 1));
    final Deserializer<JsonNode> de = deserializer();

    Deserializer<JsonNode> deserializer() {
      JsonSchemaDeserializer<JsonNode> d = new JsonSchemaDeserializer<>();
      d.configure(config(), false);
      return d;
    }

    @Test
    void shouldNameATruncatedHeaderAWrongMagicByteAndAnUnknownId() {
      assertThatThrownBy(() -> de.deserialize("poison", new byte[] {0}))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated record");
      byte[] json = "{\"id\":1}".getBytes(StandardCharsets.UTF_8);
      assertThatThrownBy(() -> de.deserialize("poison", json))
          .isInstanceOf(SerializationException.class).hasMessageContaining("unknown magic byte 0x7b");
      byte[] bad = good.clone();
      ByteBuffer.wrap(bad).putInt(1, 987_655);
      assertThatThrownBy(() -> de.deserialize("poison", bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("unknown schema id 987655");
    }

    @Test
    void shouldNameACorruptBodyAndAnInvalidRecordWhenValidatingOnRead() {
      byte[] bad = Arrays.copyOf(good, good.length - 2);
      assertThatThrownBy(() -> de.deserialize("poison", bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("corrupt JSON body");
      byte[] invalid = good.clone();
      byte[] body = "{\"id\":\"o\",\"qty\":0}".getBytes(StandardCharsets.UTF_8);
      byte[] frame = new byte[5 + body.length];
      System.arraycopy(invalid, 0, frame, 0, 5);
      System.arraycopy(body, 0, frame, 5, body.length);
      Map<String, Object> c = config();
      c.put(SchemaSerdeConfig.JSON_FAIL_INVALID_SCHEMA, true);
      JsonSchemaDeserializer<JsonNode> strict = new JsonSchemaDeserializer<>();
      strict.configure(c, false);
      assertThatThrownBy(() -> strict.deserialize("poison", frame))
          .isInstanceOf(SerializationException.class).hasMessageContaining("does not validate");
      assertThat(de.deserialize("poison", frame)).as("not validated unless asked").isNotNull();
    }
  }
}
