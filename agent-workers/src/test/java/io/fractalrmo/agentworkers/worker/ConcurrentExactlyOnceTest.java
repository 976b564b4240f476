package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.ChildJvm;
import io.fractalrmo.agentworkers.testing.ChildWorkerMain;
import io.fractalrmo.agentworkers.testing.EchoHandler;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.runtime.CompletedOffsets;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once under concurrency, against the real broker: records of one partition handled side
 * by side and finished out of order; a SIGKILLed instance with many records in flight on that
 * partition; a slow record that must not hold the others back; a zombie fenced by a restarted
 * instance; a dead instance's open transaction ended at once instead of after its timeout; an
 * output larger than its topic allows. An independent read_committed consumer checks every
 * outcome.
 */
class ConcurrentExactlyOnceTest {

  private static final Logger LOG = LoggerFactory.getLogger(ConcurrentExactlyOnceTest.class);
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  private static String key(int i) {
    return "task-" + i;
  }

  /** Sends {@code n} tasks to partition 0 of {@code topic}, keyed task-0.. . */
  private static void produce(String topic, int from, int n, String codeOf) throws Exception {
    Serializer<Task> serializer = FractalSerdes.value(Task.class, stack.serdeConfig())
        .serializer();
    try (KafkaProducer<String, Task> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), serializer)) {
      List<Future<?>> sent = new ArrayList<>();
      for (int i = from; i < from + n; i++) {
        Task.Builder t = Mothers.aTask().setTaskId(key(i));
        if (codeOf != null) {
          t.setCode(codeOf);
        }
        sent.add(producer.send(new ProducerRecord<>(topic, 0, key(i), t.build())));
      }
      producer.flush();
      for (Future<?> f : sent) {
        f.get();
      }
    }
  }

  private static Map<String, List<Task>> resultsByKey(String topic) {
    Deserializer<Task> tasks = FractalSerdes.value(Task.class, stack.serdeConfig())
        .deserializer();
    return kafka.readCommitted(topic).stream().collect(Collectors.groupingBy(
        ConsumerRecord::key, Collectors.mapping(r -> tasks.deserialize(topic, r.value()),
            Collectors.toList())));
  }

  private static OffsetAndMetadata committed(String group, TopicPartition tp) throws Exception {
    return kafka.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
        .get(tp);
  }

  @Test
  void shouldProduceOneResultPerInputWhenAnInstanceWithManyRecordsInFlightOnOnePartitionIsKilled()
      throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().prefix() + "test.one-partition";
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(input, 1);
    kafka.createTopic(output, 1);
    int inputs = 400;
    produce(input, 0, inputs, null);

    // 8 slots, 30 ms per record; task-10 blocks for good: the committed offset stays at 10
    // while the records after it are finished and committed out of order (in the offset
    // metadata), 7 others in flight at any time.
    ChildJvm child = ChildJvm.start("concurrent-child", ChildWorkerMain.class, List.of(
        endpoints.bootstrapServers(), endpoints.schemaRegistryUrl(), endpoints.topics().prefix(),
        output, group, "30", "key:" + key(10), "8", input));
    WorkerGroup survivor = null;
    try {
      String childId = child.awaitLine("SUBSCRIBED", WAIT).substring("SUBSCRIBED ".length());
      child.awaitLine("HOLDING", WAIT);
      TopicPartition p0 = new TopicPartition(input, 0);
      Eventually.await(WAIT, () -> {
        try {
          OffsetAndMetadata c = committed(group, p0);
          return c != null && CompletedOffsets.decode(c.offset(), c.metadata()).size() >= 50;
        } catch (Exception e) {
          return false;
        }
      }, () -> "the child finished records ahead of its held ones");
      survivor = WorkerGroup.start(endpoints, ChildWorkerMain.onTopic(
          ChildWorkerMain.echoSpec(endpoints, output, group, 0), input), 1, stack.serdeConfig());
      OffsetAndMetadata atKill = committed(group, p0);
      child.kill();
      LOG.info("child {} killed; committed {} with {} records done ahead", childId,
          atKill.offset(), CompletedOffsets.decode(atKill.offset(), atKill.metadata()).size());

      WorkerGroup running = survivor;
      Eventually.await(WAIT, () -> kafka.groupConsumedAll(group, input)
              && kafka.noOpenTransactions(output),
          () -> "the survivor finished the partition; " + running.health());

      Map<String, List<Task>> results = resultsByKey(output);
      assertThat(results.keySet()).containsExactlyInAnyOrderElementsOf(
          IntStream.range(0, inputs).mapToObj(ConcurrentExactlyOnceTest::key).toList());
      assertThat(results.values()).as("one result per input").allSatisfy(l ->
          assertThat(l).hasSize(1));
      String survivorId = survivor.workers().get(0).agentId();
      Map<String, Long> bySource = results.values().stream().map(l -> l.get(0).getSource())
          .collect(Collectors.groupingBy(s -> s, Collectors.counting()));
      assertThat(bySource).containsOnlyKeys(childId, survivorId);
      assertThat(atKill.offset()).as("the held record is the committed offset").isEqualTo(10);
      assertThat(results.get(key(10)).get(0).getSource())
          .as("the record the child held at the committed offset was redone by the survivor")
          .isEqualTo(survivorId);
      assertThat(CompletedOffsets.decode(10, atKill.metadata()))
          .as("the records the child finished ahead of it were not redone")
          .allSatisfy(o -> assertThat(results.get(key(o.intValue())).get(0).getSource())
              .isEqualTo(childId));
    } finally {
      if (survivor != null) {
        survivor.close();
      }
      child.close();
    }
  }

  @Test
  void shouldFinishTheOtherRecordsOfAPartitionWhileOneIsSlow() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().prefix() + "test.one-partition";
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(input, 1);
    kafka.createTopic(output, 1);
    CountDownLatch release = new CountDownLatch(1);
    WorkerSpec<Task> spec = ChildWorkerMain.onTopic(ChildWorkerMain.echoSpec(endpoints, group,
        agentId -> (RecordHandler<Task>) (key, task) -> {
          if (key.equals(key(0))) {
            release.await(); // the slow one: first on the partition
          }
          return new EchoHandler(output, 0, agentId).handle(key, task);
        }), input).withTuning(s -> s.withConcurrency(2));
    try (WorkerGroup workers = WorkerGroup.start(endpoints, spec, 1, stack.serdeConfig())) {
      produce(input, 0, 21, null);

      Eventually.await(WAIT, () -> resultsByKey(output).size() == 20,
          () -> "the 20 records after the slow one are committed while it still runs");
      assertThat(resultsByKey(output)).doesNotContainKey(key(0));
      assertThat(release.getCount()).as("the slow one is still running").isEqualTo(1);
      OffsetAndMetadata c = committed(group, new TopicPartition(input, 0));
      assertThat(c.offset()).as("the committed offset waits for the slow record").isZero();
      assertThat(CompletedOffsets.decode(0, c.metadata())).hasSize(20);

      release.countDown();
      Eventually.await(WAIT, () -> resultsByKey(output).size() == 21, () -> "all 21");
      assertThat(resultsByKey(output).values()).allSatisfy(l -> assertThat(l).hasSize(1));
      assertThat(workers.health().health()).isEqualTo(AgentHealth.RUNNING);
    }
  }

  @Test
  void shouldFenceAZombieWhenAnInstanceWithItsIdentityTakesOver() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().prefix() + "test.one-partition";
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(input, 1);
    kafka.createTopic(output, 1);
    CountDownLatch zombieHolds = new CountDownLatch(1);
    CountDownLatch releaseZombie = new CountDownLatch(1);
    // the zombie: stuck in a record (a long GC pause, a frozen VM) while it is replaced
    WorkerSpec<Task> zombieSpec = ChildWorkerMain.onTopic(ChildWorkerMain.echoSpec(endpoints,
        group, agentId -> (RecordHandler<Task>) (key, task) -> {
          if (key.equals(key(3))) {
            zombieHolds.countDown();
            while (releaseZombie.getCount() > 0) {
              try {
                releaseZombie.await();
              } catch (InterruptedException ignored) {
                // a zombie does not listen
              }
            }
          }
          return new EchoHandler(output, 0, agentId).handle(key, task);
        }), input).withInstanceId(Optional.of("echo-same-identity"))
        .withTuning(s -> s.withConcurrency(1).withStopGrace(Duration.ZERO));
    WorkerSpec<Task> successorSpec = ChildWorkerMain.onTopic(
        ChildWorkerMain.echoSpec(endpoints, output, group, 0), input)
        .withInstanceId(Optional.of("echo-same-identity"));
    produce(input, 0, 10, null);
    WorkerGroup zombie = WorkerGroup.start(endpoints, zombieSpec, 1, stack.serdeConfig());
    try {
      assertThat(zombieHolds.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      Eventually.await(WAIT, () -> resultsByKey(output).size() == 3, () -> "0..2 committed");

      try (WorkerGroup successor = WorkerGroup.start(endpoints, successorSpec, 1,
          stack.serdeConfig())) {
        Eventually.await(WAIT, () -> resultsByKey(output).size() == 10,
            () -> "the successor did the rest: " + resultsByKey(output).keySet());
        releaseZombie.countDown(); // the zombie wakes up and tries to commit task-3
        Eventually.await(WAIT, () -> !zombie.healthy(), () -> "the zombie stopped");

        assertThat(zombie.health().health()).isEqualTo(AgentHealth.FAILED);
        assertThat(zombie.failure()).isInstanceOfAny(ProducerFencedException.class,
            org.apache.kafka.common.errors.FencedInstanceIdException.class);
        Map<String, List<Task>> results = resultsByKey(output);
        assertThat(results).hasSize(10);
        assertThat(results.values()).as("one result per input").allSatisfy(l ->
            assertThat(l).hasSize(1));
        assertThat(successor.health().health()).isEqualTo(AgentHealth.RUNNING);
      }
    } finally {
      releaseZombie.countDown();
      zombie.close();
    }
  }

  @Test
  void shouldEndADeadInstancesOpenTransactionInsteadOfWaitingForItsTimeout() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().prefix() + "test.one-partition";
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(input, 1);
    kafka.createTopic(output, 1);
    produce(input, 0, 10, null);
    TopicPartition p0 = new TopicPartition(input, 0);
    String dead = "echo-gone-host-7";
    Serializer<Task> tasks = FractalSerdes.value(Task.class, stack.serdeConfig()).serializer();
    // An instance that handled 0..2 (committed), then was SIGKILLed in the middle of its next
    // transaction (task-3's output and offset 4 sent, never committed), with a 10-minute
    // transaction timeout: its successor's committed() would wait for that transaction.
    KafkaProducer<String, byte[]> orphan = new KafkaProducer<>(
        KafkaClientConfigs.transactionalProducer(stack.bootstrapServers(), group + "-" + dead,
            Map.of("transaction.timeout.ms", 600_000)),
        new StringSerializer(), new ByteArraySerializer());
    try {
      orphan.initTransactions();
      orphan.beginTransaction();
      for (int i = 0; i < 3; i++) {
        orphan.send(new ProducerRecord<>(output, key(i), tasks.serialize(output,
            Mothers.aTask().setTaskId(key(i)).setSource(dead).build())));
      }
      orphan.sendOffsetsToTransaction(Map.of(p0, new OffsetAndMetadata(3,
          CompletedOffsets.encode(3, List.of(), dead))), new ConsumerGroupMetadata(group));
      orphan.commitTransaction();
      orphan.beginTransaction();
      orphan.send(new ProducerRecord<>(output, key(3), tasks.serialize(output,
          Mothers.aTask().setTaskId(key(3)).setSource(dead).build()))).get();
      orphan.sendOffsetsToTransaction(Map.of(p0, new OffsetAndMetadata(4,
          CompletedOffsets.encode(4, List.of(), dead))), new ConsumerGroupMetadata(group));
      assertThat(kafka.noOpenTransactions(output)).as("the orphan's transaction is open").isFalse();

      try (WorkerGroup successor = WorkerGroup.start(endpoints, ChildWorkerMain.onTopic(
          ChildWorkerMain.echoSpec(endpoints, output, group, 0), input), 1,
          stack.serdeConfig())) {
        // well within the orphan's 10-minute timeout
        Eventually.await(WAIT, () -> kafka.groupConsumedAll(group, input)
                && kafka.noOpenTransactions(output),
            () -> "the successor took over; " + successor.health());
        String successorId = successor.workers().get(0).agentId();
        Map<String, List<Task>> results = resultsByKey(output);
        assertThat(results).hasSize(10);
        assertThat(results.values()).allSatisfy(l -> assertThat(l).hasSize(1));
        assertThat(results.get(key(3)).get(0).getSource())
            .as("the orphan's uncommitted task-3 was redone").isEqualTo(successorId);
      }
      assertThat(org.assertj.core.api.Assertions.catchThrowable(orphan::commitTransaction))
          .as("the dead instance's producer was fenced")
          .isInstanceOf(ProducerFencedException.class);
    } finally {
      orphan.close(Duration.ZERO);
    }
  }

  @Test
  void shouldSendTheInputToTheDlqWhenItsOutputExceedsTheTopicsLimitAndGoOn() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String input = endpoints.topics().prefix() + "test.one-partition";
    String output = endpoints.topics().prefix() + "test.echo-small";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(input, 1);
    kafka.admin().createTopics(List.of(new NewTopic(output, 1, (short) 1)
        .configs(Map.of("max.message.bytes", "65536")))).all().get();
    io.fractalrmo.platform.TopicProvisioner.awaitServed(kafka.admin(), List.of(output), WAIT);
    try (WorkerGroup workers = WorkerGroup.start(endpoints, ChildWorkerMain.onTopic(
        ChildWorkerMain.echoSpec(endpoints, output, group, 0), input), 1, stack.serdeConfig())) {
      produce(input, 0, 1, null);
      produce(input, 1, 1, "x = 1\n".repeat(40_000)); // ~240 KB: fits the input, not the output
      produce(input, 2, 1, null);

      Eventually.await(WAIT, () -> kafka.groupConsumedAll(group, input)
          && resultsByKey(output).size() == 2, () -> "the small ones came through");

      assertThat(resultsByKey(output).keySet()).containsExactlyInAnyOrder(key(0), key(2));
      List<ConsumerRecord<String, byte[]>> dlq = kafka.readCommitted(
          endpoints.topics().dlq().name());
      assertThat(dlq).singleElement().satisfies(r -> {
        assertThat(r.key()).isEqualTo(key(1));
        assertThat(header(r, DlqHeaders.STAGE))
            .isEqualTo(TransactionalWorker.STAGE_OUTPUT_TOO_LARGE);
        assertThat(header(r, DlqHeaders.EXCEPTION_MESSAGE)).contains("65536");
        assertThat(r.value()).as("the original bytes, which fit the DLQ").isNotNull();
      });
      assertThat(workers.health().health()).isEqualTo(AgentHealth.RUNNING);
    }
  }

  @Test
  void shouldStopWithinSecondsOnSigtermWhileAHandlerBlocks() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(output, 3);
    ChildJvm child = ChildJvm.start("blocked-child", ChildWorkerMain.class, List.of(
        endpoints.bootstrapServers(), endpoints.schemaRegistryUrl(), endpoints.topics().prefix(),
        output, group, "0", "1"));
    try {
      child.awaitLine("SUBSCRIBED", WAIT);
      produce(endpoints.topics().tasks().name(), 0, 3, null);
      child.awaitLine("HOLDING", WAIT);

      child.process().toHandle().destroy(); // SIGTERM
      assertThat(child.process().waitFor(10, TimeUnit.SECONDS))
          .as("stopped within 10 s although a handler blocks").isTrue();
    } finally {
      child.close();
    }
    assertThat(resultsByKey(output)).as("the blocked record was not committed")
        .doesNotContainKey(key(0));
  }

  private static String header(ConsumerRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
