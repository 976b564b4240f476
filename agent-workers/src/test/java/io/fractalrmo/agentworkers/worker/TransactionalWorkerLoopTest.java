package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The loop's decisions, driven synchronously through MockConsumer poll tasks: what is produced,
 * what is committed, what is aborted and rewound, what goes to the DLQ with which headers.
 */
class TransactionalWorkerLoopTest {

  private static final String IN = "in";
  private static final String OUT = "out";
  private static final String DLQ = "dlq";
  private static final TopicPartition P0 = new TopicPartition(IN, 0);

  private MockConsumer<String, byte[]> consumer;
  private final List<MockProducer<String, byte[]>> producers = new ArrayList<>();
  private Supplier<MockProducer<String, byte[]>> nextProducer;
  private MockProducer<String, byte[]> statusProducer;
  private AgentStatusReporter status;

  @BeforeEach
  void setUp() {
    consumer = new MockConsumer<>("earliest");
    nextProducer = () -> new MockProducer<>(true, null, new StringSerializer(),
        new ByteArraySerializer());
    statusProducer = new MockProducer<>(true, null, new StringSerializer(),
        new ByteArraySerializer());
    status = new AgentStatusReporter(statusProducer, PlainAvro.serializer(), "status", "agent-1",
        "test", "host", Duration.ZERO, Clock.systemUTC());
  }

  private TransactionalWorker<Task> worker(RecordHandler<Task> handler) {
    WorkerSettings settings = WorkerSettings.defaults("test", "agent-1", List.of(IN), DLQ)
        .withBackoff(Duration.ofMillis(1), Duration.ofMillis(2));
    return new TransactionalWorker<>(settings, consumer, () -> {
      MockProducer<String, byte[]> p = nextProducer.get();
      producers.add(p);
      return p;
    }, PlainAvro.deserializer(Task.class), handler, PlainAvro.serializer(), status);
  }

  /** Echoes each task to OUT under the same key. */
  private static List<Outgoing> echo(String key, Task task) {
    return List.of(new Outgoing(OUT, key, task));
  }

  private void assignAndAdd(List<byte[]> values) {
    consumer.rebalance(List.of(P0));
    consumer.updateBeginningOffsets(Map.of(P0, 0L));
    add(0, values);
  }

  private void add(long firstOffset, List<byte[]> values) {
    for (int i = 0; i < values.size(); i++) {
      consumer.addRecord(new ConsumerRecord<>(IN, 0, firstOffset + i, "k" + (firstOffset + i),
          values.get(i)));
    }
  }

  private static byte[] task(String id) {
    return PlainAvro.bytes(Mothers.aTask().setTaskId(id).build());
  }

  private static String header(ProducerRecord<String, byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static Map<TopicPartition, OffsetAndMetadata> lastCommittedOffsets(
      MockProducer<String, byte[]> producer) {
    Map<TopicPartition, OffsetAndMetadata> merged = new HashMap<>();
    producer.consumerGroupOffsetsHistory().forEach(byGroup -> byGroup.values()
        .forEach(merged::putAll));
    return merged;
  }

  @Test
  void shouldProduceOutputsAndOffsetsInOneCommittedTransaction() {
    TransactionalWorker<Task> worker = worker(TransactionalWorkerLoopTest::echo);
    consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"), task("t2"), task("t3"))));
    consumer.schedulePollTask(worker::wakeup);

    worker.run();

    MockProducer<String, byte[]> producer = producers.get(0);
    assertThat(producer.transactionCommitted()).isTrue();
    assertThat(producer.history()).extracting(ProducerRecord::topic, ProducerRecord::key)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(OUT, "k0"),
            org.assertj.core.groups.Tuple.tuple(OUT, "k1"),
            org.assertj.core.groups.Tuple.tuple(OUT, "k2"));
    assertThat(lastCommittedOffsets(producer)).containsEntry(P0, new OffsetAndMetadata(3));
    assertThat(worker.committedRecords()).isEqualTo(3);
    assertThat(worker.failure()).isNull();
    assertThat(consumer.closed()).isTrue();
    assertThat(producer.closed()).isTrue();
  }

  @Test
  void shouldSendPoisonToTheDlqWithHeadersAndKeepGoing() {
    TransactionalWorker<Task> worker = worker((key, task) -> {
      if (task.getTaskId().toString().equals("bad")) {
        throw new IllegalArgumentException("task bad breaks the contract");
      }
      return echo(key, task);
    });
    byte[] garbage = "definitely not avro".getBytes(StandardCharsets.UTF_8);
    consumer.schedulePollTask(() -> assignAndAdd(List.of(garbage, task("bad"), task("good"))));
    consumer.schedulePollTask(worker::wakeup);

    worker.run();

    List<ProducerRecord<String, byte[]>> sent = producers.get(0).history();
    assertThat(sent).extracting(ProducerRecord::topic).containsExactly(DLQ, DLQ, OUT);
    ProducerRecord<String, byte[]> undeserializable = sent.get(0);
    assertThat(undeserializable.key()).isEqualTo("k0");
    assertThat(undeserializable.value()).isEqualTo(garbage);
    assertThat(header(undeserializable, DlqHeaders.TOPIC)).isEqualTo(IN);
    assertThat(header(undeserializable, DlqHeaders.PARTITION)).isEqualTo("0");
    assertThat(header(undeserializable, DlqHeaders.OFFSET)).isEqualTo("0");
    assertThat(header(undeserializable, DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo("org.apache.kafka.common.errors.SerializationException");
    assertThat(header(undeserializable, DlqHeaders.EXCEPTION_MESSAGE)).contains("magic");
    assertThat(header(undeserializable, DlqHeaders.STAGE))
        .isEqualTo(TransactionalWorker.STAGE_DESERIALIZE);
    assertThat(header(undeserializable, DlqHeaders.AGENT_ID)).isEqualTo("agent-1");
    ProducerRecord<String, byte[]> violation = sent.get(1);
    assertThat(header(violation, DlqHeaders.OFFSET)).isEqualTo("1");
    assertThat(header(violation, DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo(IllegalArgumentException.class.getName());
    assertThat(header(violation, DlqHeaders.EXCEPTION_MESSAGE))
        .isEqualTo("task bad breaks the contract");
    assertThat(header(violation, DlqHeaders.STAGE)).isEqualTo(TransactionalWorker.STAGE_HANDLE);
    assertThat(lastCommittedOffsets(producers.get(0))).containsEntry(P0, new OffsetAndMetadata(3));
    assertThat(worker.dlqRecords()).isEqualTo(2);
  }

  @Test
  void shouldSendAnOutputThatDoesNotSerializeToTheDlq() {
    TransactionalWorker<Task> worker = new TransactionalWorker<>(
        WorkerSettings.defaults("test", "agent-1", List.of(IN), DLQ), consumer,
        () -> {
          MockProducer<String, byte[]> p = nextProducer.get();
          producers.add(p);
          return p;
        }, PlainAvro.deserializer(Task.class), TransactionalWorkerLoopTest::echo,
        (topic, value) -> {
          throw new org.apache.kafka.common.errors.SerializationException("schema incompatible");
        }, null);
    consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"))));
    consumer.schedulePollTask(worker::wakeup);

    worker.run();

    assertThat(producers.get(0).history()).singleElement().satisfies(r -> {
      assertThat(r.topic()).isEqualTo(DLQ);
      assertThat(header(r, DlqHeaders.STAGE))
          .isEqualTo(TransactionalWorker.STAGE_SERIALIZE_OUTPUT);
    });
  }

  @Test
  void shouldCommitSlowRecordsInTheirOwnTransactionsWithinOnePoll() {
    WorkerSettings settings = WorkerSettings.defaults("test", "agent-1", List.of(IN), DLQ)
        .withCommitInterval(Duration.ofMillis(20));
    TransactionalWorker<Task> worker = new TransactionalWorker<>(settings, consumer, () -> {
      MockProducer<String, byte[]> p = nextProducer.get();
      producers.add(p);
      return p;
    }, PlainAvro.deserializer(Task.class), (key, task) -> {
      Thread.sleep(30); // a slow handler: longer than the commit interval
      return echo(key, task);
    }, PlainAvro.serializer(), status);
    consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"), task("t2"), task("t3"))));
    consumer.schedulePollTask(worker::wakeup);

    worker.run();

    assertThat(producers.get(0).consumerGroupOffsetsHistory())
        .extracting(byGroup -> byGroup.values().iterator().next().get(P0))
        .containsExactly(new OffsetAndMetadata(1), new OffsetAndMetadata(2),
            new OffsetAndMetadata(3));
    assertThat(producers.get(0).history()).hasSize(3);
  }

  @Test
  void shouldLeaveUnhandledRecordsForTheNextPollWhenStopped() {
    List<String> handled = new ArrayList<>();
    TransactionalWorker<Task>[] self = new TransactionalWorker[1];
    self[0] = worker((key, task) -> {
      handled.add(key);
      if (handled.size() == 2) {
        self[0].wakeup(); // a stop request arrives while the second record is handled
      }
      return echo(key, task);
    });
    consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"), task("t2"), task("t3"))));

    self[0].run();

    assertThat(handled).containsExactly("k0", "k1");
    assertThat(lastCommittedOffsets(producers.get(0))).containsEntry(P0, new OffsetAndMetadata(2));
    assertThat(producers.get(0).history()).hasSize(2);
  }

  @Nested
  class WhenTheTransactionFails {

    @Test
    void shouldAbortRewindAndRetryTheBatch() {
      List<String> handled = new ArrayList<>();
      TransactionalWorker<Task> worker = worker((key, task) -> {
        handled.add(key);
        return echo(key, task);
      });
      consumer.schedulePollTask(() -> {
        assignAndAdd(List.of(task("t1"), task("t2")));
        producers.get(0).commitTransactionException = new KafkaException("broker said no");
      });
      consumer.schedulePollTask(() -> {
        // The failed batch was aborted and the consumer rewound to its start.
        assertThat(producers.get(0).transactionAborted()).isTrue();
        assertThat(producers.get(0).history()).isEmpty();
        assertThat(consumer.position(P0)).isZero();
        producers.get(0).commitTransactionException = null;
        add(0, List.of(task("t1"), task("t2")));
      });
      consumer.schedulePollTask(worker::wakeup);

      worker.run();

      assertThat(handled).containsExactly("k0", "k1", "k0", "k1");
      assertThat(producers).hasSize(1);
      assertThat(producers.get(0).history()).extracting(ProducerRecord::key)
          .containsExactly("k0", "k1");
      assertThat(lastCommittedOffsets(producers.get(0))).containsEntry(P0,
          new OffsetAndMetadata(2));
      assertThat(worker.failure()).isNull();
    }

    @Test
    void shouldReplaceAFencedProducerAndRetry() {
      TransactionalWorker<Task> worker = worker(TransactionalWorkerLoopTest::echo);
      consumer.schedulePollTask(() -> {
        assignAndAdd(List.of(task("t1")));
        producers.get(0).commitTransactionException = new ProducerFencedException("fenced");
      });
      consumer.schedulePollTask(() -> add(0, List.of(task("t1"))));
      consumer.schedulePollTask(worker::wakeup);

      worker.run();

      assertThat(producers).hasSize(2);
      assertThat(producers.get(0).closed()).isTrue();
      assertThat(producers.get(0).history()).isEmpty();
      assertThat(producers.get(1).transactionInitialized()).isTrue();
      assertThat(producers.get(1).history()).extracting(ProducerRecord::key).containsExactly("k0");
      assertThat(worker.failure()).isNull();
    }

    @Test
    void shouldStopWithFailedWhenNotAuthorized() {
      TransactionalWorker<Task> worker = worker(TransactionalWorkerLoopTest::echo);
      consumer.schedulePollTask(() -> {
        assignAndAdd(List.of(task("t1")));
        producers.get(0).commitTransactionException =
            new AuthorizationException("not allowed to write");
      });

      worker.run();

      assertThat(worker.failure()).isInstanceOf(AuthorizationException.class);
      assertThat(status.state()).isEqualTo(AgentState.FAILED);
      assertThat(consumer.closed()).isTrue();
    }

    @Test
    void shouldGiveUpAfterTheBoundOfConsecutiveFailures() {
      TransactionalWorker<Task> worker = worker(TransactionalWorkerLoopTest::echo);
      consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"))));
      for (int i = 0; i < 15; i++) {
        consumer.schedulePollTask(() -> {
          producers.get(0).commitTransactionException = new KafkaException("still failing");
          add(0, List.of(task("t1")));
        });
      }

      producersFailFromTheStart();
      worker.run();

      assertThat(worker.failure()).isInstanceOf(KafkaException.class)
          .hasMessageContaining("still failing");
      assertThat(producers.get(0).history()).isEmpty();
    }

    private void producersFailFromTheStart() {
      Supplier<MockProducer<String, byte[]>> plain = nextProducer;
      nextProducer = () -> {
        MockProducer<String, byte[]> p = plain.get();
        p.commitTransactionException = new KafkaException("still failing");
        return p;
      };
    }
  }

  @Test
  void shouldPublishStateChangesKeyedByAgentId() {
    TransactionalWorker<Task> worker = worker(TransactionalWorkerLoopTest::echo);
    consumer.schedulePollTask(() -> assignAndAdd(List.of(task("t1"))));
    consumer.schedulePollTask(() -> { });
    consumer.schedulePollTask(worker::wakeup);

    worker.run();

    List<AgentState> states = statusProducer.history().stream()
        .map(r -> PlainAvro.deserializer(io.fractalrmo.contracts.AgentStatus.class)
            .deserialize(r.topic(), r.value()))
        .map(s -> s.getNewState())
        .toList();
    assertThat(statusProducer.history()).allSatisfy(r -> assertThat(r.key()).isEqualTo("agent-1"));
    assertThat(states).containsExactly(AgentState.STARTING, AgentState.IDLE, AgentState.BUSY,
        AgentState.IDLE, AgentState.STOPPING, AgentState.STOPPED);
    assertThat(status.processed()).isEqualTo(1);
  }
}
