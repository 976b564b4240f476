package io.fractalrmo.agentworkers.roles;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.agentworkers.worker.TransactionalWorker;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Each worker role started by name through {@link RoleCatalog}, wired to the real handlers, on the
 * real broker and registry: a record in, the role's output out (one per input, per aspect for the
 * analyzer swarm), status published, clean stop.
 */
class RoleLaunchersTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  private static <T extends SpecificRecord> void send(TopicSpec topic, String key, T value)
      throws Exception {
    @SuppressWarnings("unchecked")
    Class<T> type = (Class<T>) value.getClass();
    try (KafkaProducer<String, T> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), FractalSerdes.value(type, stack.serdeConfig()).serializer())) {
      producer.send(new ProducerRecord<>(topic.name(), key, value)).get();
    }
  }

  private static <T extends SpecificRecord> List<T> read(TopicSpec topic, Class<T> type) {
    Deserializer<T> d = FractalSerdes.value(type, stack.serdeConfig()).deserializer();
    return kafka.readCommitted(topic.name()).stream()
        .map(r -> d.deserialize(topic.name(), r.value())).toList();
  }

  @Test
  void shouldRunTheAnalyzerSwarmWithOneGroupPerAspect() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    try (RunningRole role = RoleCatalog.start("analyzer", endpoints, RoleOptions.defaults())) {
      assertThat(role.groups()).hasSize(5);
      assertThat(role.workers()).extracting(TransactionalWorker::agentId)
          .allSatisfy(id -> assertThat(id).startsWith("analyzer-"));
      send(endpoints.topics().tasks(), "task-1", Mothers.aTask().build());
      Eventually.await(WAIT, () -> read(endpoints.topics().analyses(), AspectAnalysis.class)
          .size() >= 5, () -> "five analyses");
      assertThat(role.healthy()).isTrue();
    }
    List<AspectAnalysis> analyses = read(endpoints.topics().analyses(), AspectAnalysis.class);
    assertThat(analyses).hasSize(5);
    assertThat(analyses.stream().map(AspectAnalysis::getAspect).collect(Collectors.toSet()))
        .isEqualTo(Set.copyOf(AnalyzerRole.aspects()));
    assertThat(kafka.groupConsumedAll(
        AnalyzerRole.groupId(endpoints.topics(), Aspect.SECURITY),
        endpoints.topics().tasks().name())).isTrue();
  }

  @Test
  void shouldRunTwoExecutorInstancesThatExecuteEachActionOnce() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    try (RunningRole role = RoleCatalog.start("executor", endpoints,
        RoleOptions.defaults().withInstances(2).withHeartbeatInterval(Duration.ofSeconds(1)))) {
      assertThat(role.workers()).hasSize(2);
      for (int i = 0; i < 4; i++) {
        send(endpoints.topics().actionItems(), "task-" + i, Mothers.anActionItem()
            .setTaskId("task-" + i).setActionId("task-" + i + ":1").build());
      }
      Eventually.await(WAIT, () -> read(endpoints.topics().executionResults(),
          ExecutionResult.class).size() >= 4, () -> "four execution results");
    }
    List<ExecutionResult> results = read(endpoints.topics().executionResults(),
        ExecutionResult.class);
    assertThat(results).extracting(r -> r.getActionId().toString())
        .containsExactlyInAnyOrder("task-0:1", "task-1:1", "task-2:1", "task-3:1");
    assertThat(results).allSatisfy(r -> assertThat(r.getSuccess()).isTrue());
    List<AgentStatus> statuses = read(endpoints.topics().agentStatus(), AgentStatus.class);
    assertThat(statuses).extracting(s -> s.getAgentType().toString()).containsOnly("executor");
    assertThat(statuses.stream().map(s -> s.getAgentId().toString()).distinct()).hasSize(2);
    assertThat(statuses).filteredOn(s -> s.getNewState() == AgentState.STOPPED).hasSize(2);
  }

  @Test
  void shouldRunTheValidator() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    try (RunningRole role = RoleCatalog.start("validator", endpoints, RoleOptions.defaults())) {
      send(endpoints.topics().executionResults(), "task-1", Mothers.anExecutionResult().build());
      Eventually.await(WAIT, () -> !read(endpoints.topics().validationOutcomes(),
          ValidationOutcome.class).isEmpty(), () -> "a validation outcome");
    }
    assertThat(read(endpoints.topics().validationOutcomes(), ValidationOutcome.class))
        .singleElement()
        .satisfies(o -> assertThat(o.getTaskId().toString()).isEqualTo("task-1"));
  }

  @Test
  void shouldRefuseAnUnknownRoleOrABadInstanceCount() {
    assertThat(RoleCatalog.names()).containsExactly("analyzer", "executor", "validator");
    assertThatThrownBy(() -> RoleCatalog.start("streams", stack.newEndpoints(),
        RoleOptions.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("analyzer, executor, validator");
    assertThatThrownBy(() -> RoleOptions.defaults().withInstances(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Task.class).isNotNull();
    assertThat(ActionItem.class).isNotNull();
  }
}
