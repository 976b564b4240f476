package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.runtime.Supervised;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.apache.avro.specific.SpecificRecord;

/**
 * One role's worker, declared: what it is called, which group and topic it reads, the value type
 * it expects, and how to make its handlers — one per concurrency slot, given the agent id, so a
 * handler may hold per-slot resources such as a helper process and is only ever called from its
 * slot's thread; a handler that is {@link AutoCloseable} is closed when its worker group stops.
 *
 * @param role role name used in agent ids, e.g. {@code analyzer-syntax}
 * @param agentType the {@code agent_type} published in AgentStatus, e.g. {@code analyzer}
 * @param groupId consumer group of the role
 * @param inputTopic topic the role consumes
 * @param valueType generated Avro class of the input values
 * @param handlerFactory makes the handler of one slot from the instance's agent id
 * @param consumerOverrides consumer settings that win over the defaults
 * @param producerOverrides producer settings that win over the defaults
 * @param heartbeatInterval AgentStatus heartbeat period (zero: state changes only)
 * @param tuning adjusts each instance's {@link WorkerSettings} (concurrency, grace, retry...)
 * @param supervised helpers every instance checks each cycle (e.g. the rule cache)
 * @param instanceId a fixed instance id (e.g. a pod name) instead of a host slot; with several
 *     instances in one process, {@code -<n>} is appended
 */
public record WorkerSpec<V extends SpecificRecord>(
    String role,
    String agentType,
    String groupId,
    String inputTopic,
    Class<V> valueType,
    Function<String, RecordHandler<V>> handlerFactory,
    Map<String, Object> consumerOverrides,
    Map<String, Object> producerOverrides,
    Duration heartbeatInterval,
    UnaryOperator<WorkerSettings> tuning,
    List<Supervised> supervised,
    Optional<String> instanceId) {

  public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(10);

  public WorkerSpec {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(agentType, "agentType");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(inputTopic, "inputTopic");
    Objects.requireNonNull(valueType, "valueType");
    Objects.requireNonNull(handlerFactory, "handlerFactory");
    consumerOverrides = Map.copyOf(consumerOverrides);
    producerOverrides = Map.copyOf(producerOverrides);
    Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
    Objects.requireNonNull(tuning, "tuning");
    supervised = List.copyOf(supervised);
    Objects.requireNonNull(instanceId, "instanceId");
  }

  public static <V extends SpecificRecord> WorkerSpec<V> of(String role, String agentType,
      String groupId, String inputTopic, Class<V> valueType,
      Function<String, RecordHandler<V>> handlerFactory) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        Map.of(), Map.of(), DEFAULT_HEARTBEAT, UnaryOperator.identity(), List.of(),
        Optional.empty());
  }

  public WorkerSpec<V> withConsumerOverrides(Map<String, Object> overrides) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        overrides, producerOverrides, heartbeatInterval, tuning, supervised, instanceId);
  }

  public WorkerSpec<V> withProducerOverrides(Map<String, Object> overrides) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, overrides, heartbeatInterval, tuning, supervised, instanceId);
  }

  public WorkerSpec<V> withHeartbeatInterval(Duration interval) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, producerOverrides, interval, tuning, supervised, instanceId);
  }

  /** Applies {@code more} after the tuning already there. */
  public WorkerSpec<V> withTuning(UnaryOperator<WorkerSettings> more) {
    UnaryOperator<WorkerSettings> before = tuning;
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, producerOverrides, heartbeatInterval,
        s -> more.apply(before.apply(s)), supervised, instanceId);
  }

  public WorkerSpec<V> withSupervised(List<Supervised> helpers) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, producerOverrides, heartbeatInterval, tuning, helpers, instanceId);
  }

  public WorkerSpec<V> withInstanceId(Optional<String> id) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, producerOverrides, heartbeatInterval, tuning, supervised, id);
  }
}
