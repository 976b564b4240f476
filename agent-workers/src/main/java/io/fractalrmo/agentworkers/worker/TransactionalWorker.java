package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.runtime.AgentStatusReporter;
import io.fractalrmo.runtime.CompletedOffsets;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.DeadLetters;
import io.fractalrmo.runtime.FatalException;
import io.fractalrmo.runtime.Failures;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.LoopContext;
import io.fractalrmo.runtime.RecordProcessor;
import io.fractalrmo.runtime.RecordSizes;
import io.fractalrmo.runtime.Supervised;
import io.fractalrmo.runtime.TransientException;
import io.fractalrmo.runtime.trace.Hop;
import io.fractalrmo.runtime.trace.Tracing;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one consume–process–produce worker every agent role runs, on the {@link ConsumeLoop}
 * skeleton: records are handled concurrently by {@link WorkerSettings#concurrency()} slots (one
 * handler each), and finished records are committed — their outputs, their DLQ records and the
 * consumed offsets — in one Kafka transaction. A record that does not deserialize, whose handler
 * throws, whose output does not serialize or would exceed the topic's size limit goes to the DLQ
 * (original key and bytes, {@link io.fractalrmo.contracts.DlqHeaders}) in that transaction.
 *
 * <p><b>Out-of-order completion, exactly once.</b> Records of one key are handled one at a time
 * in offset order; records of different keys — also on one partition — run side by side, so a
 * slow record holds back nothing but its own key. The offset committed for a partition is its
 * lowest unfinished record; the finished records above it are listed in the offset's metadata
 * ({@link CompletedOffsets}). The invariant: a partition's committed state (offset + metadata) only
 * ever changes inside the transaction that also carries the outputs of exactly the records it
 * newly marks finished. So a record's outputs are visible to read_committed readers iff the group
 * counts it as done, and whoever (re)gains the partition reads that state
 * ({@code committed()}, which waits for pending transactional commits) and handles exactly the
 * records not done — nothing lost, nothing twice:
 *
 * <ul>
 *   <li>an aborted transaction's outputs never become visible; its records stay finished in
 *       memory and are committed by the next transaction;</li>
 *   <li>a zombie — this instance after its partitions moved — cannot commit: its offsets go with
 *       its group generation (KIP-447, {@code sendOffsetsToTransaction(offsets, groupMetadata)}),
 *       the commit fails and the transaction aborts; a restarted instance with this instance's
 *       transactional id fences it ({@code ProducerFencedException}: it stops);</li>
 *   <li>a commit whose outcome is unknown (the producer failed after {@code commitTransaction()}
 *       was sent) is resolved by re-reading every partition's committed state; when that read
 *       fails it is retried within the retry deadline, then the worker fails — it never guesses a
 *       position;</li>
 *   <li>on revocation the finished records are committed first, the revoked partitions'
 *       in-flight handlers get {@link WorkerSettings#revokeGrace()} and are then cut off; on a
 *       lost membership nothing is committed; on stop the in-flight handlers get
 *       {@link WorkerSettings#stopGrace()}, are interrupted, and only finished records are
 *       committed. A cut-off record's result is discarded even if its handler returns later.</li>
 * </ul>
 *
 * <p>At most {@link WorkerSettings#partitionWindow()} records of a partition are held at once
 * (fetching pauses beyond), and none more than {@link CompletedOffsets#MAX_SPAN} offsets above the
 * committed one, so the metadata stays small. Transactions only span the commit itself (handlers
 * never run inside one), so {@code transaction.timeout.ms} can be short.
 */
public final class TransactionalWorker<V extends SpecificRecord> implements Runnable {

  public static final String STAGE_DESERIALIZE = "deserialize";
  public static final String STAGE_HANDLE = "handle";
  public static final String STAGE_SERIALIZE_OUTPUT = "serialize-output";
  /** An output would exceed the topic's message size limit. */
  public static final String STAGE_OUTPUT_TOO_LARGE = "output-too-large";
  /** The broker refused an output (e.g. a topic limit lower than the one known). */
  public static final String STAGE_SEND = "send";
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  private final Logger log;
  private final WorkerSettings settings;
  private final Consumer<String, byte[]> consumer;
  private final Supplier<Producer<String, byte[]>> producerFactory;
  private final OutputSerializer serializer;
  private final AgentStatusReporter status;
  private final TopicLimits limits;
  private final OrphanFencer fencer;
  private final DeadLetters deadLetters;
  private final Tracing tracing;
  private final Slots slots;
  private final Processor processor;
  private final ConsumeLoop<String, byte[]> loop;
  private final java.util.concurrent.CountDownLatch runEnded =
      new java.util.concurrent.CountDownLatch(1);
  private volatile long committedRecords;
  private volatile java.util.function.LongConsumer handled = nanos -> { };
  private volatile long dlqRecords;

  /**
   * One handler and one deserializer shared by every slot (they must then be thread-safe, or the
   * concurrency 1).
   *
   * @param producerFactory creates a transactional producer (not yet initialised); called once at
   *     start and again when a fatally failed producer must be replaced
   * @param status reporter of this instance's state; the worker starts and closes it, may be null
   */
  public TransactionalWorker(WorkerSettings settings, Consumer<String, byte[]> consumer,
      Supplier<Producer<String, byte[]>> producerFactory, Deserializer<V> deserializer,
      RecordHandler<V> handler, OutputSerializer serializer, AgentStatusReporter status) {
    this(TransactionalWorker.<V>builder(settings, consumer, producerFactory, serializer)
        .handlers(() -> handler).deserializers(() -> deserializer).status(status));
  }

  private TransactionalWorker(Builder<V> b) {
    this.settings = b.settings;
    this.consumer = b.consumer;
    this.producerFactory = b.producerFactory;
    this.serializer = b.serializer;
    this.status = b.status;
    this.limits = b.limits;
    this.fencer = b.fencer;
    this.tracing = b.tracing;
    this.log = LoggerFactory.getLogger(TransactionalWorker.class.getName() + "." + settings.role());
    this.deadLetters = new DeadLetters(settings.dlqTopic(), settings.agentId(),
        Math.max(4_096, limits.maxRecordBytes(settings.dlqTopic())));
    this.slots = new Slots(b.handlers, b.deserializers);
    HealthState health = new HealthState();
    if (status != null) {
      health.onChange(status::health);
    }
    List<Supervised> helpers = new ArrayList<>(b.supervised);
    helpers.add(slots);
    this.processor = new Processor();
    this.loop = ConsumeLoop.builder(settings.agentId(), consumer, processor)
        .subscribe(settings.inputTopics())
        .pollTimeout(settings.pollTimeout())
        .stopGrace(settings.stopGrace())
        .closeTimeout(CLOSE_TIMEOUT)
        .retry(settings.retry())
        .supervise(helpers)
        .health(health)
        .build();
  }

  /** A worker with a handler (and deserializer) per slot, limits and supervised helpers. */
  public static <V extends SpecificRecord> Builder<V> builder(WorkerSettings settings,
      Consumer<String, byte[]> consumer, Supplier<Producer<String, byte[]>> producerFactory,
      OutputSerializer serializer) {
    return new Builder<>(settings, consumer, producerFactory, serializer);
  }

  public WorkerSettings settings() {
    return settings;
  }

  public String agentId() {
    return settings.agentId();
  }

  /** Asks the worker to stop; safe from any thread (e.g. a shutdown hook). */
  public void wakeup() {
    loop.stop();
  }

  public boolean isRunning() {
    return loop.isRunning() && runEnded.getCount() > 0;
  }

  /** Waits until the worker has subscribed (true) or the deadline passed / it ended (false). */
  public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
    return loop.awaitSourced(timeout);
  }

  /** Waits until run() has returned: clients closed, the final state published. */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return runEnded.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Why the worker stopped with FAILED, or null: the error itself, without the loop's wrappers
   * (their message is in the log and the health reason).
   */
  public Throwable failure() {
    Throwable f = loop.failure();
    while ((f instanceof FatalException || f instanceof TransientException)
        && f.getCause() != null) {
      f = f.getCause();
    }
    return f;
  }

  /** The worker's health (STARTING, RUNNING, DEGRADED with why, FAILED, STOPPED). */
  public HealthState.Snapshot health() {
    return loop.health();
  }

  /** The worker's loop, as a {@link Supervised} (e.g. for its owner to watch). */
  public Supervised supervised() {
    return loop;
  }

  /** Input records whose transaction was committed (DLQ'd ones included). */
  public long committedRecords() {
    return committedRecords;
  }

  /**
   * Called with the nanoseconds each handler call took that returned (not one that threw or was
   * cut off), on the handler's thread: metrics hang a latency histogram here. It may be set at
   * any time (the worker reads it per call); the default does nothing.
   */
  public void onHandled(java.util.function.LongConsumer listener) {
    handled = java.util.Objects.requireNonNull(listener);
  }

  /**
   * Kafka's own metrics of this worker's consumer and of its current transactional producer
   * (none before it is created); safe from any thread (metrics binding reads them).
   */
  public Map<org.apache.kafka.common.MetricName, org.apache.kafka.common.Metric> clientMetrics() {
    Map<org.apache.kafka.common.MetricName, org.apache.kafka.common.Metric> all =
        new HashMap<>(consumer.metrics());
    Producer<String, byte[]> p = processor.producer;
    if (p != null) {
      all.putAll(p.metrics());
    }
    return all;
  }

  /** Records committed to the DLQ. */
  public long dlqRecords() {
    return dlqRecords;
  }

  @Override
  public void run() {
    if (status != null) {
      status.start();
    }
    try {
      loop.run();
    } finally {
      transition(failure() == null ? AgentState.STOPPED : AgentState.FAILED, null);
      if (status != null) {
        status.close();
      }
      log.info("{}: stopped after committing {} records ({} to the DLQ){}", settings.agentId(),
          committedRecords, dlqRecords, failure() == null ? "" : "; FAILED: " + failure());
      runEnded.countDown();
    }
  }

  /**
   * True for a failure that says nothing about the record (the registry or broker could not be
   * reached): such a record is retried, not DLQ'd. {@link Failures#isTransient}, the one
   * classification of the runtime.
   */
  static boolean isTransient(Throwable e) {
    return Failures.isTransient(e);
  }

  private void transition(AgentState state, String taskId) {
    if (status != null) {
      status.transition(state, taskId);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Partition bookkeeping (loop thread only)

  private enum EntryState { QUEUED, IN_FLIGHT, FINISHED, COMMITTED }

  /** One fetched record of a partition and what became of it. */
  private static final class Entry {
    final ConsumerRecord<String, byte[]> record;
    EntryState state = EntryState.QUEUED;
    Task task;
    List<ProducerRecord<String, byte[]>> outputs = List.of();
    boolean poison;
    long finishedAt;

    Entry(ConsumerRecord<String, byte[]> record) {
      this.record = record;
    }
  }

  /**
   * A partition this instance owns: its committed offset, the finished offsets above it that were
   * committed before it was fetched (from the metadata), and the records fetched since.
   */
  private static final class Partition {
    final TopicPartition tp;
    final NavigableSet<Long> doneAhead;
    final TreeMap<Long, Entry> entries = new TreeMap<>();
    final Map<String, Integer> keysInFlight = new HashMap<>();
    long committed;
    long next;
    int queued;
    int running;
    boolean dirty;
    boolean pausedForWindow;
    boolean dropped;

    Partition(TopicPartition tp, long committed, NavigableSet<Long> doneAhead) {
      this.tp = tp;
      this.committed = committed;
      this.next = committed;
      this.doneAhead = doneAhead;
    }

    void add(ConsumerRecord<String, byte[]> r) {
      if (r.offset() < next || entries.containsKey(r.offset())) {
        return; // fetched again after a seek: known already
      }
      next = r.offset() + 1;
      Entry e = new Entry(r);
      if (doneAhead.remove(r.offset())) {
        e.state = EntryState.COMMITTED; // done by a predecessor (offset metadata)
      } else {
        queued++;
      }
      entries.put(r.offset(), e);
    }

    /** The lowest offset not finished, counting FINISHED as done (what a commit would store). */
    long lowestUnfinished() {
      for (Entry e : entries.values()) {
        if (e.state == EntryState.QUEUED || e.state == EntryState.IN_FLIGHT) {
          return e.record.offset();
        }
      }
      long afterFetched = entries.isEmpty() ? committed : entries.lastKey() + 1;
      // offsets known done ahead, not fetched yet, do not move the offset: unfetched ones between
      // may be undone
      return Math.max(committed, afterFetched);
    }

    /** Offset and metadata to commit if every FINISHED entry is committed now. */
    OffsetAndMetadata toCommit(String owner) {
      long lio = lowestUnfinished();
      List<Long> ahead = new ArrayList<>();
      for (Entry e : entries.tailMap(lio, false).values()) {
        if (e.state == EntryState.FINISHED || e.state == EntryState.COMMITTED) {
          ahead.add(e.record.offset());
        }
      }
      for (long o : doneAhead.tailSet(lio, false)) {
        ahead.add(o);
      }
      return new OffsetAndMetadata(lio, CompletedOffsets.encode(lio, ahead, owner));
    }

    /** After a commit at {@code offset}: entries below it are gone for good. */
    void committedAt(long offset) {
      committed = offset;
      entries.headMap(offset, false).clear();
      doneAhead.headSet(offset, true).clear();
      dirty = false;
    }

    int held() {
      return entries.size();
    }

    long span() {
      return entries.isEmpty() ? 0 : entries.lastKey() - committed;
    }
  }

  /** A record handed to the slots; the slot fills in the result. */
  private static final class Task {
    final Partition owner;
    final Entry entry;
    final ConsumerRecord<String, byte[]> record;
    volatile boolean cutOff;
    volatile Thread runner;
    List<ProducerRecord<String, byte[]>> outputs = List.of();
    boolean poison;
    RuntimeException transientFailure;

    Task(Partition owner, Entry entry) {
      this.owner = owner;
      this.entry = entry;
      this.record = entry.record;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The processor (loop thread)

  private final class Processor implements RecordProcessor<String, byte[]> {
    private final Map<TopicPartition, Partition> partitions = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Task> completions = new ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicBoolean wakeRequested =
        new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Producer<String, byte[]> producer;
    private int producerRecreations;
    private InDoubt inDoubt;
    private RuntimeException transientFailure;
    private int inFlight;
    private int finishedTotal;
    private long oldestFinishedAt = -1;
    private LoopContext<String, byte[]> ctx;

    @Override
    public void open(LoopContext<String, byte[]> loopContext) {
      this.ctx = loopContext;
      slots.start(this::completed);
      ensureProducer();
      transition(AgentState.IDLE, null);
    }

    /**
     * A slot finished a task (any thread). The loop is woken once per look at the completions:
     * the completions that come in meanwhile are taken in with the first, instead of one loop
     * cycle each (the loop clears {@code wakeRequested} right before it drains).
     */
    private void completed(Task task) {
      completions.add(task);
      if (wakeRequested.compareAndSet(false, true)) {
        ctx.wake();
      }
    }

    @Override
    public Duration pollTimeout(Duration configured) {
      if (finishedTotal > 0 && oldestFinishedAt >= 0) {
        long due = oldestFinishedAt + settings.commitInterval().toNanos() - System.nanoTime();
        return Duration.ofNanos(Math.max(0, Math.min(configured.toNanos(), due)));
      }
      return configured;
    }

    @Override
    public void assigned(Collection<TopicPartition> tps, LoopContext<String, byte[]> loopCtx) {
      // committed() reads with require_stable: it waits for transactional offset commits still
      // pending (a predecessor's last transaction), so this is the state that counts. A
      // predecessor that was SIGKILLed mid-commit is fenced rather than waited for.
      Map<TopicPartition, OffsetAndMetadata> committed;
      try {
        committed = consumer.committed(new HashSet<>(tps), OrphanFencer.COMMITTED_TIMEOUT);
      } catch (TimeoutException e) {
        int fenced = fencer.fenceOrphans(tps);
        throw new TransientException("the committed offsets of " + tps + " wait for a pending"
            + " transaction" + (fenced > 0 ? " (fenced " + fenced + " dead previous owner(s))"
            : ""), e);
      }
      Map<TopicPartition, Partition> fresh = new HashMap<>();
      for (TopicPartition tp : tps) {
        OffsetAndMetadata c = committed == null ? null : committed.get(tp);
        long start;
        NavigableSet<Long> ahead = new TreeSet<>();
        if (c != null) {
          start = c.offset();
          try {
            ahead = CompletedOffsets.decode(start, c.metadata());
          } catch (IllegalArgumentException e) {
            log.warn("{}: {} has offset metadata not written by a worker, ignored: {}",
                settings.agentId(), tp, e.getMessage());
          }
          consumer.seek(tp, start);
        } else {
          consumer.seekToBeginning(List.of(tp));
          start = consumer.position(tp, Duration.ofSeconds(30));
        }
        fresh.put(tp, new Partition(tp, start, ahead));
      }
      for (Map.Entry<TopicPartition, Partition> e : fresh.entrySet()) {
        Partition old = partitions.put(e.getKey(), e.getValue());
        if (old != null) {
          drop(old);
        }
        log.info("{}: {} resumes at offset {}{}", settings.agentId(), e.getKey(),
            e.getValue().committed, e.getValue().doneAhead.isEmpty() ? ""
                : " (" + e.getValue().doneAhead.size() + " later records already done)");
      }
    }

    @Override
    public void revoked(Collection<TopicPartition> tps, boolean lost,
        LoopContext<String, byte[]> loopCtx) {
      List<Partition> gone = new ArrayList<>();
      for (TopicPartition tp : tps) {
        Partition p = partitions.get(tp);
        if (p != null) {
          gone.add(p);
        }
      }
      if (gone.isEmpty()) {
        return;
      }
      if (!lost) {
        cancelQueued(gone);
        awaitRunning(gone, settings.revokeGrace());
        cutOff(gone);
        drainCompletions();
        if (finishedTotal > 0 && inDoubt == null) {
          try {
            commit(); // this member's generation still counts: keep what is finished
          } catch (FatalException e) {
            throw e;
          } catch (RuntimeException e) {
            log.warn("{}: commit on revocation failed; the new owner redoes those records: {}",
                settings.agentId(), e.toString());
          }
        }
      } else {
        cutOff(gone);
      }
      for (Partition p : gone) {
        partitions.remove(p.tp);
        drop(p);
      }
    }

    @Override
    public void process(ConsumerRecords<String, byte[]> records,
        LoopContext<String, byte[]> loopCtx) {
      if (inDoubt != null) {
        resolveInDoubt();
      }
      drainCompletions();
      for (TopicPartition tp : records.partitions()) {
        Partition p = partitions.get(tp);
        if (p == null) {
          continue;
        }
        for (ConsumerRecord<String, byte[]> r : records.records(tp)) {
          p.add(r);
        }
      }
      if (finishedTotal > 0 && commitDue()) {
        commit();
      }
      RuntimeException failed = transientFailure;
      if (failed != null) {
        transientFailure = null;
        throw new TransientException("a record could not be handled yet", failed);
      }
      dispatch();
      applyWindow();
      updateState();
    }

    @Override
    public void recover(Throwable cause, LoopContext<String, byte[]> loopCtx) {
      // Finished records stay in memory and go into the next transaction; an unknown commit
      // outcome was turned into a re-initialisation where it happened. Nothing to seek.
    }

    @Override
    public void stop(Duration grace, LoopContext<String, byte[]> loopCtx) {
      List<Partition> all = new ArrayList<>(partitions.values());
      cancelQueued(all);
      awaitRunning(all, grace);
      int cut = cutOff(all);
      drainCompletions();
      if (cut > 0) {
        log.info("{}: stop cut off {} record(s) in flight; they are not committed (the next owner"
            + " does them)", settings.agentId(), cut);
      }
      if (finishedTotal > 0 && producer != null && inDoubt == null) {
        try {
          commit();
        } catch (RuntimeException e) {
          log.warn("{}: final commit failed; the next owner redoes {} record(s): {}",
              settings.agentId(), finishedTotal, e.toString());
        }
      }
      transition(AgentState.STOPPING, null);
      slots.shutdown();
      closeProducer(CLOSE_TIMEOUT);
    }

    @Override
    public void close() {
      slots.shutdown();
      closeProducer(Duration.ZERO);
    }

    // --- completions and dispatch ---------------------------------------------------------------

    private void drainCompletions() {
      wakeRequested.set(false);
      Task t;
      while ((t = completions.poll()) != null) {
        Partition p = t.owner;
        Entry e = t.entry;
        if (p.dropped || e.task != t || partitions.get(p.tp) != p) {
          continue; // its partition was revoked or re-initialised: someone redoes it
        }
        inFlight--;
        p.running--;
        e.task = null;
        release(p, e);
        if (t.cutOff) {
          e.state = EntryState.QUEUED; // only on stop/revocation, where the partition goes away
          p.queued++;
          continue;
        }
        if (t.transientFailure != null) {
          e.state = EntryState.QUEUED;
          p.queued++;
          if (transientFailure == null) {
            transientFailure = t.transientFailure;
          }
          continue;
        }
        e.state = EntryState.FINISHED;
        e.outputs = t.outputs;
        e.poison = t.poison;
        e.finishedAt = System.nanoTime();
        p.dirty = true;
        finishedTotal++;
        if (oldestFinishedAt < 0) {
          oldestFinishedAt = e.finishedAt;
        }
      }
    }

    private void release(Partition p, Entry e) {
      String key = e.record.key();
      if (key != null) {
        p.keysInFlight.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
      }
    }

    private void dispatch() {
      if (ctx.stopping()) {
        return;
      }
      for (Partition p : partitions.values()) {
        if (p.queued == 0) {
          continue;
        }
        long lio = p.lowestUnfinished();
        Set<String> blocked = new HashSet<>(p.keysInFlight.keySet());
        int remaining = p.queued;
        for (Entry e : p.entries.tailMap(lio, true).values()) {
          if (remaining == 0) {
            break;
          }
          if (e.state != EntryState.QUEUED) {
            continue;
          }
          remaining--;
          if (e.record.offset() - p.committed >= CompletedOffsets.MAX_SPAN) {
            break; // its completion could not be recorded in the offset metadata
          }
          String key = e.record.key();
          if (key != null && !blocked.add(key)) {
            continue; // an earlier record of this key is pending: keep their order
          }
          Task task = new Task(p, e);
          e.state = EntryState.IN_FLIGHT;
          e.task = task;
          p.queued--;
          p.running++;
          inFlight++;
          if (key != null) {
            p.keysInFlight.merge(key, 1, Integer::sum);
          }
          slots.submit(task);
        }
      }
    }

  private void applyWindow() {
      Set<TopicPartition> assigned = consumer.assignment();
      for (Partition p : partitions.values()) {
        boolean full = p.held() >= settings.partitionWindow()
            || p.span() >= CompletedOffsets.MAX_SPAN - settings.partitionWindow();
        if (full && !p.pausedForWindow && assigned.contains(p.tp)) {
          consumer.pause(List.of(p.tp));
          p.pausedForWindow = true;
        } else if (!full && p.pausedForWindow && assigned.contains(p.tp)) {
          consumer.resume(List.of(p.tp));
          p.pausedForWindow = false;
        }
      }
    }

    private void updateState() {
      if (inFlight > 0) {
        if (status == null || status.state() == AgentState.BUSY) {
          return; // BUSY already (the task id is the one it became busy with)
        }
        String key = null;
        for (Partition p : partitions.values()) {
          for (Entry e : p.entries.values()) {
            if (e.state == EntryState.IN_FLIGHT) {
              key = e.record.key();
              break;
            }
          }
          if (key != null) {
            break;
          }
        }
        transition(AgentState.BUSY, key);
      } else if (finishedTotal == 0 && queuedTotal() == 0) {
        transition(AgentState.IDLE, null);
      }
    }

    private int queuedTotal() {
      int n = 0;
      for (Partition p : partitions.values()) {
        n += p.queued;
      }
      return n;
    }

    private void cancelQueued(Collection<Partition> ps) {
      Set<Partition> set = new HashSet<>(ps);
      for (Task t : slots.cancel(t -> set.contains(t.owner))) {
        // never started: back to QUEUED (the partition is going away or stopping)
        Partition p = t.owner;
        Entry e = t.entry;
        if (e.task == t) {
          e.task = null;
          e.state = EntryState.QUEUED;
          p.queued++;
          p.running--;
          inFlight--;
          release(p, e);
        }
      }
    }

    /** Waits up to {@code grace} for the running tasks of {@code ps}, taking completions in. */
    private void awaitRunning(Collection<Partition> ps, Duration grace) {
      long deadline = System.nanoTime() + grace.toNanos();
      while (running(ps) > 0 && System.nanoTime() < deadline) {
        try {
          // waiting for handlers to finish, woken by their completion
          slots.awaitCompletion(Math.min(deadline - System.nanoTime(),
              TimeUnit.MILLISECONDS.toNanos(50)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
        drainCompletions();
      }
    }

    private int running(Collection<Partition> ps) {
      int n = 0;
      for (Partition p : ps) {
        n += p.running;
      }
      return n;
    }

    /** Interrupts the handlers of {@code ps} still running; their results will be discarded. */
    private int cutOff(Collection<Partition> ps) {
      int n = 0;
      for (Partition p : ps) {
        for (Entry e : p.entries.values()) {
          if (e.state == EntryState.IN_FLIGHT && e.task != null) {
            slots.cutOff(e.task);
            n++;
          }
        }
      }
      return n;
    }

    /** Forgets a partition: its unfinished and uncommitted work is someone else's (or redone). */
    private void drop(Partition p) {
      p.dropped = true;
      for (Entry e : p.entries.values()) {
        if (e.state == EntryState.IN_FLIGHT && e.task != null) {
          slots.cutOff(e.task);
          inFlight--;
        } else if (e.state == EntryState.FINISHED) {
          finishedTotal--;
        }
      }
      if (finishedTotal == 0) {
        oldestFinishedAt = -1;
      }
      if (p.pausedForWindow && consumer.assignment().contains(p.tp)) {
        consumer.resume(List.of(p.tp));
      }
    }

    private void reinitializeAll(String why) {
      log.warn("{}: {}; re-reading the committed offsets of every partition", settings.agentId(),
          why);
      List<Partition> all = new ArrayList<>(partitions.values());
      cancelQueued(all);
      for (Partition p : all) {
        drop(p);
      }
      partitions.clear();
      finishedTotal = 0;
      oldestFinishedAt = -1;
      inFlight = 0;
      ctx.reinitialize(all.stream().map(p -> p.tp).toList());
    }

    // --- commits --------------------------------------------------------------------------------

    private boolean commitDue() {
      return inFlight == 0 || ctx.stopping()
          || finishedTotal >= settings.maxRecordsPerTransaction()
          || System.nanoTime() - oldestFinishedAt >= settings.commitInterval().toNanos();
    }

    private record Batch(List<Entry> entries, Map<TopicPartition, OffsetAndMetadata> offsets,
        Map<TopicPartition, Partition> owners) {}

    /** What remains to be done after a transaction whose commit timed out. */
    private record InDoubt(Batch batch, int attempts) {}

    private Batch batch() {
      List<Entry> entries = new ArrayList<>();
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      Map<TopicPartition, Partition> owners = new HashMap<>();
      for (Partition p : partitions.values()) {
        if (!p.dirty) {
          continue;
        }
        for (Entry e : p.entries.values()) {
          if (e.state == EntryState.FINISHED) {
            entries.add(e);
          }
        }
        offsets.put(p.tp, p.toCommit(settings.agentId()));
        owners.put(p.tp, p);
      }
      return new Batch(entries, offsets, owners);
    }

    private void commit() {
      ensureProducer();
      Batch batch = batch();
      if (batch.offsets().isEmpty()) {
        return;
      }
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      List<Entry> sources = new ArrayList<>();
      boolean commitRequested = false;
      try {
        producer.beginTransaction();
        for (Entry e : batch.entries()) {
          for (ProducerRecord<String, byte[]> out : e.outputs) {
            sent.add(producer.send(out));
            sources.add(e);
          }
        }
        producer.sendOffsetsToTransaction(batch.offsets(), consumer.groupMetadata());
        commitRequested = true;
        producer.commitTransaction();
      } catch (RuntimeException e) {
        onCommitFailure(e, commitRequested, batch, sent, sources);
        return;
      }
      committed(batch);
    }

    private void committed(Batch batch) {
      int dlq = 0;
      for (Entry e : batch.entries()) {
        e.state = EntryState.COMMITTED;
        e.outputs = List.of();
        if (e.poison) {
          dlq++;
        }
      }
      for (Map.Entry<TopicPartition, OffsetAndMetadata> o : batch.offsets().entrySet()) {
        batch.owners().get(o.getKey()).committedAt(o.getValue().offset());
      }
      finishedTotal -= batch.entries().size();
      oldestFinishedAt = -1;
      if (finishedTotal > 0) {
        for (Partition p : partitions.values()) {
          for (Entry e : p.entries.values()) {
            if (e.state == EntryState.FINISHED && (oldestFinishedAt < 0
                || e.finishedAt < oldestFinishedAt)) {
              oldestFinishedAt = e.finishedAt;
            }
          }
        }
      }
      producerRecreations = 0;
      committedRecords += batch.entries().size();
      dlqRecords += dlq;
      if (status != null) {
        status.recordProcessed(batch.entries().size());
      }
    }

    private void resolveInDoubt() {
      InDoubt doubt = inDoubt;
      try {
        producer.commitTransaction(); // retrying a timed-out commit is allowed, and only that
        inDoubt = null;
        committed(doubt.batch());
      } catch (TimeoutException e) {
        inDoubt = new InDoubt(doubt.batch(), doubt.attempts() + 1);
        throw new TransientException("commit still in doubt", e);
      } catch (RuntimeException e) {
        inDoubt = null;
        if (isFenced(e) || Failures.isFatal(e)) {
          closeProducer(Duration.ZERO);
          throw fatal(e);
        }
        replaceProducer(e);
        reinitializeAll("a transaction's outcome is unknown (" + e + ")");
        throw new TransientException("transaction outcome unknown", e);
      }
    }

    private void onCommitFailure(RuntimeException e, boolean commitRequested, Batch batch,
        List<Future<RecordMetadata>> sent, List<Entry> sources) {
      if (isFenced(e) || Failures.isFatal(e)) {
        closeProducer(Duration.ZERO);
        throw fatal(e);
      }
      if (commitRequested && (e instanceof TimeoutException
          || e instanceof org.apache.kafka.common.errors.InterruptException)) {
        // the commit may have reached the coordinator: only retrying it is safe
        log.warn("{}: commit did not complete ({}); it is retried, nothing else",
            settings.agentId(), e.toString());
        inDoubt = new InDoubt(batch, 1);
        if (e instanceof org.apache.kafka.common.errors.InterruptException) {
          throw e;
        }
        throw new TransientException("commit timed out", e);
      }
      boolean poisonFound = convertRefusedOutputs(sent, sources);
      boolean aborted = abort();
      if (!aborted && commitRequested) {
        reinitializeAll("a transaction's outcome is unknown (" + e + ")");
        throw new TransientException("transaction outcome unknown", e);
      }
      if (e instanceof CommitFailedException || e.getCause() instanceof CommitFailedException) {
        // our group generation is stale: partitions may have moved; what is ours is re-read
        reinitializeAll("the group generation changed under a transaction (" + e + ")");
        return;
      }
      if (poisonFound) {
        return; // retried at once without the refused outputs
      }
      log.warn("{}: transaction failed and was aborted; retrying: {}", settings.agentId(),
          e.toString());
      throw new TransientException("transaction failed", e);
    }

    /**
     * The outputs the broker refused for what they are (too large, invalid): their inputs go to
     * the DLQ instead, with the reason. True when there was one.
     */
    private boolean convertRefusedOutputs(List<Future<RecordMetadata>> sent, List<Entry> sources) {
      boolean found = false;
      for (int i = 0; i < sent.size(); i++) {
        Future<RecordMetadata> f = sent.get(i);
        if (!f.isDone()) {
          continue;
        }
        Throwable cause;
        try {
          f.get();
          continue;
        } catch (ExecutionException ex) {
          cause = ex.getCause();
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          return found;
        } catch (RuntimeException ex) {
          cause = ex;
        }
        if (!(cause instanceof RecordTooLargeException || cause instanceof InvalidRecordException
            || cause instanceof RecordBatchTooLargeException
            || cause instanceof SerializationException)) {
          continue;
        }
        Entry e = sources.get(i);
        if (e.poison && e.outputs.size() == 1 && e.outputs.get(0).topic()
            .equals(settings.dlqTopic())) {
          // even the DLQ record was refused: keep only the headers (never loop)
          e.outputs = List.of(withoutValue(e.outputs.get(0)));
        } else {
          log.warn("{}: the broker refused an output of {}-{}@{}, input to the DLQ: {}",
              settings.agentId(), e.record.topic(), e.record.partition(), e.record.offset(),
              cause.toString());
          e.outputs = List.of(deadLetters.of(e.record, cause, STAGE_SEND));
          e.poison = true;
        }
        found = true;
      }
      return found;
    }

    private ProducerRecord<String, byte[]> withoutValue(ProducerRecord<String, byte[]> dlq) {
      return new ProducerRecord<>(dlq.topic(), null, (Long) null, null, null, dlq.headers());
    }

    private boolean abort() {
      try {
        producer.abortTransaction();
        return true;
      } catch (RuntimeException e) {
        if (isFenced(e) || Failures.isFatal(e)) {
          closeProducer(Duration.ZERO);
          throw fatal(e);
        }
        // A producer that cannot even abort is replaced; its successor's initTransactions()
        // completes or aborts the pending transaction on the coordinator.
        log.warn("{}: abort failed ({}); replacing the producer", settings.agentId(),
            e.toString());
        replaceProducer(e);
        return false;
      }
    }

    private FatalException fatal(RuntimeException e) {
      if (isFenced(e)) {
        return new FatalException(settings.agentId() + ": fenced — another instance with"
            + " transactional id " + settings.transactionalId() + " took over; this one stops", e);
      }
      return new FatalException(settings.agentId() + ": producer cannot continue", e);
    }

    private boolean isFenced(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
          return true;
        }
        if (t.getCause() == t) {
          break;
        }
      }
      return false;
    }

    private void ensureProducer() {
      if (producer != null) {
        return;
      }
      Producer<String, byte[]> created = producerFactory.get();
      try {
        created.initTransactions();
      } catch (RuntimeException e) {
        created.close(Duration.ZERO);
        if (e instanceof RetriableException || Failures.isTransient(e)) {
          throw new TransientException("initTransactions failed", e);
        }
        throw new FatalException(settings.agentId() + ": initTransactions failed", e);
      }
      producer = created;
    }

    private void replaceProducer(RuntimeException cause) {
      closeProducer(Duration.ZERO);
      if (++producerRecreations > settings.maxProducerRecreations()) {
        throw new FatalException(settings.agentId() + ": producer replaced "
            + settings.maxProducerRecreations() + " times in a row", cause);
      }
    }

    private void closeProducer(Duration timeout) {
      if (producer == null) {
        return;
      }
      try {
        producer.close(timeout);
      } catch (RuntimeException e) {
        log.debug("{}: closing producer: {}", settings.agentId(), e.toString());
      }
      producer = null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Handler slots (their own threads)

  /** The handler threads: one handler (and deserializer) each, taking tasks from one queue. */
  private final class Slots implements Supervised {
    private final List<RecordHandler<V>> handlers = new ArrayList<>();
    private final List<Deserializer<V>> deserializers = new ArrayList<>();
    private final java.util.concurrent.LinkedBlockingDeque<Task> queue =
        new java.util.concurrent.LinkedBlockingDeque<>();
    private final List<Thread> threads = new ArrayList<>();
    private final Object finished = new Object();
    private final HealthState health = new HealthState();
    private volatile Throwable failure;
    private volatile boolean shutdown;
    private java.util.function.Consumer<Task> onDone;

    Slots(Supplier<RecordHandler<V>> handlerFactory, Supplier<Deserializer<V>> deserializerFactory) {
      for (int i = 0; i < settings.concurrency(); i++) {
        handlers.add(Objects.requireNonNull(handlerFactory.get(), "handler"));
        deserializers.add(Objects.requireNonNull(deserializerFactory.get(), "deserializer"));
      }
    }

    void start(java.util.function.Consumer<Task> done) {
      if (!threads.isEmpty()) {
        return;
      }
      this.onDone = done;
      for (int i = 0; i < handlers.size(); i++) {
        RecordHandler<V> handler = handlers.get(i);
        Deserializer<V> deserializer = deserializers.get(i);
        Thread t = new Thread(() -> work(handler, deserializer),
            settings.agentId() + "-slot-" + i);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      health.set(io.fractalrmo.contracts.AgentHealth.RUNNING, null);
    }

    void submit(Task t) {
      queue.add(t);
    }



    List<Task> cancel(java.util.function.Predicate<Task> which) {
      List<Task> removed = new ArrayList<>();
      for (Task t : queue) {
        if (which.test(t) && queue.remove(t)) {
          removed.add(t);
        }
      }
      return removed;
    }

    void cutOff(Task t) {
      t.cutOff = true;
      synchronized (t) {
        Thread runner = t.runner;
        if (runner != null) {
          runner.interrupt();
        }
      }
    }

    void awaitCompletion(long nanos) throws InterruptedException {
      synchronized (finished) {
        if (nanos > 0) {
          TimeUnit.NANOSECONDS.timedWait(finished, nanos);
        }
      }
    }

    void shutdown() {
      shutdown = true;
      queue.clear();
      threads.forEach(Thread::interrupt);
    }

    private void work(RecordHandler<V> handler, Deserializer<V> deserializer) {
      try {
        while (!shutdown) {
          Task task;
          try {
            task = queue.take();
          } catch (InterruptedException e) {
            if (shutdown) {
              return;
            }
            continue;
          }
          boolean skip;
          synchronized (task) {
            Thread.interrupted(); // an interrupt meant for the previous task
            skip = task.cutOff;
            if (!skip) {
              task.runner = Thread.currentThread();
            }
          }
          if (skip) {
            onDone.accept(task);
            continue;
          }
          try {
            handle(task, handler, deserializer);
          } finally {
            synchronized (task) {
              task.runner = null;
              Thread.interrupted();
            }
          }
          onDone.accept(task);
          synchronized (finished) {
            finished.notifyAll();
          }
        }
      } catch (Throwable e) {
        if (!shutdown) {
          failure = e;
          health.set(io.fractalrmo.contracts.AgentHealth.FAILED, Failures.describe(e, 300));
          log.error("{}: handler slot died", settings.agentId(), e);
        }
      }
    }

    private void handle(Task task, RecordHandler<V> handler, Deserializer<V> deserializer) {
      ConsumerRecord<String, byte[]> record = task.record;
      V value;
      try {
        value = deserializer.deserialize(record.topic(), record.headers(), record.value());
        if (value == null) {
          throw new SerializationException("null value (tombstone) where a record was expected");
        }
      } catch (RuntimeException e) {
        if (Failures.isTransient(e)) {
          task.transientFailure = e;
          return;
        }
        log.warn("{}: {}-{}@{} does not deserialize, to the DLQ: {}", settings.agentId(),
            record.topic(), record.partition(), record.offset(), e.toString());
        poison(task, e, STAGE_DESERIALIZE);
        return;
      }
      List<Outgoing> outputs;
      // this record's hop of its task's trace: child of the hop that wrote it (of the record's
      // origin when its trace headers are missing or malformed); its outputs carry the hop on
      Hop hop = tracing.start(settings.role(), settings.agentId(), record.headers(),
          record.topic(), record.partition(), record.offset());
      long began = System.nanoTime();
      try {
        outputs = handler.handle(record.key(), value);
        handled.accept(System.nanoTime() - began);
      } catch (Exception e) {
        if (task.cutOff || shutdown) {
          return; // interrupted by a stop or revocation: discarded
        }
        if (Failures.isTransient(e)) {
          // not handled (e.g. its run was cut off, a service it needs is down): done again later
          log.info("{}: {}-{}@{} not handled yet, retried: {}", settings.agentId(),
              record.topic(), record.partition(), record.offset(), e.toString());
          task.transientFailure = e instanceof RuntimeException re ? re
              : new io.fractalrmo.runtime.TransientException("the handler failed", e);
          return;
        }
        log.warn("{}: handler failed on {}-{}@{} (key {}), to the DLQ: {}", settings.agentId(),
            record.topic(), record.partition(), record.offset(), record.key(), e.toString());
        poison(task, e, STAGE_HANDLE);
        return;
      }
      if (task.cutOff || shutdown || outputs == null || outputs.isEmpty()) {
        return;
      }
      List<ProducerRecord<String, byte[]>> produced = new ArrayList<>(outputs.size());
      for (Outgoing o : outputs) {
        byte[] bytes;
        try {
          bytes = serializer.serialize(o.topic(), o.value());
        } catch (RuntimeException e) {
          if (Failures.isTransient(e)) {
            task.transientFailure = e;
            return;
          }
          log.warn("{}: output of {}-{}@{} does not serialize, input to the DLQ: {}",
              settings.agentId(), record.topic(), record.partition(), record.offset(),
              e.toString());
          poison(task, e, STAGE_SERIALIZE_OUTPUT);
          return;
        }
        byte[] key = o.key() == null ? null : o.key().getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders();
        hop.writeTo(headers);
        int size = RecordSizes.upperBound(key, bytes, headers);
        int limit = limits.maxRecordBytes(o.topic());
        if (size > limit) {
          RecordTooLargeException tooLarge = new RecordTooLargeException("the output to "
              + o.topic() + " (" + o.value().getClass().getSimpleName() + ", key " + o.key()
              + ") would be " + size + " bytes, over the topic's limit of " + limit + " bytes");
          log.warn("{}: {}-{}@{}: {}; input to the DLQ", settings.agentId(), record.topic(),
              record.partition(), record.offset(), tooLarge.getMessage());
          poison(task, tooLarge, STAGE_OUTPUT_TOO_LARGE);
          return;
        }
        produced.add(new ProducerRecord<>(o.topic(), null, o.key(), bytes, headers));
      }
      task.outputs = produced;
    }

    private void poison(Task task, Throwable e, String stage) {
      task.outputs = List.of(deadLetters.of(task.record, e, stage));
      task.poison = true;
    }

    @Override
    public String name() {
      return settings.agentId() + " handler slots";
    }

    @Override
    public HealthState.Snapshot health() {
      return health.get();
    }

    @Override
    public Throwable failure() {
      return failure;
    }
  }

  /** How to build a worker; handlers, deserializers and status are required. */
  public static final class Builder<V extends SpecificRecord> {
    private final WorkerSettings settings;
    private final Consumer<String, byte[]> consumer;
    private final Supplier<Producer<String, byte[]>> producerFactory;
    private final OutputSerializer serializer;
    private Supplier<RecordHandler<V>> handlers;
    private Supplier<Deserializer<V>> deserializers;
    private AgentStatusReporter status;
    private TopicLimits limits = TopicLimits.DEFAULT;
    private OrphanFencer fencer = OrphanFencer.NONE;
    private Tracing tracing = Tracing.process();
    private final List<Supervised> supervised = new ArrayList<>();

    private Builder(WorkerSettings settings, Consumer<String, byte[]> consumer,
        Supplier<Producer<String, byte[]>> producerFactory, OutputSerializer serializer) {
      this.settings = Objects.requireNonNull(settings, "settings");
      this.consumer = Objects.requireNonNull(consumer, "consumer");
      this.producerFactory = Objects.requireNonNull(producerFactory, "producerFactory");
      this.serializer = Objects.requireNonNull(serializer, "serializer");
    }

    /** Called once per slot: each slot's handler is only ever called from that slot's thread. */
    public Builder<V> handlers(Supplier<RecordHandler<V>> perSlot) {
      this.handlers = Objects.requireNonNull(perSlot);
      return this;
    }

    /** Called once per slot. */
    public Builder<V> deserializers(Supplier<Deserializer<V>> perSlot) {
      this.deserializers = Objects.requireNonNull(perSlot);
      return this;
    }

    public Builder<V> status(AgentStatusReporter reporter) {
      this.status = reporter;
      return this;
    }

    public Builder<V> limits(TopicLimits topicLimits) {
      this.limits = Objects.requireNonNull(topicLimits);
      return this;
    }

    /** Ends a SIGKILLed predecessor's open transaction when a partition's offsets wait for it. */
    public Builder<V> orphanFencer(OrphanFencer f) {
      this.fencer = Objects.requireNonNull(f);
      return this;
    }

    /** How outputs carry their task's trace (default {@link Tracing#process()}). */
    public Builder<V> tracing(Tracing t) {
      this.tracing = Objects.requireNonNull(t);
      return this;
    }

    /** Helpers the worker checks each cycle (e.g. its rule cache): it fails when one fails. */
    public Builder<V> supervise(Collection<? extends Supervised> helpers) {
      supervised.addAll(helpers);
      return this;
    }

    public TransactionalWorker<V> build() {
      Objects.requireNonNull(handlers, "handlers");
      Objects.requireNonNull(deserializers, "deserializers");
      return new TransactionalWorker<>(this);
    }
  }
}
