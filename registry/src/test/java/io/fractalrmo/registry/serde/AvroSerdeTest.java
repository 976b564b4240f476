package io.fractalrmo.registry.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The serde against a real registry server (in-memory store; the Kafka-backed one is tested in server/). */
class AvroSerdeTest {

  static SchemaRegistryServer registry;
  static final String TOPIC = "serde-test.tasks";

  static final Schema V1 = new Schema.Parser().parse("""
      {"type":"record","name":"Thing","namespace":"test.evolution","fields":[
        {"name":"id","type":"string"}]}""");
  static final Schema V2 = new Schema.Parser().parse("""
      {"type":"record","name":"Thing","namespace":"test.evolution","fields":[
        {"name":"id","type":"string"},
        {"name":"size","type":"int","default":42}]}""");
  static final Schema V3_INCOMPATIBLE = new Schema.Parser().parse("""
      {"type":"record","name":"Thing","namespace":"test.evolution","fields":[
        {"name":"id","type":"int"}]}""");

  @BeforeAll
  static void up() {
    registry = SchemaRegistryServer.startInMemory(0);
  }

  @AfterAll
  static void down() {
    registry.close();
  }

  static Map<String, Object> config() {
    return FractalSerdes.config(registry.url());
  }

  @Test
  void shouldRoundTripATaskInConfluentWireFormat() throws Exception {
    Task task = Mothers.aTask().setAttributes(Map.of("k", "v")).build();
    try (Serde<Task> serde = FractalSerdes.value(Task.class, config())) {
      byte[] bytes = serde.serializer().serialize(TOPIC, task);
      assertThat(bytes[0]).isEqualTo((byte) 0);
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      assertThat(SchemaRegistryClient.of(registry.url()).schemaById(id)).isEqualTo(Task.getClassSchema());
      assertThat(SchemaRegistryClient.of(registry.url()).versions(TOPIC + "-value")).containsExactly(1);
      assertThat(serde.deserializer().deserialize(TOPIC, bytes)).isEqualTo(task);
    }
  }

  @Test
  void shouldPassNullThroughAsNull() {
    try (Serde<Task> serde = FractalSerdes.value(Task.class, config())) {
      assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
      assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
    }
  }

  @Test
  void shouldWorkWhenConfiguredByClassNameAsKafkaDoes() {
    Map<String, Object> props = new HashMap<>();
    props.put("schema.registry.url", registry.url());
    props.put("specific.avro.reader", "true");
    Serializer<Object> ser = new AvroSerializer<>();
    ser.configure(props, false);
    Deserializer<Object> de = new AvroDeserializer<>();
    de.configure(props, false);
    Task task = Mothers.aTask().build();
    assertThat(de.deserialize(TOPIC, ser.serialize(TOPIC, task))).isInstanceOf(Task.class).isEqualTo(task);

    props.put("specific.avro.reader", "false");
    Deserializer<Object> generic = new AvroDeserializer<>();
    generic.configure(props, false);
    Object read = generic.deserialize(TOPIC, ser.serialize(TOPIC, task));
    assertThat(read).isInstanceOf(GenericRecord.class);
    assertThat(((GenericRecord) read).get("task_id").toString()).isEqualTo(task.getTaskId());
  }

  @Test
  void shouldUseTheKeySubjectForKeys() throws Exception {
    try (Serde<Task> serde = FractalSerdes.key(Task.class, config())) {
      serde.serializer().serialize("keyed-topic", Mothers.aTask().build());
    }
    assertThat(SchemaRegistryClient.of(registry.url()).subjects()).contains("keyed-topic-key");
  }

  @Test
  void shouldRoundTripGenericRecords() {
    GenericRecord rec = new GenericRecordBuilder(V1).set("id", "g-1").build();
    try (Serde<GenericRecord> serde = FractalSerdes.genericValue(config())) {
      GenericRecord back = serde.deserializer().deserialize("generic-topic",
          serde.serializer().serialize("generic-topic", rec));
      assertThat(back.get("id").toString()).isEqualTo("g-1");
      assertThat(back.getSchema()).isEqualTo(V1);
    }
  }

  @Nested
  class Evolution {

    @Test
    void shouldReadARecordWrittenWithV1IntoAV2ReaderWithTheDefault() throws Exception {
      String topic = "evolution-read";
      GenericRecord old = new GenericRecordBuilder(V1).set("id", "a").build();
      byte[] bytes;
      try (Serde<GenericRecord> writer = FractalSerdes.genericValue(config())) {
        bytes = writer.serializer().serialize(topic, old);
      }
      // A v2 reader: the deserializer resolves the v1 writer schema (found by id) to v2.
      SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      Schema writerSchema = client.schemaById(id);
      GenericRecord asV2 = readAs(bytes, writerSchema, V2);
      assertThat(asV2.get("id").toString()).isEqualTo("a");
      assertThat(asV2.get("size")).isEqualTo(42);
      // v2 registers as a new version (BACKWARD compatible), v3 is refused with 409.
      assertThat(client.register(topic + "-value", V2)).isNotEqualTo(id);
      assertThatThrownBy(() -> client.register(topic + "-value", V3_INCOMPATIBLE))
          .isInstanceOfSatisfying(io.fractalrmo.registry.client.RestClientException.class,
              e -> assertThat(e.errorCode()).isEqualTo(409));
    }

    @Test
    void shouldReadAnOldTaskIntoTheCurrentTaskClass() {
      // The released v1 Task minus its last optional field, as an older producer would write it.
      Schema current = Task.getClassSchema();
      Schema older = Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false,
          current.getFields().stream().filter(f -> !f.name().equals("attributes"))
              .map(f -> new Schema.Field(f, f.schema())).toList());
      assertThat(older.getField("attributes")).isNull();
      GenericRecord rec = new GenericData.Record(older);
      for (Schema.Field f : older.getFields()) {
        rec.put(f.name(), GenericData.get().deepCopy(f.schema(),
            Mothers.aTask().build().get(current.getField(f.name()).pos())));
      }
      rec.put("language", new GenericData.EnumSymbol(older.getField("language").schema(), "PYTHON"));
      rec.put("submitted_at", Mothers.T0.toEpochMilli());
      try (Serde<GenericRecord> writer = FractalSerdes.genericValue(config());
           Serde<Task> reader = FractalSerdes.value(Task.class, config())) {
        Task task = reader.deserializer().deserialize("old-tasks", writer.serializer().serialize("old-tasks", rec));
        assertThat(task.getTaskId()).isEqualTo("task-1");
        assertThat(task.getAttributes()).isEmpty();
        assertThat(task.getSubmittedAt()).isEqualTo(Mothers.T0);
      }
    }

    private GenericRecord readAs(byte[] bytes, Schema writer, Schema reader) throws Exception {
      var decoder = org.apache.avro.io.DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);
      return new org.apache.avro.generic.GenericDatumReader<GenericRecord>(writer, reader).read(null, decoder);
    }
  }

  @Nested
  class PoisonBytes {

    final Deserializer<Task> de = FractalSerdes.value(Task.class, config()).deserializer();
    final byte[] good = FractalSerdes.value(Task.class, config()).serializer()
        .serialize(TOPIC, Mothers.aTask().build());

    @Test
    void shouldNameAWrongMagicByte() {
      byte[] bad = good.clone();
      bad[0] = 0x7b; // '{' — somebody wrote JSON
      assertThatThrownBy(() -> de.deserialize(TOPIC, bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("magic byte 0x7b");
    }

    @Test
    void shouldNameAnUnknownSchemaId() {
      byte[] bad = good.clone();
      ByteBuffer.wrap(bad).putInt(1, 987_654);
      assertThatThrownBy(() -> de.deserialize(TOPIC, bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("unknown schema id 987654");
    }

    @Test
    void shouldNameATruncatedHeader() {
      assertThatThrownBy(() -> de.deserialize(TOPIC, new byte[] {0, 0, 1}))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated record")
          .hasMessageContaining("3 bytes");
      assertThatThrownBy(() -> de.deserialize(TOPIC, new byte[0]))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated record");
    }

    @Test
    void shouldNameATruncatedBody() {
      byte[] bad = Arrays.copyOf(good, good.length - 10);
      assertThatThrownBy(() -> de.deserialize(TOPIC, bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("truncated or corrupt Avro body");
    }

    @Test
    void shouldNameTrailingGarbage() {
      byte[] bad = Arrays.copyOf(good, good.length + 3);
      assertThatThrownBy(() -> de.deserialize(TOPIC, bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("bytes left over");
    }

    @Test
    void shouldNameAWriterSchemaTheReaderCannotResolve() throws Exception {
      int id = SchemaRegistryClient.of(registry.url()).register("unrelated-value", V3_INCOMPATIBLE);
      byte[] bad = good.clone();
      ByteBuffer.wrap(bad).putInt(1, id);
      assertThatThrownBy(() -> de.deserialize(TOPIC, bad))
          .isInstanceOf(SerializationException.class).hasMessageContaining("cannot be read as io.fractalrmo.contracts.Task");
    }

    @Test
    void shouldRefuseToSerializeAnInvalidRecord() {
      Task invalid = Mothers.aTask().build();
      invalid.put("task_id", null);
      Serializer<Task> ser = FractalSerdes.value(Task.class, config()).serializer();
      assertThatThrownBy(() -> ser.serialize(TOPIC, invalid))
          .isInstanceOf(SerializationException.class).hasMessageContaining("cannot serialize io.fractalrmo.contracts.Task");
    }
  }

  @Nested
  class Configuration {

    @Test
    void shouldFailOverToTheNextUrl() {
      Map<String, Object> c = FractalSerdes.config("http://127.0.0.1:1," + registry.url());
      try (Serde<Task> serde = FractalSerdes.value(Task.class, c)) {
        Task t = Mothers.aTask().build();
        assertThat(serde.deserializer().deserialize(TOPIC, serde.serializer().serialize(TOPIC, t))).isEqualTo(t);
      }
    }

    @Test
    void shouldKeepWorkingFromCacheWhenTheRegistryGoesAway() {
      SchemaRegistryServer temporary = SchemaRegistryServer.startInMemory(0);
      Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(temporary.url()));
      Task t = Mothers.aTask().build();
      byte[] warm = serde.serializer().serialize(TOPIC, t);
      serde.deserializer().deserialize(TOPIC, warm);
      temporary.close();
      byte[] again = serde.serializer().serialize(TOPIC, t);
      assertThat(again).isEqualTo(warm);
      assertThat(serde.deserializer().deserialize(TOPIC, again)).isEqualTo(t);
      // a cold serde cannot: the failure names the registry
      Serde<Task> cold = FractalSerdes.value(Task.class, FractalSerdes.config(temporary.url()));
      assertThatThrownBy(() -> cold.serializer().serialize(TOPIC, t))
          .isInstanceOf(SerializationException.class).hasMessageContaining("cannot reach the schema registry");
    }

    @Test
    void shouldNotRegisterWhenAutoRegisterIsOff() {
      Map<String, Object> c = config();
      c.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false);
      Serializer<GenericRecord> ser = new AvroSerializer<>();
      ser.configure(c, false);
      GenericRecord rec = new GenericRecordBuilder(V1).set("id", "x").build();
      assertThatThrownBy(() -> ser.serialize("never-registered", rec))
          .isInstanceOf(SerializationException.class).hasMessageContaining("40401");
      // once registered by someone else, it is found
      try (Serde<GenericRecord> registering = FractalSerdes.genericValue(config())) {
        registering.serializer().serialize("never-registered", rec);
      }
      assertThat(ser.serialize("never-registered", rec)).isNotNull();
    }

    @Test
    void shouldWriteWithTheLatestVersionWhenAsked() throws Exception {
      SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
      client.register("latest-topic-value", V1);
      int v2 = client.register("latest-topic-value", V2);
      Map<String, Object> c = config();
      c.put(AvroSerdeConfig.USE_LATEST_VERSION, true);
      c.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false);
      Serializer<GenericRecord> ser = new AvroSerializer<>();
      ser.configure(c, false);
      byte[] bytes = ser.serialize("latest-topic", new GenericRecordBuilder(V2).set("id", "x").build());
      assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(v2);
    }

    @Test
    void shouldSendBasicAuthFromUserInfo() {
      Map<String, Object> c = config();
      c.put("basic.auth.credentials.source", "USER_INFO");
      c.put("basic.auth.user.info", "alice:secret");
      var cfg = io.fractalrmo.registry.client.RegistryClientConfig.from(c);
      assertThat(cfg.authorization()).contains("Basic YWxpY2U6c2VjcmV0");
      var fromUrl = io.fractalrmo.registry.client.RegistryClientConfig.from(Map.of(
          "schema.registry.url", "http://bob:pw@127.0.0.1:8081", "basic.auth.credentials.source", "URL"));
      assertThat(fromUrl.authorization()).contains("Basic Ym9iOnB3");
      assertThat(fromUrl.urls().get(0).toString()).isEqualTo("http://127.0.0.1:8081");
    }

    @Test
    void shouldReadTlsSettingsUnderConfluentsNames() {
      Map<String, Object> c = new HashMap<>(Map.of("schema.registry.url", "https://127.0.0.1:8081"));
      assertThat(io.fractalrmo.registry.client.RegistryClientConfig.from(c).sslContext()).isPresent();
      c.put("schema.registry.ssl.truststore.location", "/nonexistent/truststore.jks");
      c.put("schema.registry.ssl.truststore.password", "changeit");
      assertThatThrownBy(() -> io.fractalrmo.registry.client.RegistryClientConfig.from(c))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schema.registry.ssl.");
    }

    @Test
    void shouldRejectAMissingUrl() {
      assertThatThrownBy(() -> FractalSerdes.value(Task.class, Map.of()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schema.registry.url");
    }
  }
}
