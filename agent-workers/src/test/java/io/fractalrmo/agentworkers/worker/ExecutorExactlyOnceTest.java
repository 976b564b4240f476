package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.roles.RoleCatalog;
import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.testing.ChildJvm;
import io.fractalrmo.agentworkers.testing.ChildRoleMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.Alert;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once of the real executor role (real sandbox, real Python): an executor in a child JVM
 * is killed abruptly (SIGKILL) while it is part-way through the action items of its partitions,
 * and the other executor of the group takes them over. An independent read_committed consumer
 * then finds exactly one ExecutionResult per action on {@code fractal.execution-results} and
 * exactly one ErrorEvent (and, for RUNTIME failures, one Alert) per failing action on
 * {@code fractal.errors}: none lost, none duplicated — the results the killed executor had
 * produced but not committed vanished with its transaction.
 */
class ExecutorExactlyOnceTest {

  private static final Logger LOG = LoggerFactory.getLogger(ExecutorExactlyOnceTest.class);
  private static final int ACTIONS = 36;
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  /** What the i-th action's program does. */
  private enum Outcome { PASSES, WRONG_RESULT, RAISES }

  private static Outcome outcome(int i) {
    return i % 6 == 0 ? Outcome.WRONG_RESULT : i % 6 == 3 ? Outcome.RAISES : Outcome.PASSES;
  }

  private static String actionId(int i) {
    return "task-" + i + ":1";
  }

  /**
   * A small program that runs for about 150 ms (so the killed executor is caught part-way through
   * its share, not after it), then passes, fails its check (AssertionError: LOGIC) or raises
   * (ValueError: RUNTIME).
   */
  private static ActionItem action(int i) {
    String body = switch (outcome(i)) {
      case PASSES -> "    return a + b\n";
      case WRONG_RESULT -> "    return a - b\n";
      case RAISES -> "    return int('not a number')\n";
    };
    ExecutionInput input = Mothers.anInput()
        .setCode("import time\ntime.sleep(0.15)\n\ndef add(a, b):\n" + body)
        .build();
    return Mothers.anActionItem()
        .setTaskId("task-" + i)
        .setActionId(actionId(i))
        .setInput(input)
        .build();
  }

  @Test
  void shouldExecuteEachActionExactlyOnceWhenAnExecutorIsKilledMidBatch() throws Exception {
    long start = System.nanoTime();
    Endpoints endpoints = stack.newEndpoints();
    TopicCatalog topics = endpoints.topics();
    String group = topics.prefix() + "fractal-executor";

    ChildJvm child = ChildJvm.start("executor-child", ChildRoleMain.class,
        List.of("executor", endpoints.bootstrapServers(), endpoints.schemaRegistryUrl(),
            topics.prefix()));
    String childId;
    String survivorId;
    Map<String, Integer> partitionOf;
    try {
      childId = child.awaitLine("SUBSCRIBED ", WAIT).substring("SUBSCRIBED ".length());
      try (RunningRole survivor = RoleCatalog.start("executor", endpoints,
          ChildRoleMain.killableOptions())) {
        survivorId = survivor.workers().get(0).agentId();
        awaitBothMembersAssigned(group);
        partitionOf = produceActions(topics.actionItems().name());
        LOG.info("{} and {} running; {} actions sent after {} ms", childId, survivorId, ACTIONS,
            elapsedMs(start));

        String killedWhile = awaitChildMidBatch(topics, childId, partitionOf);
        List<ProcessHandle> childProcesses = child.kill();
        LOG.info("executor {} killed after {} ms: {}", childId, elapsedMs(start), killedWhile);

        Eventually.await(WAIT,
            () -> kafka.groupConsumedAll(group, topics.actionItems().name())
                && kafka.noOpenTransactions(topics.executionResults().name())
                && kafka.noOpenTransactions(topics.errors().name()),
            () -> "the survivor executed every action; survivor healthy=" + survivor.healthy());
        assertThat(survivor.healthy()).isTrue();
        for (ProcessHandle p : childProcesses) {
          // sandboxes die with their parent; the analysis helper ends on its stdin's EOF
          p.onExit().get(10, TimeUnit.SECONDS);
        }
      }
    } finally {
      child.close();
    }
    LOG.info("survivor finished after {} ms", elapsedMs(start));

    List<ExecutionResult> results = readAll(topics.executionResults().name(),
        ExecutionResult.class);
    Map<String, Long> resultsPerAction = results.stream()
        .collect(Collectors.groupingBy(r -> r.getActionId().toString(), Collectors.counting()));
    assertThat(resultsPerAction.keySet()).as("every action has a result")
        .containsExactlyInAnyOrderElementsOf(
            IntStream.range(0, ACTIONS).mapToObj(ExecutorExactlyOnceTest::actionId).toList());
    assertThat(resultsPerAction.values()).as("one result per action").containsOnly(1L);
    Map<String, ExecutionResult> byAction = results.stream()
        .collect(Collectors.toMap(r -> r.getActionId().toString(), Function.identity()));
    for (int i = 0; i < ACTIONS; i++) {
      ExecutionResult r = byAction.get(actionId(i));
      assertThat(r.getSuccess()).as("%s (%s) succeeded", actionId(i), outcome(i))
          .isEqualTo(outcome(i) == Outcome.PASSES);
    }

    Map<String, Set<Integer>> partitionsOf = results.stream().collect(Collectors.groupingBy(
        r -> r.getExecutorId().toString(),
        Collectors.mapping(r -> partitionOf.get(r.getActionId().toString()), Collectors.toSet())));
    assertThat(partitionsOf.keySet()).as("both executors committed results")
        .containsExactlyInAnyOrder(childId, survivorId);
    assertThat(partitionsOf.get(survivorId))
        .as("the survivor took over a partition the killed executor had been working on")
        .containsAnyElementsOf(partitionsOf.get(childId));

    List<ErrorEvent> errors = readAll(topics.errors().name(), ErrorEvent.class);
    Map<String, List<ErrorEvent>> errorsPerAction = errors.stream()
        .collect(Collectors.groupingBy(e -> e.getActionId().toString()));
    Map<String, ErrorCategory> expectedCategory = new HashMap<>();
    for (int i = 0; i < ACTIONS; i++) {
      if (outcome(i) != Outcome.PASSES) {
        expectedCategory.put(actionId(i),
            outcome(i) == Outcome.WRONG_RESULT ? ErrorCategory.LOGIC : ErrorCategory.RUNTIME);
      }
    }
    assertThat(errorsPerAction.keySet()).as("an ErrorEvent for each failing action, no other")
        .containsExactlyInAnyOrderElementsOf(expectedCategory.keySet());
    errorsPerAction.forEach((id, events) -> assertThat(events)
        .as("ErrorEvents of %s", id)
        .singleElement()
        .satisfies(e -> {
          assertThat(e.getAgentType().toString()).isEqualTo("executor");
          assertThat(e.getCategory()).isEqualTo(expectedCategory.get(id));
          assertThat(e.getAgentId().toString())
              .isEqualTo(byAction.get(id).getExecutorId().toString());
        }));

    List<Alert> alerts = readAll(topics.alerts().name(), Alert.class);
    assertThat(alerts).extracting(a -> a.getTaskId().toString())
        .as("one Alert per RUNTIME failure")
        .containsExactlyInAnyOrderElementsOf(expectedCategory.entrySet().stream()
            .filter(e -> e.getValue() == ErrorCategory.RUNTIME)
            .map(e -> e.getKey().substring(0, e.getKey().indexOf(':')))
            .toList());
    LOG.info("{} results ({} by the killed executor), {} errors, {} alerts; {} ms in all",
        results.size(), results.stream().filter(r -> childId.equals(r.getExecutorId().toString()))
            .count(), errors.size(), alerts.size(), elapsedMs(start));
  }

  /** Waits until the group is stable with both executors, each owning some partitions. */
  private static void awaitBothMembersAssigned(String group) {
    Eventually.await(WAIT, () -> {
      try {
        ConsumerGroupDescription d = kafka.admin().describeConsumerGroups(List.of(group)).all()
            .get().get(group);
        return d.groupState() == GroupState.STABLE && d.members().size() == 2
            && d.members().stream().map(MemberDescription::assignment)
                .allMatch(a -> !a.topicPartitions().isEmpty());
      } catch (Exception e) {
        return false;
      }
    }, () -> "both executors joined " + group + " with partitions");
  }

  /** Sends the actions (key = task id); returns each action's partition. */
  private static Map<String, Integer> produceActions(String topic) throws Exception {
    Map<String, Integer> partitionOf = new HashMap<>();
    try (KafkaProducer<String, ActionItem> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(),
        FractalSerdes.value(ActionItem.class, stack.serdeConfig()).serializer())) {
      Map<String, Future<RecordMetadata>> sent = new HashMap<>();
      for (int i = 0; i < ACTIONS; i++) {
        ActionItem a = action(i);
        sent.put(actionId(i), producer.send(new ProducerRecord<>(topic, a.getTaskId(), a)));
      }
      producer.flush();
      for (Map.Entry<String, Future<RecordMetadata>> e : sent.entrySet()) {
        partitionOf.put(e.getKey(), e.getValue().get().partition());
      }
    }
    return partitionOf;
  }

  /**
   * Follows the committed results and the agent status until the child executor is BUSY, has
   * committed results, and at least 3 actions of a partition it has been working on are still
   * to do (only it owns that partition until it dies): the child is mid-batch. Returns a
   * description of that moment.
   */
  private static String awaitChildMidBatch(TopicCatalog topics, String childId,
      Map<String, Integer> partitionOf) {
    String resultsTopic = topics.executionResults().name();
    String statusTopic = topics.agentStatus().name();
    Deserializer<ExecutionResult> results =
        FractalSerdes.value(ExecutionResult.class, stack.serdeConfig()).deserializer();
    Deserializer<AgentStatus> statuses =
        FractalSerdes.value(AgentStatus.class, stack.serdeConfig()).deserializer();
    Map<Integer, Long> expected = partitionOf.values().stream()
        .collect(Collectors.groupingBy(p -> p, Collectors.counting()));
    Map<Integer, Integer> done = new HashMap<>();
    Map<Integer, Integer> doneByChild = new HashMap<>();
    AgentState childState = null;
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(resultsTopic, statusTopic)) {
      kafka.endOffsets(topic, org.apache.kafka.common.IsolationLevel.READ_COMMITTED).keySet()
          .forEach(partitions::add);
    }
    long deadline = System.nanoTime() + WAIT.toNanos();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(
        KafkaClientConfigs.assignedReader(stack.bootstrapServers(), "tail-" + UUID.randomUUID()))) {
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
          if (r.topic().equals(resultsTopic)) {
            ExecutionResult result = results.deserialize(resultsTopic, r.value());
            int p = partitionOf.get(result.getActionId().toString());
            done.merge(p, 1, Integer::sum);
            if (childId.equals(result.getExecutorId().toString())) {
              doneByChild.merge(p, 1, Integer::sum);
            }
          } else if (childId.equals(r.key())) {
            childState = statuses.deserialize(statusTopic, r.value()).getNewState();
          }
        }
        for (Map.Entry<Integer, Integer> e : doneByChild.entrySet()) {
          long left = expected.get(e.getKey()) - done.get(e.getKey());
          if (childState == AgentState.BUSY && e.getValue() >= 2 && left >= 3) {
            return "BUSY, " + e.getValue() + " results committed on partition " + e.getKey()
                + ", " + left + " of its actions to do";
          }
        }
      }
    }
    throw new AssertionError("the child executor was never caught mid-batch: state " + childState
        + ", results per partition " + done + " (by the child " + doneByChild + ") of "
        + expected);
  }

  private static <T extends SpecificRecord> List<T> readAll(String topic, Class<T> type) {
    Deserializer<T> d = FractalSerdes.value(type, stack.serdeConfig()).deserializer();
    return kafka.readCommitted(topic).stream().map(r -> d.deserialize(topic, r.value())).toList();
  }

  private static long elapsedMs(long start) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }
}
