package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.runtime.RetryPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What one worker instance needs besides its clients: who it is, what it reads, where poison
 * goes, how many records it handles at once, and the bounds of its retry and stop behaviour.
 * Immutable; {@code with...} return modified copies.
 */
public final class WorkerSettings {

  /** Handler slots per instance when not configured: the cores, at least 2. */
  public static final int DEFAULT_CONCURRENCY =
      Math.max(2, Runtime.getRuntime().availableProcessors());

  private final String role;
  private final String agentId;
  private final List<String> inputTopics;
  private final String dlqTopic;
  private final String transactionalId;
  private final Duration pollTimeout;
  private final Duration commitInterval;
  private final int concurrency;
  private final int partitionWindow;
  private final int maxRecordsPerTransaction;
  private final Duration stopGrace;
  private final Duration revokeGrace;
  private final RetryPolicy retry;
  private final int maxProducerRecreations;

  private WorkerSettings(String role, String agentId, List<String> inputTopics, String dlqTopic,
      String transactionalId, Duration pollTimeout, Duration commitInterval, int concurrency,
      int partitionWindow, int maxRecordsPerTransaction, Duration stopGrace, Duration revokeGrace,
      RetryPolicy retry, int maxProducerRecreations) {
    this.role = Objects.requireNonNull(role, "role");
    this.agentId = Objects.requireNonNull(agentId, "agentId");
    this.inputTopics = List.copyOf(inputTopics);
    if (this.inputTopics.isEmpty()) {
      throw new IllegalArgumentException("a worker needs at least one input topic");
    }
    this.dlqTopic = Objects.requireNonNull(dlqTopic, "dlqTopic");
    this.transactionalId = Objects.requireNonNull(transactionalId, "transactionalId");
    this.pollTimeout = Objects.requireNonNull(pollTimeout, "pollTimeout");
    this.commitInterval = Objects.requireNonNull(commitInterval, "commitInterval");
    if (concurrency < 1 || partitionWindow < 1 || maxRecordsPerTransaction < 1
        || maxProducerRecreations < 0) {
      throw new IllegalArgumentException("concurrency, window and bounds must be positive");
    }
    this.concurrency = concurrency;
    this.partitionWindow = partitionWindow;
    this.maxRecordsPerTransaction = maxRecordsPerTransaction;
    this.stopGrace = Objects.requireNonNull(stopGrace, "stopGrace");
    this.revokeGrace = Objects.requireNonNull(revokeGrace, "revokeGrace");
    this.retry = Objects.requireNonNull(retry, "retry");
    this.maxProducerRecreations = maxProducerRecreations;
  }

  /**
   * Defaults: 500 ms polls, 100 ms commit interval (as Kafka Streams under exactly-once),
   * {@link #DEFAULT_CONCURRENCY} handler slots, a window of 1000 records per partition, 500
   * records per transaction at most, 1 s for in-flight handlers to finish on stop or revocation
   * before they are cut off, transient failures retried for up to 2 minutes, 3 producer
   * recreations; transactional id {@code <role>-<agent id>}.
   */
  public static WorkerSettings defaults(String role, String agentId, List<String> inputTopics,
      String dlqTopic) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, role + "-" + agentId,
        Duration.ofMillis(500), Duration.ofMillis(100), DEFAULT_CONCURRENCY, 1_000, 500,
        Duration.ofSeconds(1), Duration.ofSeconds(1), RetryPolicy.defaults(), 3);
  }

  public String role() {
    return role;
  }

  /** This instance's id, {@code <role>-<host>-<slot>} (see {@link AgentIds}). */
  public String agentId() {
    return agentId;
  }

  public List<String> inputTopics() {
    return inputTopics;
  }

  public String dlqTopic() {
    return dlqTopic;
  }

  /** The producer's transactional id: stable per instance slot, so a restart fences its predecessor. */
  public String transactionalId() {
    return transactionalId;
  }

  /** Longest wait in one poll while nothing is in flight (bounds how late a stop is noticed). */
  public Duration pollTimeout() {
    return pollTimeout;
  }

  /**
   * A transaction commits once its oldest finished record waited this long, or at once when
   * nothing is in flight: bounds how long results wait to be visible.
   */
  public Duration commitInterval() {
    return commitInterval;
  }

  /** Records handled at once by this instance (one handler per slot). */
  public int concurrency() {
    return concurrency;
  }

  /**
   * Records of one partition held at once, from the lowest unfinished one on: when a slow record
   * holds the committed offset back, at most this many later records of its partition are done
   * ahead of it (their offsets travel in the commit's metadata).
   */
  public int partitionWindow() {
    return partitionWindow;
  }

  public int maxRecordsPerTransaction() {
    return maxRecordsPerTransaction;
  }

  /** On stop, how long in-flight handlers may finish before they are interrupted (cut off). */
  public Duration stopGrace() {
    return stopGrace;
  }

  /** On revocation, how long the revoked partitions' handlers may finish before they are cut off. */
  public Duration revokeGrace() {
    return revokeGrace;
  }

  public RetryPolicy retry() {
    return retry;
  }

  public int maxProducerRecreations() {
    return maxProducerRecreations;
  }

  private WorkerSettings copy(String txId, Duration poll, Duration commit, int slots, int window,
      int perTx, Duration stop, Duration revoke, RetryPolicy r) {
    return new WorkerSettings(role, agentId, inputTopics, dlqTopic, txId, poll, commit, slots,
        window, perTx, stop, revoke, r, maxProducerRecreations);
  }

  public WorkerSettings withTransactionalId(String id) {
    return copy(id, pollTimeout, commitInterval, concurrency, partitionWindow,
        maxRecordsPerTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withPollTimeout(Duration timeout) {
    return copy(transactionalId, timeout, commitInterval, concurrency, partitionWindow,
        maxRecordsPerTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withCommitInterval(Duration interval) {
    return copy(transactionalId, pollTimeout, interval, concurrency, partitionWindow,
        maxRecordsPerTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withConcurrency(int slots) {
    return copy(transactionalId, pollTimeout, commitInterval, slots, partitionWindow,
        maxRecordsPerTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withPartitionWindow(int window) {
    return copy(transactionalId, pollTimeout, commitInterval, concurrency, window,
        maxRecordsPerTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withMaxRecordsPerTransaction(int perTransaction) {
    return copy(transactionalId, pollTimeout, commitInterval, concurrency, partitionWindow,
        perTransaction, stopGrace, revokeGrace, retry);
  }

  public WorkerSettings withStopGrace(Duration grace) {
    return copy(transactionalId, pollTimeout, commitInterval, concurrency, partitionWindow,
        maxRecordsPerTransaction, grace, revokeGrace, retry);
  }

  public WorkerSettings withRevokeGrace(Duration grace) {
    return copy(transactionalId, pollTimeout, commitInterval, concurrency, partitionWindow,
        maxRecordsPerTransaction, stopGrace, grace, retry);
  }

  public WorkerSettings withRetry(RetryPolicy policy) {
    return copy(transactionalId, pollTimeout, commitInterval, concurrency, partitionWindow,
        maxRecordsPerTransaction, stopGrace, revokeGrace, policy);
  }

  /** Retry delays from {@code initial} doubling to {@code max} (the retry timeout unchanged). */
  public WorkerSettings withBackoff(Duration initial, Duration max) {
    return withRetry(retry.withBackoff(initial, max));
  }

  @Override
  public String toString() {
    return "WorkerSettings[" + agentId + ", topics " + inputTopics + ", concurrency "
        + concurrency + ", window " + partitionWindow + ", commit " + commitInterval.toMillis()
        + " ms, retry " + retry + "]";
  }
}
