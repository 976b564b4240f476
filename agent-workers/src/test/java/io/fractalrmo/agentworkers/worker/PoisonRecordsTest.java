package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.ChildWorkerMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Poison against the real broker and registry: garbage bytes, an unknown schema id, a record
 * missing a field the reader requires and a record the handler rejects each land in the DLQ with
 * the DlqHeaders, and the worker processes what follows. Also: the instance's AgentStatus life.
 */
class PoisonRecordsTest {

  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  @Test
  void shouldSendEachKindOfPoisonToTheDlqAndKeepProcessing() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().tasks().name();
    String output = endpoints.topics().prefix() + "test.echo";
    kafka.createTopic(output, 3);

    byte[] garbage = "this is not avro".getBytes(StandardCharsets.UTF_8);
    byte[] unknownId = ByteBuffer.allocate(9).put((byte) 0).putInt(99_999)
        .put(new byte[] {2, 'x', 0, 0}).array();
    byte[] missingTaskId = withoutTaskId(input);
    Serializer<Task> tasks = FractalSerdes.value(Task.class, stack.serdeConfig()).serializer();
    List<byte[]> values = List.of(
        garbage, task(tasks, input, "good-1"),
        unknownId, task(tasks, input, "good-2"),
        missingTaskId, task(tasks, input, "good-3"),
        task(tasks, input, "violates-1"), task(tasks, input, "good-4"));
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < values.size(); i++) {
        producer.send(new ProducerRecord<>(input, 0, "k" + i, values.get(i))).get();
      }
    }

    String agentId;
    try (WorkerGroup group = WorkerGroup.start(endpoints,
        ChildWorkerMain.echoSpec(endpoints, output, endpoints.topics().prefix() + "fractal-echo",
            0).withHeartbeatInterval(Duration.ofMillis(300)), 1, stack.serdeConfig())) {
      agentId = group.workers().get(0).agentId();
      Eventually.await(Duration.ofSeconds(60),
          () -> kafka.readCommitted(output).size() >= 4,
          () -> "the good records came through");
      Eventually.await(Duration.ofSeconds(10),
          () -> statesOf(endpoints, agentId).contains(AgentState.IDLE)
              && heartbeats(endpoints, agentId) >= 2,
          () -> "status of " + agentId + ": " + statesOf(endpoints, agentId));
    }

    assertThat(kafka.readCommitted(output)).extracting(ConsumerRecord::key)
        .containsExactlyInAnyOrder("k1", "k3", "k5", "k7");
    // DLQ records are keyed like the original, so they spread over partitions: order by offset.
    List<ConsumerRecord<String, byte[]>> dlq =
        kafka.readCommitted(endpoints.topics().dlq().name()).stream()
            .sorted(java.util.Comparator.comparingLong(
                r -> Long.parseLong(header(r, DlqHeaders.OFFSET))))
            .toList();
    assertThat(dlq).extracting(ConsumerRecord::key).containsExactly("k0", "k2", "k4", "k6");
    assertThat(dlq).extracting(ConsumerRecord::value)
        .containsExactly(garbage, unknownId, missingTaskId, values.get(6));
    for (ConsumerRecord<String, byte[]> record : dlq) {
      assertThat(header(record, DlqHeaders.TOPIC)).isEqualTo(input);
      assertThat(header(record, DlqHeaders.PARTITION)).isEqualTo("0");
      assertThat(header(record, DlqHeaders.OFFSET)).isEqualTo(record.key().substring(1));
      assertThat(header(record, DlqHeaders.AGENT_ID)).isEqualTo(agentId);
      assertThat(header(record, DlqHeaders.EXCEPTION_CLASS)).isNotBlank();
      assertThat(header(record, DlqHeaders.EXCEPTION_MESSAGE)).isNotBlank();
    }
    assertThat(dlq).extracting(r -> header(r, DlqHeaders.STAGE)).containsExactly(
        TransactionalWorker.STAGE_DESERIALIZE, TransactionalWorker.STAGE_DESERIALIZE,
        TransactionalWorker.STAGE_DESERIALIZE, TransactionalWorker.STAGE_HANDLE);
    assertThat(header(dlq.get(1), DlqHeaders.EXCEPTION_MESSAGE)).contains("99999");
    assertThat(header(dlq.get(2), DlqHeaders.EXCEPTION_MESSAGE)).contains("task_id");
    assertThat(header(dlq.get(3), DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo(IllegalArgumentException.class.getName());

    List<AgentState> states = statesOf(endpoints, agentId);
    assertThat(states.get(0)).isEqualTo(AgentState.STARTING);
    assertThat(states).contains(AgentState.BUSY, AgentState.IDLE);
    assertThat(states.subList(states.size() - 2, states.size()))
        .containsExactly(AgentState.STOPPING, AgentState.STOPPED);
  }

  private static byte[] task(Serializer<Task> serializer, String topic, String id) {
    return serializer.serialize(topic, Mothers.aTask().setTaskId(id).build());
  }

  /** A Task written with a schema that lacks task_id (required by the reader, no default). */
  private static byte[] withoutTaskId(String topic) throws Exception {
    Schema full = Task.getClassSchema();
    List<Schema.Field> fields = full.getFields().stream()
        .filter(f -> !f.name().equals("task_id"))
        .map(f -> new Schema.Field(f, f.schema()))
        .toList();
    Schema reduced = Schema.createRecord(full.getName(), "Task without its id",
        full.getNamespace(), false, fields);
    int id;
    SchemaRegistryClient client = SchemaRegistryClient.of(stack.schemaRegistryUrl());
    try {
      id = client.register(topic + "-missing-field-value", reduced);
    } finally {
      client.close();
    }
    Task source = Mothers.aTask().build();
    GenericRecord record = new GenericData.Record(reduced);
    for (Schema.Field f : fields) {
      record.put(f.name(), source.get(f.name()));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(ByteBuffer.allocate(4).putInt(id).array());
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(reduced, SpecificDataWithLogicalTypes.MODEL)
        .write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static List<AgentStatus> statuses(Endpoints endpoints, String agentId) {
    Deserializer<AgentStatus> d =
        FractalSerdes.value(AgentStatus.class, stack.serdeConfig()).deserializer();
    String topic = endpoints.topics().agentStatus().name();
    return kafka.readCommitted(topic).stream()
        .filter(r -> Objects.equals(r.key(), agentId))
        .map(r -> d.deserialize(topic, r.value()))
        .toList();
  }

  /** The states the agent went through, in order (heartbeats repeat a state: collapsed). */
  private static List<AgentState> statesOf(Endpoints endpoints, String agentId) {
    List<AgentState> states = new java.util.ArrayList<>();
    for (AgentStatus s : statuses(endpoints, agentId)) {
      if (states.isEmpty() || states.get(states.size() - 1) != s.getNewState()) {
        states.add(s.getNewState());
      }
    }
    return states;
  }

  private static long heartbeats(Endpoints endpoints, String agentId) {
    return statuses(endpoints, agentId).stream().filter(s -> s.getOldState() == null).count();
  }

  /** Avro's generic model with the logical-type conversions the Task schema needs. */
  private static final class SpecificDataWithLogicalTypes {
    static final GenericData MODEL = new GenericData();

    static {
      MODEL.addLogicalTypeConversion(new org.apache.avro.data.TimeConversions
          .TimestampMillisConversion());
    }
  }
}
