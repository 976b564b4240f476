package io.fractalrmo.runtime;

import java.util.Collection;
import org.apache.kafka.clients.consumer.Consumer;

/** What a {@link RecordProcessor} may ask of its loop. */
public interface LoopContext<K, V> {

  /** The loop's name, for logs and reasons. */
  String name();

  /** The loop's consumer (call it only from the loop's thread). */
  Consumer<K, V> consumer();

  /** True once a stop was requested. */
  boolean stopping();

  /**
   * Ends the current or next poll early so that {@link RecordProcessor#process} runs soon (e.g. a
   * worker slot finished a record). Safe from any thread.
   */
  void wake();

  /**
   * Forgets the state of {@code partitions}: they are paused and handed to
   * {@link RecordProcessor#assigned} again before the next poll (e.g. after a commit whose outcome
   * is unknown, to re-read what is committed).
   */
  void reinitialize(Collection<org.apache.kafka.common.TopicPartition> partitions);

  /**
   * Sets ({@code reason} non-null) or clears (null) a named condition that makes the loop
   * DEGRADED while it holds, e.g. "unreadable rule records: r7@3".
   */
  void condition(String name, String reason);
}
