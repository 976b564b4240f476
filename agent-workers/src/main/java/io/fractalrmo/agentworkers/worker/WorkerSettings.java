package io.fractalrmo.agentworkers.worker;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What one worker instance needs besides its clients: who it is, what it reads, where poison goes,
 * and the bounds of its retry behaviour.
 *
 * @param role role name, e.g. {@code executor} or {@code analyzer-syntax}
 * @param agentId this instance's id, {@code <role>-<host>-<random>} (see {@link AgentIds})
 * @param inputTopics topics the worker consumes
 * @param dlqTopic where records that cannot be processed go
 * @param pollTimeout longest wait in one poll (also bounds how late a stop is noticed while idle)
 * @param commitInterval a transaction is committed once its records took this long to handle
 *     (at least one record per transaction): bounds how long results wait to be visible
 * @param batchTimeBudget handling one poll's records stops after this long (the rest is read
 *     again), so a slow handler never runs into {@code max.poll.interval.ms}
 * @param maxConsecutiveFailures transient failures in a row before the worker gives up (FAILED)
 * @param maxProducerRecreations fenced/fatal producers replaced before the worker gives up
 * @param initialBackoff first retry delay after a transient failure (doubles up to maxBackoff)
 * @param maxBackoff longest retry delay
 */
public record WorkerSettings(
    String role,
    String agentId,
    List<String> inputTopics,
    String dlqTopic,
    Duration pollTimeout,
    Duration commitInterval,
    Duration batchTimeBudget,
    int maxConsecutiveFailures,
    int maxProducerRecreations,
    Duration initialBackoff,
    Duration maxBackoff) {

  public WorkerSettings {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(agentId, "agentId");
    inputTopics = List.copyOf(inputTopics);
    if (inputTopics.isEmpty()) {
      throw new IllegalArgumentException("a worker needs at least one input topic");
    }
    Objects.requireNonNull(dlqTopic, "dlqTopic");
    Objects.requireNonNull(pollTimeout, "pollTimeout");
    Objects.requireNonNull(commitInterval, "commitInterval");
    Objects.requireNonNull(batchTimeBudget, "batchTimeBudget");
    if (maxConsecutiveFailures < 1 || maxProducerRecreations < 0) {
      throw new IllegalArgumentException("failure bounds must be positive");
    }
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
  }

  /**
   * Defaults: 500 ms polls, 100 ms commit interval (as Kafka Streams under exactly-once), 30 s
   * batch budget (a poll's handling stops then, so a rebalance never waits long for this
   * member), 10 transient failures, 3 producer recreations.
   */
  public static WorkerSettings defaults(String role, String agentId, List<String> inputTopics,
      String dlqTopic) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, Duration.ofMillis(500),
        Duration.ofMillis(100), Duration.ofSeconds(30), 10, 3, Duration.ofMillis(100),
        Duration.ofSeconds(5));
  }

  /** The producer's transactional id: unique per instance, {@code <role>-<agent id>}. */
  public String transactionalId() {
    return role + "-" + agentId;
  }

  public WorkerSettings withPollTimeout(Duration timeout) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, timeout, commitInterval,
        batchTimeBudget, maxConsecutiveFailures, maxProducerRecreations, initialBackoff,
        maxBackoff);
  }

  public WorkerSettings withCommitInterval(Duration interval) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, pollTimeout, interval,
        batchTimeBudget, maxConsecutiveFailures, maxProducerRecreations, initialBackoff,
        maxBackoff);
  }

  public WorkerSettings withBatchTimeBudget(Duration budget) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, pollTimeout, commitInterval,
        budget, maxConsecutiveFailures, maxProducerRecreations, initialBackoff, maxBackoff);
  }

  public WorkerSettings withBackoff(Duration initial, Duration max) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, pollTimeout, commitInterval,
        batchTimeBudget, maxConsecutiveFailures, maxProducerRecreations, initial, max);
  }
}
