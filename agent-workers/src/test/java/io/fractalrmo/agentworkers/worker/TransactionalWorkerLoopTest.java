package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.runtime.AgentStatusReporter;
import io.fractalrmo.runtime.CompletedOffsets;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.Supervised;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The worker's decisions, driven through MockConsumer/MockProducer with the worker on its own
 * thread: what is produced and committed (outputs and offsets in one transaction, offsets with
 * the out-of-order finished records in their metadata), what is aborted and retried, what goes to
 * the DLQ with which headers, what a stop cuts off — and the fault paths: a commit whose outcome is
 * unknown while {@code committed()} fails, a fenced producer, a refused output, a failed helper.
 */
class TransactionalWorkerLoopTest {

  private static final String IN = "in";
  private static final String OUT = "out";
  private static final String DLQ = "dlq";
  private static final TopicPartition P0 = new TopicPartition(IN, 0);
  private static final Duration WAIT = Duration.ofSeconds(30);

  private TestConsumer consumer;
  private final List<MockProducer<String, byte[]>> producers = new CopyOnWriteArrayList<>();
  private Supplier<MockProducer<String, byte[]>> nextProducer;
  private MockProducer<String, byte[]> statusProducer;
  private AgentStatusReporter status;
  private TransactionalWorker<Task> worker;
  private Thread thread;

  @BeforeEach
  void setUp() {
    consumer = new TestConsumer();
    nextProducer = () -> new MockProducer<>(true, null, new StringSerializer(),
        new ByteArraySerializer());
    statusProducer = new MockProducer<>(true, null, new StringSerializer(),
        new ByteArraySerializer());
    status = new AgentStatusReporter(statusProducer, PlainAvro.serializer()::serialize, "status", "agent-1",
        "test", "host", Duration.ZERO, Clock.systemUTC());
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (worker != null) {
      worker.wakeup();
      thread.join(WAIT.toMillis());
    }
  }

  private WorkerSettings settings() {
    return WorkerSettings.defaults("test", "agent-1", List.of(IN), DLQ)
        .withBackoff(Duration.ofMillis(1), Duration.ofMillis(5))
        .withConcurrency(4);
  }

  private TransactionalWorker<Task> start(RecordHandler<Task> handler) {
    return start(settings(), handler, TopicLimits.DEFAULT, List.of());
  }

  private TransactionalWorker<Task> start(WorkerSettings settings, RecordHandler<Task> handler,
      TopicLimits limits, List<Supervised> helpers) {
    worker = TransactionalWorker.<Task>builder(settings, consumer, () -> {
          MockProducer<String, byte[]> p = nextProducer.get();
          producers.add(p);
          return p;
        }, PlainAvro.serializer())
        .handlers(() -> handler)
        .deserializers(() -> PlainAvro.deserializer(Task.class))
        .status(status)
        .limits(limits)
        .supervise(helpers)
        .build();
    thread = new Thread(worker, "worker-under-test");
    thread.start();
    return worker;
  }

  private void stopAndJoin() throws InterruptedException {
    worker.wakeup();
    thread.join(WAIT.toMillis());
    assertThat(thread.isAlive()).as("worker thread ended").isFalse();
  }

  /** Echoes each task to OUT under the same key. */
  private static List<Outgoing> echo(String key, Task task) {
    return List.of(new Outgoing(OUT, key, task));
  }

  /** Assigns P0 (from offset 0) and adds the records, on the worker's polling thread. */
  private void assignAndAdd(List<byte[]> values) {
    consumer.schedulePollTask(() -> {
      consumer.rebalance(List.of(P0));
      consumer.updateBeginningOffsets(Map.of(P0, 0L));
    });
    add(0, values);
  }

  private void add(long firstOffset, List<byte[]> values) {
    add(firstOffset, values, i -> "k" + (firstOffset + i));
  }

  private void add(long firstOffset, List<byte[]> values, Function<Integer, String> key) {
    consumer.schedulePollTask(() -> {
      for (int i = 0; i < values.size(); i++) {
        consumer.addRecord(new ConsumerRecord<>(IN, 0, firstOffset + i, key.apply(i),
            values.get(i)));
      }
    });
  }

  private static byte[] task(String id) {
    return PlainAvro.bytes(Mothers.aTask().setTaskId(id).build());
  }

  private static List<byte[]> tasks(int n) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(task("t" + i));
    }
    return out;
  }

  private static String header(ProducerRecord<String, byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** What every producer committed, in order. */
  private List<ProducerRecord<String, byte[]>> committedOutputs() {
    List<ProducerRecord<String, byte[]>> all = new ArrayList<>();
    producers.forEach(p -> all.addAll(p.history()));
    return all;
  }

  private OffsetAndMetadata committedOffset() {
    return consumer.lastCommitted().get(P0);
  }

  private void awaitCommittedAt(long offset) {
    Eventually.await(WAIT, () -> committedOffset() != null
            && committedOffset().offset() == offset,
        () -> "committed offset " + offset + ", is " + committedOffset() + "; worker "
            + worker.health());
  }

  @Test
  void shouldProduceOutputsAndOffsetsInOneCommittedTransaction() throws Exception {
    start(TransactionalWorkerLoopTest::echo);
    assignAndAdd(List.of(task("t1"), task("t2"), task("t3")));

    awaitCommittedAt(3);
    stopAndJoin();

    MockProducer<String, byte[]> producer = producers.get(0);
    assertThat(producer.history()).extracting(ProducerRecord::topic, ProducerRecord::key)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(OUT, "k0"),
            org.assertj.core.groups.Tuple.tuple(OUT, "k1"),
            org.assertj.core.groups.Tuple.tuple(OUT, "k2"));
    assertThat(committedOffset().offset()).isEqualTo(3);
    assertThat(CompletedOffsets.owner(committedOffset().metadata())).contains("agent-1");
    assertThat(worker.committedRecords()).isEqualTo(3);
    assertThat(worker.failure()).isNull();
    assertThat(worker.health().health()).isEqualTo(AgentHealth.STOPPED);
    assertThat(consumer.closed()).isTrue();
    assertThat(producer.closed()).isTrue();
  }

  @Test
  void shouldSendPoisonToTheDlqWithHeadersAndKeepGoing() throws Exception {
    start((key, task) -> {
      if (task.getTaskId().equals("bad")) {
        throw new IllegalArgumentException("task bad breaks the contract");
      }
      return echo(key, task);
    });
    byte[] garbage = "definitely not avro".getBytes(StandardCharsets.UTF_8);
    assignAndAdd(List.of(garbage, task("bad"), task("good")));

    awaitCommittedAt(3);
    stopAndJoin();

    Map<String, ProducerRecord<String, byte[]>> sent = producers.get(0).history().stream()
        .collect(Collectors.toMap(ProducerRecord::key, r -> r));
    ProducerRecord<String, byte[]> undeserializable = sent.get("k0");
    assertThat(undeserializable.topic()).isEqualTo(DLQ);
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
    ProducerRecord<String, byte[]> violation = sent.get("k1");
    assertThat(violation.topic()).isEqualTo(DLQ);
    assertThat(header(violation, DlqHeaders.OFFSET)).isEqualTo("1");
    assertThat(header(violation, DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo(IllegalArgumentException.class.getName());
    assertThat(header(violation, DlqHeaders.EXCEPTION_MESSAGE))
        .isEqualTo("task bad breaks the contract");
    assertThat(header(violation, DlqHeaders.STAGE)).isEqualTo(TransactionalWorker.STAGE_HANDLE);
    assertThat(sent.get("k2").topic()).isEqualTo(OUT);
    assertThat(worker.dlqRecords()).isEqualTo(2);
  }

  @Test
  void shouldSendAnOutputThatDoesNotSerializeToTheDlq() throws Exception {
    worker = TransactionalWorker.<Task>builder(settings(), consumer, () -> {
          MockProducer<String, byte[]> p = nextProducer.get();
          producers.add(p);
          return p;
        }, (topic, value) -> {
          throw new org.apache.kafka.common.errors.SerializationException("schema incompatible");
        })
        .handlers(() -> TransactionalWorkerLoopTest::echo)
        .deserializers(() -> PlainAvro.deserializer(Task.class))
        .build();
    thread = new Thread(worker);
    thread.start();
    assignAndAdd(List.of(task("t1")));

    awaitCommittedAt(1);
    stopAndJoin();

    assertThat(producers.get(0).history()).singleElement().satisfies(r -> {
      assertThat(r.topic()).isEqualTo(DLQ);
      assertThat(header(r, DlqHeaders.STAGE))
          .isEqualTo(TransactionalWorker.STAGE_SERIALIZE_OUTPUT);
    });
  }

  @Test
  void shouldSendTheInputToTheDlqWhenItsOutputWouldExceedTheTopicLimit() throws Exception {
    // a 900 KB task, echoed to a topic limited to 64 KiB; the DLQ (also 64 KiB) gets the reason
    // without the value, which would not fit either
    byte[] huge = PlainAvro.bytes(Mothers.aTask().setTaskId("huge")
        .setCode("x = 1\n".repeat(150_000)).build());
    start(settings(), TransactionalWorkerLoopTest::echo, TopicLimits.fixed(64 * 1024), List.of());
    assignAndAdd(List.of(task("t0"), huge, task("t2")));

    awaitCommittedAt(3);
    stopAndJoin();

    Map<String, ProducerRecord<String, byte[]>> sent = producers.get(0).history().stream()
        .collect(Collectors.toMap(ProducerRecord::key, r -> r));
    assertThat(sent.get("k0").topic()).isEqualTo(OUT);
    assertThat(sent.get("k2").topic()).isEqualTo(OUT);
    ProducerRecord<String, byte[]> dlq = sent.get("k1");
    assertThat(dlq.topic()).isEqualTo(DLQ);
    assertThat(header(dlq, DlqHeaders.STAGE))
        .isEqualTo(TransactionalWorker.STAGE_OUTPUT_TOO_LARGE);
    assertThat(header(dlq, DlqHeaders.EXCEPTION_CLASS))
        .isEqualTo(RecordTooLargeException.class.getName());
    assertThat(header(dlq, DlqHeaders.EXCEPTION_MESSAGE)).contains("over the topic's limit");
    assertThat(dlq.value()).as("the original value does not fit the DLQ's limit").isNull();
    assertThat(header(dlq, DlqHeaders.VALUE_DROPPED)).isEqualTo(String.valueOf(huge.length));
    assertThat(worker.health().health()).isEqualTo(AgentHealth.STOPPED);
  }

  @Nested
  class Concurrency {

    @Test
    void shouldFinishOtherKeysOfThePartitionWhileOneRecordIsSlow() throws Exception {
      CountDownLatch release = new CountDownLatch(1);
      start((key, task) -> {
        if (key.equals("k0")) {
          release.await(); // the slow one, first on the partition
        }
        return echo(key, task);
      });
      assignAndAdd(tasks(5));

      Eventually.await(WAIT, () -> committedOutputs().size() == 4,
          () -> "the fast records committed while the slow one runs: " + committedOutputs());
      assertThat(committedOutputs()).extracting(ProducerRecord::key)
          .containsExactlyInAnyOrder("k1", "k2", "k3", "k4");
      OffsetAndMetadata held = committedOffset();
      assertThat(held.offset()).as("the committed offset waits for the slow record").isZero();
      assertThat(CompletedOffsets.decode(0, held.metadata())).containsExactly(1L, 2L, 3L, 4L);

      release.countDown();
      awaitCommittedAt(5);
      stopAndJoin();
      assertThat(CompletedOffsets.decode(5, committedOffset().metadata())).isEmpty();
      assertThat(committedOutputs()).extracting(ProducerRecord::key)
          .containsExactlyInAnyOrder("k0", "k1", "k2", "k3", "k4");
    }

    @Test
    void shouldHandleTheRecordsOfOneKeyOneAtATimeInOffsetOrder() throws Exception {
      List<String> order = Collections.synchronizedList(new ArrayList<>());
      Map<String, AtomicInteger> running = new ConcurrentHashMap<>();
      AtomicInteger overlaps = new AtomicInteger();
      start((key, task) -> {
        if (running.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() > 1) {
          overlaps.incrementAndGet();
        }
        Thread.sleep(5); // long enough for a second slot to start the next one, were it allowed
        order.add(key + ":" + task.getTaskId());
        running.get(key).decrementAndGet();
        return echo(key, task);
      });
      consumer.schedulePollTask(() -> {
        consumer.rebalance(List.of(P0));
        consumer.updateBeginningOffsets(Map.of(P0, 0L));
      });
      add(0, tasks(12), i -> i % 2 == 0 ? "a" : "b");

      awaitCommittedAt(12);
      stopAndJoin();

      assertThat(overlaps.get()).as("two records of one key at once").isZero();
      assertThat(order.stream().filter(s -> s.startsWith("a:")).toList())
          .containsExactly("a:t0", "a:t2", "a:t4", "a:t6", "a:t8", "a:t10");
      assertThat(order.stream().filter(s -> s.startsWith("b:")).toList())
          .containsExactly("b:t1", "b:t3", "b:t5", "b:t7", "b:t9", "b:t11");
    }

    @Test
    void shouldSkipTheRecordsAPredecessorFinishedAheadOfItsCommittedOffset() throws Exception {
      // committed at 2 with 4 and 5 finished: 2, 3 and 6 are to do
      consumer.commitSync(Map.of(P0, new OffsetAndMetadata(2, CompletedOffsets.encode(2,
          List.of(4L, 5L)))));
      List<String> handled = Collections.synchronizedList(new ArrayList<>());
      start((key, task) -> {
        handled.add(key);
        return echo(key, task);
      });
      consumer.schedulePollTask(() -> {
        consumer.rebalance(List.of(P0));
        consumer.updateBeginningOffsets(Map.of(P0, 0L));
      });
      add(2, tasks(5)); // offsets 2..6

      awaitCommittedAt(7);
      stopAndJoin();

      assertThat(handled).containsExactlyInAnyOrder("k2", "k3", "k6");
      assertThat(committedOutputs()).extracting(ProducerRecord::key)
          .containsExactlyInAnyOrder("k2", "k3", "k6");
    }

    @Test
    void shouldCutOffRecordsInFlightOnStopAndCommitOnlyTheFinishedOnes() throws Exception {
      CountDownLatch blocked = new CountDownLatch(2);
      Set<String> interrupted = ConcurrentHashMap.newKeySet();
      java.util.concurrent.atomic.AtomicBoolean testOver =
          new java.util.concurrent.atomic.AtomicBoolean();
      start(settings().withStopGrace(Duration.ofMillis(200)), (key, task) -> {
        if (key.equals("k0")) {
          blocked.countDown();
          try {
            Thread.sleep(Long.MAX_VALUE); // a handler that blocks until interrupted
          } catch (InterruptedException e) {
            interrupted.add(key);
            // ...and returns a result anyway, as a sandbox that reports "interrupted" would
          }
        }
        if (key.equals("k1")) {
          blocked.countDown();
          while (!testOver.get()) {
            // a handler that ignores interrupts (goes on after one, returns only much later)
            if (Thread.interrupted()) {
              interrupted.add(key);
            }
            Thread.onSpinWait();
          }
        }
        return echo(key, task);
      }, TopicLimits.DEFAULT, List.of());
      assignAndAdd(tasks(3));
      assertThat(blocked.await(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      Eventually.await(WAIT, () -> committedOutputs().size() == 1, () -> "k2 committed");

      stopAndJoin();
      Eventually.await(WAIT, () -> interrupted.size() == 2, () -> "interrupted: " + interrupted);
      testOver.set(true); // the spinning handler returns now, after the worker stopped

      assertThat(committedOutputs()).extracting(ProducerRecord::key).containsExactly("k2");
      assertThat(committedOffset().offset()).as("the cut-off records stay to do").isZero();
      assertThat(CompletedOffsets.decode(0, committedOffset().metadata())).containsExactly(2L);
      assertThat(worker.failure()).isNull();
    }
  }

  @Nested
  class WhenTheTransactionFails {

    @Test
    void shouldAbortAndCommitTheFinishedRecordsInTheNextTransaction() throws Exception {
      List<String> handled = Collections.synchronizedList(new ArrayList<>());
      nextProducer = failingCommits(1, () -> new KafkaException("broker said no"));
      start((key, task) -> {
        handled.add(key);
        return echo(key, task);
      });
      assignAndAdd(List.of(task("t1"), task("t2")));

      awaitCommittedAt(2);
      stopAndJoin();

      assertThat(handled).as("handled once each: nothing rewound").containsExactlyInAnyOrder(
          "k0", "k1");
      assertThat(producers).hasSize(1);
      assertThat(producers.get(0).history()).extracting(ProducerRecord::key)
          .containsExactlyInAnyOrder("k0", "k1");
      assertThat(worker.failure()).isNull();
    }

    @Test
    void shouldStopWhenANewerInstanceFencedItsProducer() throws Exception {
      start(TransactionalWorkerLoopTest::echo);
      Eventually.await(WAIT, () -> !producers.isEmpty(), () -> "producer created");
      producers.get(0).fenceProducer(); // a restarted instance with the same transactional id
      assignAndAdd(List.of(task("t1")));

      Eventually.await(WAIT, () -> !worker.isRunning(), () -> "the zombie stops");
      thread.join(WAIT.toMillis());

      assertThat(worker.failure()).isInstanceOf(ProducerFencedException.class);
      assertThat(worker.health().health()).isEqualTo(AgentHealth.FAILED);
      assertThat(worker.health().reason()).contains("fenced");
      assertThat(committedOutputs()).as("nothing committed by the zombie").isEmpty();
      assertThat(producers).as("a fenced producer is not replaced").hasSize(1);
      assertThat(consumer.closed()).isTrue();
    }

    @Test
    void shouldStopWithFailedWhenNotAuthorized() throws Exception {
      nextProducer = failingCommits(Integer.MAX_VALUE,
          () -> new AuthorizationException("not allowed to write"));
      start(TransactionalWorkerLoopTest::echo);
      assignAndAdd(List.of(task("t1")));

      thread.join(WAIT.toMillis());

      assertThat(worker.failure()).isInstanceOf(AuthorizationException.class);
      assertThat(status.state()).isEqualTo(AgentState.FAILED);
      assertThat(status.healthState()).isEqualTo(AgentHealth.FAILED);
      assertThat(consumer.closed()).isTrue();
    }

    @Test
    void shouldGiveUpWhenFailuresLastLongerThanTheRetryTimeout() throws Exception {
      nextProducer = failingCommits(Integer.MAX_VALUE, () -> new KafkaException("still failing"));
      start(settings().withRetry(settings().retry().withTimeout(Duration.ofMillis(300))),
          TransactionalWorkerLoopTest::echo, TopicLimits.DEFAULT, List.of());
      assignAndAdd(List.of(task("t1")));

      thread.join(WAIT.toMillis());

      assertThat(worker.failure()).isInstanceOf(KafkaException.class)
          .hasMessageContaining("still failing");
      assertThat(committedOutputs()).isEmpty();
    }

    @Test
    void shouldReadTheCommittedOffsetsAgainAfterAnUnknownOutcomeAndRetryWhenThatReadFails()
        throws Exception {
      // First transaction (t0, t1) commits. The second (t2, t3) fails after commitTransaction()
      // was sent and the producer cannot even abort: its outcome is unknown. The worker must read
      // the committed offsets again — and that read fails twice (the old rewind bug fell back to
      // the poll's first offset and produced t0 and t1 a second time).
      CountDownLatch secondBatch = new CountDownLatch(1);
      List<String> handled = Collections.synchronizedList(new ArrayList<>());
      start((key, task) -> {
        if (key.equals("k2")) {
          secondBatch.await();
        }
        handled.add(key);
        return echo(key, task);
      });
      assignAndAdd(tasks(2));
      awaitCommittedAt(2);
      MockProducer<String, byte[]> first = producers.get(0);
      first.commitTransactionException = new KafkaException("connection to the coordinator lost");
      first.abortTransactionException = new KafkaException("producer in a fatal state");
      consumer.failCommittedReads(2, () -> new TimeoutException("coordinator unreachable"));
      add(2, tasks(2));
      secondBatch.countDown();

      awaitCommittedAt(4);
      stopAndJoin();

      Map<String, Long> perKey = committedOutputs().stream()
          .collect(Collectors.groupingBy(ProducerRecord::key, Collectors.counting()));
      assertThat(perKey).containsOnlyKeys("k0", "k1", "k2", "k3");
      assertThat(perKey.values()).as("each output committed once").containsOnly(1L);
      assertThat(consumer.failedCommittedReads()).isEqualTo(2);
      assertThat(producers).as("the broken producer was replaced").hasSize(2);
      Map<String, Long> handledPerKey = handled.stream()
          .collect(Collectors.groupingBy(k -> k, Collectors.counting()));
      assertThat(handledPerKey).as("t2 and t3 handled again after the unknown outcome")
          .isEqualTo(Map.of("k0", 1L, "k1", 1L, "k2", 2L, "k3", 2L));
      assertThat(worker.failure()).isNull();
    }

    @Test
    void shouldFailRatherThanGuessWhenTheCommittedOffsetsCannotBeRead() throws Exception {
      start(settings().withRetry(settings().retry().withTimeout(Duration.ofMillis(500))),
          TransactionalWorkerLoopTest::echo, TopicLimits.DEFAULT, List.of());
      assignAndAdd(tasks(2));
      awaitCommittedAt(2);
      MockProducer<String, byte[]> first = producers.get(0);
      first.commitTransactionException = new KafkaException("connection to the coordinator lost");
      first.abortTransactionException = new KafkaException("producer in a fatal state");
      consumer.failCommittedReads(Integer.MAX_VALUE,
          () -> new TimeoutException("coordinator unreachable"));
      add(2, tasks(2));

      thread.join(WAIT.toMillis());

      assertThat(worker.failure()).isInstanceOf(TimeoutException.class);
      assertThat(committedOutputs()).extracting(ProducerRecord::key)
          .as("nothing produced twice, nothing guessed").containsExactly("k0", "k1");
    }

    @Test
    void shouldSendTheInputToTheDlqWhenTheBrokerRefusesItsOutput() throws Exception {
      nextProducer = () -> new MockProducer<>(true, null, new StringSerializer(),
          new ByteArraySerializer()) {
        private boolean refused;

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> r) {
          if (!refused && "k1".equals(r.key()) && OUT.equals(r.topic())) {
            refused = true; // the topic's max.message.bytes is lower than the worker knew
            commitTransactionException = new KafkaException("a send failed");
            java.util.concurrent.CompletableFuture<RecordMetadata> f =
                new java.util.concurrent.CompletableFuture<>();
            f.completeExceptionally(new RecordTooLargeException("too large for the broker"));
            return f;
          }
          commitTransactionException = refused && "k1".equals(r.key()) ? null
              : commitTransactionException;
          return super.send(r);
        }
      };
      start(TransactionalWorkerLoopTest::echo);
      assignAndAdd(tasks(3));

      awaitCommittedAt(3);
      stopAndJoin();

      Map<String, ProducerRecord<String, byte[]>> sent = committedOutputs().stream()
          .collect(Collectors.toMap(ProducerRecord::key, r -> r));
      assertThat(sent.get("k0").topic()).isEqualTo(OUT);
      assertThat(sent.get("k2").topic()).isEqualTo(OUT);
      assertThat(sent.get("k1").topic()).isEqualTo(DLQ);
      assertThat(header(sent.get("k1"), DlqHeaders.STAGE))
          .isEqualTo(TransactionalWorker.STAGE_SEND);
    }

    /** Producers whose first {@code n} commits throw. */
    private Supplier<MockProducer<String, byte[]>> failingCommits(int n,
        Supplier<RuntimeException> error) {
      AtomicInteger left = new AtomicInteger(n);
      return () -> new MockProducer<>(true, null, new StringSerializer(),
          new ByteArraySerializer()) {
        @Override
        public void commitTransaction() {
          if (left.getAndDecrement() > 0) {
            commitTransactionException = error.get();
          } else {
            commitTransactionException = null;
          }
          super.commitTransaction();
        }
      };
    }
  }

  @Test
  void shouldFailWithTheCauseOfASupervisedHelperThatFailed() throws Exception {
    HealthState helperHealth = new HealthState();
    IllegalStateException cause = new IllegalStateException("follower thread died");
    Supervised helper = new Supervised() {
      @Override
      public String name() {
        return "rule cache";
      }

      @Override
      public HealthState.Snapshot health() {
        return helperHealth.get();
      }

      @Override
      public Throwable failure() {
        return helperHealth.health() == AgentHealth.FAILED ? cause : null;
      }
    };
    helperHealth.set(AgentHealth.RUNNING, null);
    start(settings(), TransactionalWorkerLoopTest::echo, TopicLimits.DEFAULT, List.of(helper));
    assignAndAdd(tasks(1));
    awaitCommittedAt(1);

    helperHealth.set(AgentHealth.FAILED, "crashed");
    thread.join(WAIT.toMillis());

    assertThat(worker.failure()).isSameAs(cause);
    assertThat(worker.health().reason()).contains("rule cache failed");
    assertThat(status.state()).isEqualTo(AgentState.FAILED);
  }

  @Test
  void shouldPublishStateAndHealthChangesKeyedByAgentId() throws Exception {
    start(TransactionalWorkerLoopTest::echo);
    assignAndAdd(List.of(task("t1")));
    awaitCommittedAt(1);
    Eventually.await(WAIT, () -> status.state() == AgentState.IDLE, () -> "idle again");
    stopAndJoin();

    List<AgentStatus> published = statusProducer.history().stream()
        .map(r -> PlainAvro.deserializer(AgentStatus.class).deserialize(r.topic(), r.value()))
        .toList();
    assertThat(statusProducer.history()).allSatisfy(r -> assertThat(r.key()).isEqualTo("agent-1"));
    assertThat(collapse(published.stream().map(AgentStatus::getNewState).toList()))
        .containsExactly(AgentState.STARTING, AgentState.IDLE, AgentState.BUSY,
            AgentState.IDLE, AgentState.STOPPING, AgentState.STOPPED);
    assertThat(collapse(published.stream().map(AgentStatus::getHealth).toList()))
        .containsSubsequence(AgentHealth.STARTING, AgentHealth.RUNNING, AgentHealth.STOPPED);
    assertThat(status.processed()).isEqualTo(1);
  }

  private static <T> List<T> collapse(List<T> values) {
    List<T> out = new ArrayList<>();
    for (T v : values) {
      if (out.isEmpty() || !out.get(out.size() - 1).equals(v)) {
        out.add(v);
      }
    }
    return out;
  }

  @Nested
  class Tracing {

    private static final String UPSTREAM = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private void addWithTraceparent(long offset, String key, byte[] value, String traceparent) {
      consumer.schedulePollTask(() -> {
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>(IN, 0, offset, key, value);
        r.headers().add(io.fractalrmo.runtime.trace.Tracing.TRACEPARENT,
            traceparent.getBytes(StandardCharsets.ISO_8859_1));
        consumer.addRecord(r);
      });
    }

    @Test
    void shouldCarryTheInputsTraceOnToEveryOutputAndStartANewOneForAMalformedHeader()
        throws Exception {
      start((key, task) -> List.of(new Outgoing(OUT, key, task), new Outgoing(OUT + "2", key, task)));
      consumer.schedulePollTask(() -> {
        consumer.rebalance(List.of(P0));
        consumer.updateBeginningOffsets(Map.of(P0, 0L));
      });
      addWithTraceparent(0, "traced", task("traced"), UPSTREAM);
      addWithTraceparent(1, "hostile", task("hostile"), "00-" + "f".repeat(5_000) + "-01");
      awaitCommittedAt(2);
      stopAndJoin();

      Map<String, List<ProducerRecord<String, byte[]>>> byKey = committedOutputs().stream()
          .collect(Collectors.groupingBy(ProducerRecord::key));
      for (ProducerRecord<String, byte[]> out : byKey.get("traced")) {
        var hop = io.fractalrmo.runtime.trace.SpanRecord.of(out.headers()).orElseThrow();
        assertThat(hop.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(hop.parentSpanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(hop.name()).isEqualTo("test");
        assertThat(hop.agent()).isEqualTo("agent-1");
      }
      assertThat(byKey.get("traced")).extracting(r -> header(r, "traceparent"))
          .as("one hop writes both outputs").hasSize(2)
          .allSatisfy(h -> assertThat(h).isEqualTo(header(byKey.get("traced").get(0), "traceparent")));
      for (ProducerRecord<String, byte[]> out : byKey.get("hostile")) {
        var hop = io.fractalrmo.runtime.trace.SpanRecord.of(out.headers()).orElseThrow();
        assertThat(hop.traceId()).as("a new trace").isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        // the trace of the record's origin: every hop that reads this record joins it
        var origin = io.fractalrmo.runtime.trace.Tracing.origin(IN, 0, 1);
        assertThat(hop.traceId()).isEqualTo(origin.getTraceId());
        assertThat(hop.parentSpanId()).isEqualTo(origin.getSpanId());
        assertThat(out.headers().toArray()).hasSize(2);
      }
    }
  }

  /**
   * A MockConsumer that behaves like a log (a seek delivers the records from there again), whose
   * {@code committed()} answers what the producers committed in their transactions (as the group
   * coordinator would) and can be made to fail, and whose empty polls take a few milliseconds (a
   * real poll blocks; this keeps the worker's loop from spinning).
   */
  private final class TestConsumer extends MockConsumer<String, byte[]> {
    private final Map<TopicPartition, OffsetAndMetadata> direct = new HashMap<>();
    private final Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> log = new HashMap<>();
    private int failuresLeft;
    private Supplier<RuntimeException> failure;
    private int failed;

    TestConsumer() {
      super("earliest");
    }

    @Override
    public synchronized void addRecord(ConsumerRecord<String, byte[]> record) {
      log.computeIfAbsent(new TopicPartition(record.topic(), record.partition()),
          tp -> new ArrayList<>()).add(record);
      super.addRecord(record);
    }

    @Override
    public synchronized void seek(TopicPartition tp, long offset) {
      super.seek(tp, offset);
      for (ConsumerRecord<String, byte[]> r : log.getOrDefault(tp, List.of())) {
        if (r.offset() >= offset) {
          super.addRecord(r);
        }
      }
    }

    @Override
    public synchronized void seekToBeginning(java.util.Collection<TopicPartition> tps) {
      super.seekToBeginning(tps);
      for (TopicPartition tp : tps) {
        log.getOrDefault(tp, List.of()).forEach(super::addRecord);
      }
    }

    synchronized void failCommittedReads(int n, Supplier<RuntimeException> error) {
      failuresLeft = n;
      failure = error;
    }

    synchronized int failedCommittedReads() {
      return failed;
    }

    @Override
    public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
      direct.putAll(offsets);
    }

    synchronized Map<TopicPartition, OffsetAndMetadata> lastCommitted() {
      Map<TopicPartition, OffsetAndMetadata> merged = new HashMap<>(direct);
      for (MockProducer<String, byte[]> p : producers) {
        p.consumerGroupOffsetsHistory().forEach(byGroup -> byGroup.values()
            .forEach(merged::putAll));
      }
      return merged;
    }

    @Override
    public synchronized Map<TopicPartition, OffsetAndMetadata> committed(
        Set<TopicPartition> partitions, Duration timeout) {
      if (failuresLeft > 0) {
        failuresLeft--;
        failed++;
        throw failure.get();
      }
      Map<TopicPartition, OffsetAndMetadata> all = lastCommitted();
      Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
      for (TopicPartition tp : partitions) {
        out.put(tp, all.get(tp));
      }
      return out;
    }

    @Override
    public ConsumerRecords<String, byte[]> poll(Duration timeout) {
      ConsumerRecords<String, byte[]> records = super.poll(timeout);
      if (records.isEmpty() && !timeout.isZero()) {
        try {
          Thread.sleep(Math.min(2, timeout.toMillis())); // a real poll would block
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return records;
    }
  }
}
