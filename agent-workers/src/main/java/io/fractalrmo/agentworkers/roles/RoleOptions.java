package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.Aspect;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run a worker role: how many instances (threads, each its own group member), which
 * analyzer aspect (empty: all five), the AgentStatus heartbeat, client overrides (e.g. shorter
 * session timeouts in tests) and the role settings as given ({@code --set key=value}; each role
 * checks them against its {@link RoleSettings} when it starts).
 */
public record RoleOptions(
    int instances,
    Optional<Aspect> aspect,
    Duration heartbeatInterval,
    Map<String, Object> consumerOverrides,
    Map<String, Object> producerOverrides,
    Map<String, String> settings) {

  public RoleOptions {
    if (instances < 1) {
      throw new IllegalArgumentException("--instances must be at least 1, was " + instances);
    }
    Objects.requireNonNull(aspect, "aspect");
    if (aspect.isPresent() && aspect.get() == Aspect.UNKNOWN) {
      throw new IllegalArgumentException("UNKNOWN is not an analyzer aspect");
    }
    Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
    consumerOverrides = Map.copyOf(consumerOverrides);
    producerOverrides = Map.copyOf(producerOverrides);
    settings = Map.copyOf(settings);
  }

  /** One instance, all aspects, 10 s heartbeats, no overrides. */
  public static RoleOptions defaults() {
    return new RoleOptions(1, Optional.empty(), WorkerSpec.DEFAULT_HEARTBEAT, Map.of(), Map.of(),
        Map.of());
  }

  public RoleOptions withInstances(int n) {
    return new RoleOptions(n, aspect, heartbeatInterval, consumerOverrides, producerOverrides,
        settings);
  }

  public RoleOptions withAspect(Aspect a) {
    return new RoleOptions(instances, Optional.ofNullable(a), heartbeatInterval,
        consumerOverrides, producerOverrides, settings);
  }

  public RoleOptions withHeartbeatInterval(Duration interval) {
    return new RoleOptions(instances, aspect, interval, consumerOverrides, producerOverrides,
        settings);
  }

  public RoleOptions withConsumerOverrides(Map<String, Object> overrides) {
    return new RoleOptions(instances, aspect, heartbeatInterval, overrides, producerOverrides,
        settings);
  }

  public RoleOptions withProducerOverrides(Map<String, Object> overrides) {
    return new RoleOptions(instances, aspect, heartbeatInterval, consumerOverrides, overrides,
        settings);
  }

  public RoleOptions withSettings(Map<String, String> s) {
    return new RoleOptions(instances, aspect, heartbeatInterval, consumerOverrides,
        producerOverrides, s);
  }

  /**
   * Applies these options' heartbeat and client overrides, and the worker settings of
   * {@code parsed} (concurrency, grace, retry timeout, instance id), to a worker spec.
   */
  <V extends org.apache.avro.specific.SpecificRecord> WorkerSpec<V> applyTo(WorkerSpec<V> spec,
      io.fractalrmo.runtime.settings.Settings parsed) {
    return spec.withHeartbeatInterval(heartbeatInterval)
        .withConsumerOverrides(consumerOverrides)
        .withProducerOverrides(producerOverrides)
        .withTuning(RoleSettings.tuning(parsed))
        .withInstanceId(RoleSettings.instanceId(parsed));
  }
}
