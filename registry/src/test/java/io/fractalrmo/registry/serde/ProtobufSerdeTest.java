package io.fractalrmo.registry.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.fractalrmo.registry.client.RegisteredSchema;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.schema.ProtobufParsedSchema;
import io.fractalrmo.registry.schema.Schemas;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
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

/** The Protobuf serde against a real registry server (in-memory store). */
class ProtobufSerdeTest {

  static SchemaRegistryServer registry;

  static final String ADDRESS = """
      syntax = "proto3";
      package shop;
      message Address {
        string city = 1;
      }
      """;
  static final String ORDER = """
      syntax = "proto3";
      package shop;
      import "shop/address.proto";
      message Order {
        string id = 1;
        int32 qty = 2;
        Address ship_to = 3;
        map<string, string> tags = 4;
        message Line {
          string sku = 1;
          repeated int64 prices = 2;
        }
        repeated Line lines = 5;
      }
      message Refund {
        string order_id = 1;
      }
      """;

  static Descriptors.FileDescriptor orderFile;

  @BeforeAll
  static void up() {
    registry = SchemaRegistryServer.startInMemory(0);
    orderFile = ((ProtobufParsedSchema) Schemas.parse(Schemas.PROTOBUF, ORDER,
        Map.of("shop/address.proto", ADDRESS))).descriptor();
  }

  @AfterAll
  static void down() {
    registry.close();
  }

  static Map<String, Object> config() {
    Map<String, Object> c = new HashMap<>();
    c.put("schema.registry.url", registry.url());
    return c;
  }

  static DynamicMessage order(String id) {
    Descriptors.Descriptor o = orderFile.findMessageTypeByName("Order");
    Descriptors.Descriptor address = o.findFieldByName("ship_to").getMessageType();
    Descriptors.Descriptor line = o.findNestedTypeByName("Line");
    Descriptors.Descriptor tagEntry = o.findFieldByName("tags").getMessageType();
    return DynamicMessage.newBuilder(o)
        .setField(o.findFieldByName("id"), id)
        .setField(o.findFieldByName("qty"), 3)
        .setField(o.findFieldByName("ship_to"), DynamicMessage.newBuilder(address)
            .setField(address.findFieldByName("city"), "Lyon").build())
        .addRepeatedField(o.findFieldByName("tags"), DynamicMessage.newBuilder(tagEntry)
            .setField(tagEntry.findFieldByName("key"), "k").setField(tagEntry.findFieldByName("value"), "v").build())
        .addRepeatedField(o.findFieldByName("lines"), DynamicMessage.newBuilder(line)
            .setField(line.findFieldByName("sku"), "s-1")
            .addRepeatedField(line.findFieldByName("prices"), 150L).build())
        .build();
  }

  static <T extends Message> Serializer<T> serializer() {
    ProtobufSerializer<T> s = new ProtobufSerializer<>();
    s.configure(config(), false);
    return s;
  }

  static Deserializer<Message> deserializer() {
    ProtobufDeserializer<Message> d = new ProtobufDeserializer<>();
    d.configure(config(), false);
    return d;
  }

  @Test
  void shouldRoundTripADynamicMessageWithItsImportRegisteredAsAReference() throws Exception {
    DynamicMessage order = order("o-1");
    byte[] bytes = ProtobufSerdeTest.<DynamicMessage>serializer().serialize("orders", order);
    assertThat(bytes[0]).isZero();
    assertThat(bytes[5]).as("message indexes [0]: the single byte 0").isZero();
    Message back = deserializer().deserialize("orders", bytes);
    assertThat(back.toByteArray()).isEqualTo(order.toByteArray());
    assertThat(back.getDescriptorForType().getFullName()).isEqualTo("shop.Order");

    SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
    int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
    RegisteredSchema registered = client.registered(id);
    assertThat(registered.schemaType()).isEqualTo("PROTOBUF");
    assertThat(registered.references()).singleElement()
        .satisfies(r -> assertThat(r.subject()).isEqualTo("shop/address.proto"));
    assertThat(client.versions("orders-value")).containsExactly(1);
  }

  @Test
  void shouldWriteMessageIndexesAsConfluentDoesForLaterAndNestedMessages() {
    Descriptors.Descriptor refund = orderFile.findMessageTypeByName("Refund");
    DynamicMessage r = DynamicMessage.newBuilder(refund).setField(refund.findFieldByName("order_id"), "o-9").build();
    byte[] bytes = ProtobufSerdeTest.<DynamicMessage>serializer().serialize("refunds", r);
    // count 1, index 1, each a zig-zag varint: 0x02 0x02
    assertThat(Arrays.copyOfRange(bytes, 5, 7)).containsExactly(2, 2);
    assertThat(deserializer().deserialize("refunds", bytes).getDescriptorForType().getFullName()).isEqualTo("shop.Refund");

    Descriptors.Descriptor line = orderFile.findMessageTypeByName("Order").findNestedTypeByName("Line");
    DynamicMessage l = DynamicMessage.newBuilder(line).setField(line.findFieldByName("sku"), "x").build();
    byte[] nested = ProtobufSerdeTest.<DynamicMessage>serializer().serialize("lines", l);
    // [0, 0]: Order, then Line (the map entry type for 'tags' is not counted): count 2 -> 0x04, 0x00, 0x00
    assertThat(Arrays.copyOfRange(nested, 5, 8)).containsExactly(4, 0, 0);
    assertThat(deserializer().deserialize("lines", nested).getDescriptorForType().getFullName())
        .isEqualTo("shop.Order.Line");
    assertThat(MessageIndexes.decode(ByteBuffer.wrap(MessageIndexes.encode(List.of(3, 1, 4))))).containsExactly(3, 1, 4);
  }

  @Test
  void shouldReadIntoAGeneratedClassWhenConfigured() {
    Timestamp t = Timestamp.newBuilder().setSeconds(1_700_000_000L).setNanos(5).build();
    byte[] bytes = ProtobufSerdeTest.<Timestamp>serializer().serialize("times", t);
    ProtobufDeserializer<Timestamp> d = new ProtobufDeserializer<>();
    Map<String, Object> c = config();
    c.put(SchemaSerdeConfig.SPECIFIC_PROTOBUF_VALUE_TYPE, Timestamp.class.getName());
    d.configure(c, false);
    assertThat(d.deserialize("times", bytes)).isEqualTo(t);
  }

  @Test
  void shouldWorkAsTheDefaultValueSerdeOfAStreamsApplication() {
    StreamsBuilder b = new StreamsBuilder();
    b.stream("in", Consumed.with(Serdes.String(), (org.apache.kafka.common.serialization.Serde<Object>) null).withName("read"))
        .to("out", Produced.<String, Object>with(Serdes.String(), null).withName("write"));
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "protobuf-serde-by-name");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, ProtobufSerde.class.getName());
    p.put("schema.registry.url", registry.url());
    p.put(SchemaSerdeConfig.SPECIFIC_PROTOBUF_VALUE_TYPE, Timestamp.class.getName());
    ProtobufSerde<Timestamp> serde = new ProtobufSerde<>(Timestamp.class);
    serde.configure(config(), false);
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), p)) {
      TestInputTopic<String, Timestamp> in = driver.createInputTopic("in", Serdes.String().serializer(), serde.serializer());
      TestOutputTopic<String, Timestamp> out = driver.createOutputTopic("out", Serdes.String().deserializer(), serde.deserializer());
      Timestamp t = Timestamp.newBuilder().setSeconds(42).build();
      in.pipeInput("k", t);
      assertThat(out.readValue()).isEqualTo(t);
    }
  }

  @Nested
  class PoisonBytes {

    final byte[] good = ProtobufSerdeTest.<DynamicMessage>serializer().serialize("poison", order("o-2"));
    final Deserializer<Message> de = deserializer();

    @Test
    void shouldNameATruncatedHeaderAndAWrongMagicByte() {
      assertThatThrownBy(() -> de.deserialize("poison", new byte[] {0, 0}))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated record");
      byte[] bad = good.clone();
      bad[0] = 1;
      assertThatThrownBy(() -> de.deserialize("poison", bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("unknown magic byte 0x01");
    }

    @Test
    void shouldNameAnUnknownSchemaIdAndASchemaOfAnotherType() throws Exception {
      byte[] bad = good.clone();
      ByteBuffer.wrap(bad).putInt(1, 987_654);
      assertThatThrownBy(() -> de.deserialize("poison", bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("unknown schema id 987654");
      int avroId = SchemaRegistryClient.of(registry.url()).register("avro-only", new org.apache.avro.Schema.Parser()
          .parse("{\"type\":\"record\",\"name\":\"P\",\"fields\":[]}"));
      byte[] avro = good.clone();
      ByteBuffer.wrap(avro).putInt(1, avroId);
      assertThatThrownBy(() -> de.deserialize("poison", avro))
          .isInstanceOf(SerializationException.class).hasMessageContaining("is of type AVRO, not PROTOBUF");
    }

    @Test
    void shouldNameMessageIndexesThatNameNoMessage() {
      byte[] bad = good.clone();
      bad[5] = 0x02; // count 1 ...
      byte[] withIndex = new byte[bad.length + 1];
      System.arraycopy(bad, 0, withIndex, 0, 6);
      withIndex[6] = 0x0a; // ... index 5: the file has 2 top-level messages
      System.arraycopy(bad, 6, withIndex, 7, bad.length - 6);
      assertThatThrownBy(() -> de.deserialize("poison", withIndex))
          .isInstanceOf(SerializationException.class).hasMessageContaining("does not name a message");
    }

    @Test
    void shouldNameACorruptBody() {
      byte[] bad = Arrays.copyOf(good, good.length - 3);
      assertThatThrownBy(() -> de.deserialize("poison", bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated or corrupt Protobuf body");
    }
  }
}
