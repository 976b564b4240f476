package io.fractalrmo.runtime;

import java.time.Duration;
import java.util.Collection;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * What one kind of consumer does with its records, plugged into a {@link ConsumeLoop}. Every
 * method is called on the loop's thread. A method that throws hands the failure to the loop's one
 * policy: {@link FailureKind#TRANSIENT} (see {@link Failures}) → the loop is DEGRADED, waits a
 * jittered backoff, calls {@link #recover} (when {@link #process} or {@link #recover} failed) and
 * runs the cycle again, until the retry policy's deadline; anything else → the loop stops FAILED
 * with it. Poison — a record that is itself broken — is the processor's to set aside (a group
 * consumer sends it to the DLQ with {@link DeadLetters}; a reader skips and reports it): an
 * exception escaping a method is never about one record.
 *
 * <p>A cycle: {@link #recover} if due, {@link #assigned} for partitions not yet initialised
 * (paused until it succeeds), one poll, {@link #process} of its records (possibly none).
 * {@link #process} must not call blocking {@code Consumer} methods ({@code committed},
 * {@code position} of a partition without a position, ...): the loop may be woken
 * ({@link LoopContext#wake()}) at any time and such a call would throw {@code WakeupException};
 * {@link #assigned} and {@link #recover} may, a wake-up there just runs them again.
 *
 * @param <K> key type of the consumer
 * @param <V> value type of the consumer
 */
public interface RecordProcessor<K, V> {

  /** Once, before the consumer subscribes or is assigned (e.g. create a transactional producer). */
  default void open(LoopContext<K, V> loop) throws Exception {
  }

  /**
   * Partitions newly assigned (by the group, or by {@code assign} at start), called outside the
   * rebalance callback while they are paused; seek here to where their processing resumes (else
   * the group's committed offset, or {@code auto.offset.reset}). Also called again for the
   * partitions given to {@link LoopContext#reinitialize}. A failure leaves them paused and is
   * retried per the policy.
   */
  default void assigned(Collection<TopicPartition> partitions, LoopContext<K, V> loop)
      throws Exception {
  }

  /**
   * Inside the rebalance callback: these partitions go to another member. When {@code lost} is
   * false, commit what is finished (this member's generation still counts) and abandon the rest
   * before returning; when true the membership is gone (a commit would be fenced): drop their work.
   */
  default void revoked(Collection<TopicPartition> partitions, boolean lost,
      LoopContext<K, V> loop) {
  }

  /** One poll's records (possibly none, e.g. after a {@link LoopContext#wake()}). */
  void process(ConsumerRecords<K, V> records, LoopContext<K, V> loop) throws Exception;

  /**
   * After a transient failure of {@link #process} (or of a previous recover), before the cycle
   * runs again: bring the consumer back to where the uncommitted work starts (seek), or re-read
   * where that is ({@link LoopContext#reinitialize}). Never guess a position.
   */
  default void recover(Throwable cause, LoopContext<K, V> loop) throws Exception {
  }

  /** The longest the next poll may block, given the configured poll timeout. */
  default Duration pollTimeout(Duration configured) {
    return configured;
  }

  /**
   * Whether the processor serves its input yet (e.g. a reader caught up with what was on its
   * topics at start): the loop reports STARTING until the first cycle in which this is true.
   */
  default boolean ready() {
    return true;
  }

  /**
   * A stop was requested (or the loop failed): finish, commit or abandon the work in hand within
   * {@code grace}. Called once, on the loop thread, before the consumer is closed; not called when
   * {@link #open} never succeeded.
   */
  default void stop(Duration grace, LoopContext<K, V> loop) {
  }

  /** Releases what the processor holds; after the consumer is closed. */
  default void close() {
  }
}
