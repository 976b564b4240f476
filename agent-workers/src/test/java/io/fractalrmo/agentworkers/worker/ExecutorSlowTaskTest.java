package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.roles.RoleCatalog;
import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.testing.ChildRoleMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real executor (real sandbox, real Python): a task that spins until its time limit does not
 * hold back the clean tasks sent after it on the same partition — they are executed and committed
 * while it still runs — and stopping the role cuts the spinning run off (it gets no result: the
 * next owner redoes it).
 */
class ExecutorSlowTaskTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  private static ActionItem action(String task, String code, long timeoutMs) {
    return Mothers.anActionItem().setTaskId(task).setActionId(task + ":1")
        .setInput(Mothers.anInput().setCode(code).build())
        .setConstraints(Mothers.someConstraints().setTimeoutMs(timeoutMs).build())
        .build();
  }

  @Test
  void shouldExecuteCleanTasksOnTheSamePartitionWhileOneSpinsToItsTimeLimit() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String topic = endpoints.topics().actionItems().name();
    String results = endpoints.topics().executionResults().name();
    Deserializer<ExecutionResult> d = FractalSerdes.value(ExecutionResult.class,
        stack.serdeConfig()).deserializer();
    RunningRole executor = RoleCatalog.start("executor", endpoints,
        ChildRoleMain.killableOptions().withSettings(Map.of("worker.concurrency", "2")));
    try {
      try (KafkaProducer<String, ActionItem> producer = new KafkaProducer<>(
          Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
          new StringSerializer(),
          FractalSerdes.value(ActionItem.class, stack.serdeConfig()).serializer())) {
        producer.send(new ProducerRecord<>(topic, 0, "spin", action("spin",
            "def add(a, b):\n    while True:\n        pass\n", 120_000))).get();
        for (int i = 0; i < 5; i++) {
          producer.send(new ProducerRecord<>(topic, 0, "clean-" + i,
              action("clean-" + i, Mothers.anInput().build().getCode(), 10_000))).get();
        }
      }
      long sent = System.nanoTime();

      Eventually.await(WAIT, () -> kafka.readCommitted(results).size() == 5,
          () -> "the five clean tasks are executed while the spinning one runs");
      System.out.printf("FIGURE 5 clean tasks sent behind a task spinning to its 120 s limit, same"
          + " partition, concurrency 2: all committed %d ms after the last send%n",
          (System.nanoTime() - sent) / 1_000_000);
      Set<String> done = kafka.readCommitted(results).stream()
          .map(r -> d.deserialize(results, r.value()).getTaskId())
          .collect(Collectors.toSet());
      assertThat(done).containsExactlyInAnyOrder("clean-0", "clean-1", "clean-2", "clean-3",
          "clean-4");
      assertThat(executor.healthy()).isTrue();
    } finally {
      executor.close(); // cuts the spinning run off
    }
    List<String> after = kafka.readCommitted(results).stream()
        .map(r -> d.deserialize(results, r.value()).getTaskId()).toList();
    assertThat(after).as("the cut-off run has no result (its successor redoes it)")
        .doesNotContain("spin").hasSize(5);
  }
}
