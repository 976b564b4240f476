package io.fractalrmo.runtime;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The processor of a reader — a consumer without a group that reads its partitions from the
 * beginning and follows them (a cache rebuilt from a compacted topic, a registry's log, a
 * watcher). Records are applied in order, one partition at a time:
 *
 * <ul>
 *   <li>an {@link Applier} failure that is {@link FailureKind#TRANSIENT} (the registry could not
 *       be reached to read the record's schema, say) is retried: the loop backs off and the reader
 *       seeks back to that record — a record is never skipped because of an outage;</li>
 *   <li>a {@link FailureKind#POISON} record is skipped and reported to the
 *       {@link PoisonListener} (a reader does not own the topic: the DLQ entry is its owning
 *       consumer's to write) and counted;</li>
 *   <li>a fatal failure stops the loop.</li>
 * </ul>
 *
 * <p>Caught up ({@link #awaitCaughtUp}, {@link #isCaughtUp()}) means everything that was
 * committed on the partitions when they were assigned (their read_committed end offsets then) has
 * been applied; the loop reports STARTING until then. {@link #lag()} says how far behind it is.
 * Thread-safe readers of its state; the rest runs on the loop thread.
 */
public final class TopicReader<K, V> implements RecordProcessor<K, V> {

  private static final Logger LOG = LoggerFactory.getLogger(TopicReader.class);

  /** What a reader does with one record; exceptions are classified (see the class comment). */
  @FunctionalInterface
  public interface Applier<K, V> {
    void apply(ConsumerRecord<K, V> record) throws Exception;
  }

  /** Hears about each skipped (poison) record. */
  @FunctionalInterface
  public interface PoisonListener<K, V> {
    void onPoison(ConsumerRecord<K, V> record, Throwable error, LoopContext<K, V> loop);
  }

  /** Hears the positions reached after each cycle (e.g. to wake writers waiting to read back). */
  @FunctionalInterface
  public interface ProgressListener {
    void onProgress(Map<TopicPartition, Long> positions);
  }

  private final Applier<K, V> applier;
  private final PoisonListener<K, V> poison;
  private final ProgressListener progress;
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong applied = new AtomicLong();
  private final Map<TopicPartition, Long> next = new HashMap<>();
  private volatile Map<TopicPartition, Long> targets = Map.of();
  private volatile long lag = -1;

  public TopicReader(Applier<K, V> applier) {
    this(applier, null, null);
  }

  public TopicReader(Applier<K, V> applier, PoisonListener<K, V> poison,
      ProgressListener progress) {
    this.applier = Objects.requireNonNull(applier, "applier");
    this.poison = poison;
    this.progress = progress;
  }

  /** A loop builder reading every partition of {@code topics} with {@code reader}. */
  public static <K, V> ConsumeLoop.Builder<K, V> loop(String name,
      org.apache.kafka.clients.consumer.Consumer<K, V> consumer, Collection<String> topics,
      TopicReader<K, V> reader) {
    return ConsumeLoop.builder(name, consumer, reader).assignAll(topics);
  }

  @Override
  public void assigned(Collection<TopicPartition> partitions, LoopContext<K, V> loop) {
    loop.consumer().seekToBeginning(partitions);
    // read_committed: the end offsets are last stable offsets, i.e. what is committed now
    Map<TopicPartition, Long> ends = loop.consumer().endOffsets(partitions, Duration.ofSeconds(30));
    Map<TopicPartition, Long> t = new HashMap<>(targets);
    t.putAll(ends);
    long behind = 0;
    for (TopicPartition tp : partitions) {
      long position = loop.consumer().position(tp, Duration.ofSeconds(30));
      next.put(tp, position);
      behind += Math.max(0, t.getOrDefault(tp, position) - position);
    }
    targets = Map.copyOf(t);
    lag = behind;
  }

  @Override
  public void process(ConsumerRecords<K, V> records, LoopContext<K, V> loop) throws Exception {
    for (TopicPartition tp : records.partitions()) {
      for (ConsumerRecord<K, V> record : records.records(tp)) {
        Long expected = next.get(tp);
        if (expected != null && record.offset() < expected) {
          continue; // read again after a seek back: applied already
        }
        try {
          applier.apply(record);
          applied.incrementAndGet();
        } catch (Exception e) {
          switch (Failures.classify(e)) {
            case TRANSIENT -> throw new TransientException("cannot apply " + tp + "@"
                + record.offset() + " yet", e);
            case FATAL -> throw e;
            default -> {
              skipped.incrementAndGet();
              LOG.warn("{}: skipping {}@{} (key {}), it cannot be read: {}", loop.name(), tp,
                  record.offset(), record.key(), e.toString());
              if (poison != null) {
                poison.onPoison(record, e, loop);
              }
            }
          }
        }
        next.put(tp, record.offset() + 1);
      }
    }
    Map<TopicPartition, Long> positions = new HashMap<>();
    long behind = 0;
    boolean allThere = true;
    for (TopicPartition tp : next.keySet()) {
      long position = loop.consumer().position(tp); // known after assigned(): no wait
      positions.put(tp, position);
      Long target = targets.get(tp);
      if (caughtUp.getCount() > 0) {
        if (target != null && position < target) {
          allThere = false;
          behind += target - position;
        }
      } else {
        OptionalLong l = loop.consumer().currentLag(tp);
        behind += l.orElse(0);
      }
    }
    lag = behind;
    if (allThere && caughtUp.getCount() > 0 && !targets.isEmpty()) {
      LOG.info("{}: caught up ({} records applied, {} skipped)", loop.name(), applied.get(),
          skipped.get());
      caughtUp.countDown();
    }
    if (progress != null) {
      progress.onProgress(positions);
    }
  }

  @Override
  public void recover(Throwable cause, LoopContext<K, V> loop) {
    for (Map.Entry<TopicPartition, Long> e : next.entrySet()) {
      if (loop.consumer().assignment().contains(e.getKey())) {
        loop.consumer().seek(e.getKey(), e.getValue());
      }
    }
  }

  @Override
  public boolean ready() {
    return caughtUp.getCount() == 0;
  }

  /** Waits until what was committed at assignment has been applied (false on timeout). */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public boolean isCaughtUp() {
    return caughtUp.getCount() == 0;
  }

  /**
   * Records behind: while catching up, to the end offsets at assignment; afterwards, the lag the
   * last fetches reported. -1 before the first cycle.
   */
  public long lag() {
    return lag;
  }

  /** Records skipped as unreadable (poison) so far. */
  public long skipped() {
    return skipped.get();
  }

  /** Records applied so far. */
  public long appliedCount() {
    return applied.get();
  }

  /** Partitions read, for tests and reasons. */
  List<TopicPartition> partitions() {
    return List.copyOf(next.keySet());
  }
}
