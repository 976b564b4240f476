package io.fractalrmo.agentworkers.worker;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.apache.avro.specific.SpecificRecord;

/**
 * One role's worker, declared: what it is called, which group and topic it reads, the value type
 * it expects, and how to make its handler (one handler per instance, given the agent id, so a
 * handler may hold per-instance resources such as a helper process; a handler that is
 * {@link AutoCloseable} is closed when its worker stops).
 *
 * @param role role name used in agent ids and transactional ids, e.g. {@code analyzer-syntax}
 * @param agentType the {@code agent_type} published in AgentStatus, e.g. {@code analyzer}
 * @param groupId consumer group of the role
 * @param inputTopic topic the role consumes
 * @param valueType generated Avro class of the input values
 * @param handlerFactory makes the handler of one instance from its agent id
 * @param consumerOverrides consumer settings that win over the defaults
 * @param producerOverrides producer settings that win over the defaults
 * @param heartbeatInterval AgentStatus heartbeat period (zero: state changes only)
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
    Duration heartbeatInterval) {

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
  }

  public static <V extends SpecificRecord> WorkerSpec<V> of(String role, String agentType,
      String groupId, String inputTopic, Class<V> valueType,
      Function<String, RecordHandler<V>> handlerFactory) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        Map.of(), Map.of(), DEFAULT_HEARTBEAT);
  }

  public WorkerSpec<V> withConsumerOverrides(Map<String, Object> overrides) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        overrides, producerOverrides, heartbeatInterval);
  }

  public WorkerSpec<V> withProducerOverrides(Map<String, Object> overrides) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, overrides, heartbeatInterval);
  }

  public WorkerSpec<V> withHeartbeatInterval(Duration interval) {
    return new WorkerSpec<>(role, agentType, groupId, inputTopic, valueType, handlerFactory,
        consumerOverrides, producerOverrides, interval);
  }
}
