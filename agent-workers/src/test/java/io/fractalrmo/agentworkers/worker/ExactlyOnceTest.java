package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.ChildJvm;
import io.fractalrmo.agentworkers.testing.ChildWorkerMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import org.apache.kafka.common.serialization.Deserializer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once against the real broker: a worker in a child JVM is killed abruptly (SIGKILL, no
 * close) in the middle of its work while another instance of the same group keeps going and takes
 * over its partitions. An independent read_committed consumer then finds exactly one output per
 * input: none lost, none duplicated. And the other way to stop: SIGTERM closes the worker cleanly.
 */
class ExactlyOnceTest {

  private static final Logger LOG = LoggerFactory.getLogger(ExactlyOnceTest.class);
  private static final int INPUTS = 300;

  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  @Test
  void shouldProduceExactlyOneResultPerInputWhenAWorkerIsKilledMidBatch() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(output, 3);
    produceTasks(endpoints, INPUTS);

    // The child blocks inside its 45th record: the records before it in that batch are handled
    // but not committed when it is killed.
    Child child = startChild(endpoints, output, group, 10, 45);
    WorkerGroup survivor = null;
    String held;
    try {
      survivor = WorkerGroup.start(endpoints,
          ChildWorkerMain.echoSpec(endpoints, output, group, 10), 1, stack.serdeConfig());
      held = child.awaitLine("HOLDING", Duration.ofSeconds(60)).substring("HOLDING ".length());
      int before = kafka.readCommitted(output).size();
      child.process().destroyForcibly();
      assertThat(child.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
      LOG.info("child {} killed while holding {}; {} results committed so far", child.agentId(),
          held, before);

      WorkerGroup running = survivor;
      Eventually.await(Duration.ofSeconds(90),
          () -> kafka.groupConsumedAll(group, endpoints.topics().tasks().name())
              && kafka.noOpenTransactions(output),
          () -> "the survivor consumed every input; survivor running=" + running.healthy());
    } finally {
      if (survivor != null) {
        survivor.close();
      }
      child.jvm().close();
    }

    List<ConsumerRecord<String, byte[]>> results = kafka.readCommitted(output);
    Map<String, Long> perKey = results.stream()
        .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
    assertThat(perKey.keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.range(0, INPUTS).mapToObj(ExactlyOnceTest::key).toList());
    assertThat(perKey.values()).as("one result per input").containsOnly(1L);
    assertThat(results).hasSize(INPUTS);

    Deserializer<Task> tasks = FractalSerdes.value(Task.class, stack.serdeConfig())
        .deserializer();
    Map<String, String> producedBy = results.stream().collect(Collectors.toMap(
        ConsumerRecord::key, r -> tasks.deserialize(output, r.value()).getSource().toString()));
    String survivorId = survivor.workers().get(0).agentId();
    assertThat(producedBy.get(held)).as("the held record was redone by the survivor")
        .isEqualTo(survivorId);
    assertThat(producedBy.values()).as("both instances committed work")
        .contains(child.agentId(), survivorId);
  }

  @Test
  void shouldLeaveTheGroupAndPublishStoppedOnSigterm() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-echo";
    kafka.createTopic(output, 3);
    Child child = startChild(endpoints, output, group, 0, 0);
    try {
      produceTasks(endpoints, 20);
      Eventually.await(Duration.ofSeconds(60), () -> kafka.readCommitted(output).size() == 20,
          () -> "the child handled the inputs");
      // SIGTERM without closing our ends of its pipes (Process.destroy() would close its stdin
      // first, and the child would end its main loop rather than be terminated).
      child.process().toHandle().destroy();
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    } finally {
      child.jvm().close();
    }

    Deserializer<AgentStatus> statuses =
        FractalSerdes.value(AgentStatus.class, stack.serdeConfig()).deserializer();
    String statusTopic = endpoints.topics().agentStatus().name();
    List<AgentState> states = kafka.readCommitted(statusTopic).stream()
        .filter(r -> child.agentId().equals(r.key()))
        .map(r -> statuses.deserialize(statusTopic, r.value()).getNewState())
        .toList();
    assertThat(states).startsWith(AgentState.STARTING).endsWith(AgentState.STOPPING,
        AgentState.STOPPED);
    // Left the group on close: no member waits for its session (6 s) to expire.
    assertThat(kafka.admin().describeConsumerGroups(List.of(group)).all().get().get(group)
        .members()).isEmpty();
    assertThat(kafka.readCommitted(output)).hasSize(20);
  }

  private static String key(int i) {
    return "task-" + i;
  }

  private static void produceTasks(Endpoints endpoints, int n) throws Exception {
    String topic = endpoints.topics().tasks().name();
    Serializer<Task> serializer =
        FractalSerdes.value(Task.class, stack.serdeConfig()).serializer();
    try (KafkaProducer<String, Task> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), serializer)) {
      List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        sent.add(producer.send(new ProducerRecord<>(topic, key(i),
            Mothers.aTask().setTaskId(key(i)).build())));
      }
      producer.flush();
      for (java.util.concurrent.Future<?> f : sent) {
        f.get(); // an input that was never written would look like a lost result
      }
    }
  }

  /** A child JVM running one echo worker, and its agent id. */
  private record Child(ChildJvm jvm, String agentId) {
    Process process() {
      return jvm.process();
    }

    String awaitLine(String prefix, Duration timeout) throws InterruptedException {
      return jvm.awaitLine(prefix, timeout);
    }
  }

  private static Child startChild(Endpoints endpoints, String output, String group,
      long delayMillis, int holdAt) throws Exception {
    ChildJvm jvm = ChildJvm.start("echo-child", ChildWorkerMain.class,
        List.of(endpoints.bootstrapServers(), endpoints.schemaRegistryUrl(),
            endpoints.topics().prefix(), output, group, String.valueOf(delayMillis),
            String.valueOf(holdAt)));
    String subscribed = jvm.awaitLine("SUBSCRIBED", Duration.ofSeconds(60));
    LOG.info("child JVM {} up: {} (output in {}[.out])", jvm.process().pid(), subscribed,
        jvm.log());
    return new Child(jvm, subscribed.substring("SUBSCRIBED ".length()));
  }
}
