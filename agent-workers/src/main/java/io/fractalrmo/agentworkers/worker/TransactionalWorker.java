package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.DlqHeaders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one consume–process–produce loop every agent role runs. Each polled batch is handled record
 * by record, then the outputs, any DLQ records and the consumed offsets are written in ONE Kafka
 * transaction: either all of a batch's effects become visible to read_committed readers, or none
 * do and the batch is consumed again. A record that does not deserialize, or whose handler
 * throws, goes to the DLQ (original key and bytes, {@link DlqHeaders}) in that same transaction
 * and the worker moves on.
 *
 * <p>Failures: a transaction that fails with an abortable error is aborted, the consumer rewound
 * to the last committed offsets, and the batch retried after a bounded backoff; a fenced or
 * otherwise fatally failed producer is replaced (a bounded number of times); authorization,
 * authentication and unsupported-version errors stop the worker (FAILED). {@link #wakeup()} stops
 * it: the batch in hand is committed as far as it was handled, the group is left, clients closed.
 *
 * <p>Handlers run before the transaction begins, so a slow handler never holds a transaction
 * open. A transaction closes after {@link WorkerSettings#commitInterval()} of handling (one poll
 * may take several), and a poll's handling stops after {@link WorkerSettings#batchTimeBudget()}
 * so that polls stay within {@code max.poll.interval.ms}.
 */
public final class TransactionalWorker<V extends SpecificRecord> implements Runnable {

  public static final String STAGE_DESERIALIZE = "deserialize";
  public static final String STAGE_HANDLE = "handle";
  public static final String STAGE_SERIALIZE_OUTPUT = "serialize-output";
  private static final int MAX_HEADER_MESSAGE = 2_000;
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  private final Logger log;
  private final WorkerSettings settings;
  private final Consumer<String, byte[]> consumer;
  private final Supplier<Producer<String, byte[]>> producerFactory;
  private final Deserializer<V> deserializer;
  private final RecordHandler<V> handler;
  private final OutputSerializer serializer;
  private final AgentStatusReporter status;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch subscribed = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private Producer<String, byte[]> producer;
  private int producerRecreations;
  private int consecutiveFailures;
  private volatile Throwable failure;
  private volatile long committedRecords;
  private volatile long dlqRecords;

  /**
   * @param producerFactory creates a transactional producer (not yet initialised); called once at
   *     start and again when a fenced/fatally failed producer must be replaced
   * @param status reporter of this instance's state; the worker starts and closes it, may be null
   */
  public TransactionalWorker(WorkerSettings settings, Consumer<String, byte[]> consumer,
      Supplier<Producer<String, byte[]>> producerFactory, Deserializer<V> deserializer,
      RecordHandler<V> handler, OutputSerializer serializer, AgentStatusReporter status) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.producerFactory = Objects.requireNonNull(producerFactory, "producerFactory");
    this.deserializer = Objects.requireNonNull(deserializer, "deserializer");
    this.handler = Objects.requireNonNull(handler, "handler");
    this.serializer = Objects.requireNonNull(serializer, "serializer");
    this.status = status;
    this.log = LoggerFactory.getLogger(TransactionalWorker.class.getName() + "." + settings.role());
  }

  public WorkerSettings settings() {
    return settings;
  }

  public String agentId() {
    return settings.agentId();
  }

  /** Asks the loop to stop; safe from any thread (e.g. a shutdown hook). */
  public void wakeup() {
    if (running.compareAndSet(true, false)) {
      log.info("{}: stop requested", settings.agentId());
    }
    if (stopped.getCount() > 0) {
      try {
        consumer.wakeup();
      } catch (RuntimeException e) {
        log.debug("{}: wakeup after close: {}", settings.agentId(), e.toString());
      }
    }
  }

  public boolean isRunning() {
    return running.get() && stopped.getCount() > 0;
  }

  /** Waits until the loop has subscribed (true) or the deadline passed (false). */
  public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
    return subscribed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Waits until run() has returned and the clients are closed. */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Why the worker stopped with FAILED, or null. */
  public Throwable failure() {
    return failure;
  }

  /** Input records whose batch was committed (DLQ'd ones included). */
  public long committedRecords() {
    return committedRecords;
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
      producer = newProducer();
      consumer.subscribe(settings.inputTopics(), new LoggingRebalanceListener());
      subscribed.countDown();
      transition(AgentState.IDLE, null);
      while (running.get()) {
        ConsumerRecords<String, byte[]> records = poll();
        if (records == null) {
          continue;
        }
        if (records.isEmpty()) {
          transition(AgentState.IDLE, null);
          continue;
        }
        processBatch(records);
      }
    } catch (WakeupException e) {
      if (running.get()) {
        fail(e);
      }
    } catch (FatalWorkerException e) {
      fail(e.getCause() == null ? e : e.getCause());
    } catch (RuntimeException | Error e) {
      fail(e);
    } finally {
      running.set(false);
      subscribed.countDown();
      shutdown();
    }
  }

  private ConsumerRecords<String, byte[]> poll() {
    try {
      return consumer.poll(settings.pollTimeout());
    } catch (WakeupException e) {
      throw e;
    } catch (AuthorizationException | AuthenticationException | UnsupportedVersionException e) {
      throw new FatalWorkerException("consumer cannot continue", e);
    } catch (KafkaException e) {
      transientFailure("poll", e);
      return null;
    }
  }

  /**
   * Handles one poll's records in one or more transactions: a transaction is committed once its
   * records took {@link WorkerSettings#commitInterval()} (so slow handlers publish each result
   * promptly and fast ones amortise the commit over many records); handling stops after
   * {@link WorkerSettings#batchTimeBudget()} or a stop request, and what was not handled is read
   * again.
   */
  private void processBatch(ConsumerRecords<String, byte[]> records) {
    long deadline = System.nanoTime() + settings.batchTimeBudget().toNanos();
    long interval = settings.commitInterval().toNanos();
    List<ConsumerRecord<String, byte[]>> all = new ArrayList<>(records.count());
    records.forEach(all::add);
    Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
    int next = 0;
    while (next < all.size()) {
      if (!running.get() || System.nanoTime() > deadline) {
        log.info("{}: {} of {} polled records left for the next poll ({})", settings.agentId(),
            all.size() - next, all.size(), running.get() ? "batch time budget spent" : "stopping");
        seekPastCommitted(records, done);
        return;
      }
      long chunkStart = System.nanoTime();
      List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      int handled = 0;
      int dlq = 0;
      while (next < all.size() && (handled == 0
          || (running.get() && System.nanoTime() - chunkStart < interval))) {
        ConsumerRecord<String, byte[]> record = all.get(next);
        transition(AgentState.BUSY, record.key());
        Processed produced;
        try {
          produced = process(record);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          log.info("{}: interrupted while handling; transaction not committed",
              settings.agentId());
          running.set(false);
          rewind(records);
          return;
        } catch (TransientRecordException e) {
          transientFailure("registry access", e.getCause());
          rewind(records);
          return;
        }
        if (produced.poison()) {
          dlq++;
        }
        out.addAll(produced.records());
        offsets.put(new TopicPartition(record.topic(), record.partition()),
            new OffsetAndMetadata(record.offset() + 1));
        handled++;
        next++;
      }
      if (!commit(out, offsets, records)) {
        return; // aborted and rewound to the committed offsets
      }
      consecutiveFailures = 0;
      committedRecords += handled;
      dlqRecords += dlq;
      done.putAll(offsets);
      if (status != null) {
        status.recordProcessed(handled);
      }
    }
  }

  /** Outputs of one record, or its DLQ record. */
  private Processed process(ConsumerRecord<String, byte[]> record) throws InterruptedException {
    V value;
    try {
      value = deserializer.deserialize(record.topic(), record.headers(), record.value());
      if (value == null) {
        throw new SerializationException("null value (tombstone) where a record was expected");
      }
    } catch (RuntimeException e) {
      if (isTransient(e)) {
        throw new TransientRecordException(e);
      }
      log.warn("{}: {}-{}@{} does not deserialize, to the DLQ: {}", settings.agentId(),
          record.topic(), record.partition(), record.offset(), e.toString());
      return Processed.poison(dlqRecord(record, e, STAGE_DESERIALIZE));
    }
    List<Outgoing> outputs;
    try {
      outputs = handler.handle(record.key(), value);
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      log.warn("{}: handler failed on {}-{}@{} (key {}), to the DLQ: {}", settings.agentId(),
          record.topic(), record.partition(), record.offset(), record.key(), e.toString());
      return Processed.poison(dlqRecord(record, e, STAGE_HANDLE));
    }
    if (outputs == null || outputs.isEmpty()) {
      return new Processed(List.of(), false);
    }
    List<ProducerRecord<String, byte[]>> produced = new ArrayList<>(outputs.size());
    for (Outgoing o : outputs) {
      try {
        produced.add(new ProducerRecord<>(o.topic(), o.key(), serializer.serialize(o.topic(),
            o.value())));
      } catch (RuntimeException e) {
        if (isTransient(e)) {
          throw new TransientRecordException(e);
        }
        log.warn("{}: output of {}-{}@{} does not serialize, input to the DLQ: {}",
            settings.agentId(), record.topic(), record.partition(), record.offset(), e.toString());
        return Processed.poison(dlqRecord(record, e, STAGE_SERIALIZE_OUTPUT));
      }
    }
    return new Processed(produced, false);
  }

  /** Writes one batch's effects atomically; false when the batch must be consumed again. */
  private boolean commit(List<ProducerRecord<String, byte[]>> out,
      Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerRecords<String, byte[]> records) {
    try {
      producer.beginTransaction();
      for (ProducerRecord<String, byte[]> record : out) {
        producer.send(record);
      }
      producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
      producer.commitTransaction();
      return true;
    } catch (AuthorizationException | AuthenticationException | UnsupportedVersionException e) {
      closeProducer();
      throw new FatalWorkerException("producer cannot continue", e);
    } catch (ProducerFencedException | OutOfOrderSequenceException
        | InvalidProducerEpochException e) {
      log.warn("{}: producer fenced or failed fatally ({}); replacing it and retrying the batch",
          settings.agentId(), e.toString());
      replaceProducer(e);
      rewind(records);
      return false;
    } catch (KafkaException e) {
      log.warn("{}: transaction failed ({}); aborting and retrying the batch",
          settings.agentId(), e.toString());
      abort();
      rewind(records);
      transientFailure("transaction", e);
      return false;
    }
  }

  private void abort() {
    try {
      producer.abortTransaction();
    } catch (KafkaException e) {
      // A producer that cannot even abort (fatal state, timed-out commit) is replaced; its
      // successor's initTransactions() resolves the pending transaction on the coordinator.
      log.warn("{}: abort failed ({}); replacing the producer", settings.agentId(), e.toString());
      replaceProducer(e);
    }
  }

  private void replaceProducer(KafkaException cause) {
    closeProducer();
    if (++producerRecreations > settings.maxProducerRecreations()) {
      throw new FatalWorkerException(
          "producer replaced " + settings.maxProducerRecreations() + " times already", cause);
    }
    producer = newProducer();
  }

  private Producer<String, byte[]> newProducer() {
    Producer<String, byte[]> created = producerFactory.get();
    try {
      created.initTransactions();
    } catch (RuntimeException e) {
      created.close(Duration.ZERO);
      throw new FatalWorkerException("initTransactions failed", e);
    }
    return created;
  }

  private void closeProducer() {
    if (producer == null) {
      return;
    }
    try {
      producer.close(Duration.ZERO);
    } catch (RuntimeException e) {
      log.debug("{}: closing producer: {}", settings.agentId(), e.toString());
    }
    producer = null;
  }

  /**
   * Seeks the batch's (still assigned) partitions back to their last committed offsets; a
   * partition with no committed offset goes back to the first offset of the batch.
   */
  private void rewind(ConsumerRecords<String, byte[]> records) {
    Set<TopicPartition> partitions = new HashSet<>(records.partitions());
    partitions.retainAll(consumer.assignment());
    if (partitions.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> committed = Map.of();
    try {
      committed = consumer.committed(partitions, Duration.ofSeconds(30));
    } catch (WakeupException e) {
      if (running.get()) {
        throw e;
      }
    } catch (KafkaException e) {
      log.warn("{}: cannot read committed offsets ({}); rewinding to the batch start",
          settings.agentId(), e.toString());
    }
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata c = committed == null ? null : committed.get(tp);
      long offset = c != null ? c.offset() : records.records(tp).get(0).offset();
      consumer.seek(tp, offset);
    }
  }

  /** After an early commit, the records of the batch that were not handled are read again. */
  private void seekPastCommitted(ConsumerRecords<String, byte[]> records,
      Map<TopicPartition, OffsetAndMetadata> offsets) {
    Set<TopicPartition> assigned = consumer.assignment();
    for (TopicPartition tp : records.partitions()) {
      if (!assigned.contains(tp)) {
        continue;
      }
      OffsetAndMetadata done = offsets.get(tp);
      consumer.seek(tp, done != null ? done.offset() : records.records(tp).get(0).offset());
    }
  }

  private ProducerRecord<String, byte[]> dlqRecord(ConsumerRecord<String, byte[]> record,
      Throwable error, String stage) {
    Headers headers = new RecordHeaders(record.headers().toArray());
    put(headers, DlqHeaders.TOPIC, record.topic());
    put(headers, DlqHeaders.PARTITION, String.valueOf(record.partition()));
    put(headers, DlqHeaders.OFFSET, String.valueOf(record.offset()));
    put(headers, DlqHeaders.EXCEPTION_CLASS, error.getClass().getName());
    put(headers, DlqHeaders.EXCEPTION_MESSAGE, describe(error));
    put(headers, DlqHeaders.STAGE, stage);
    put(headers, DlqHeaders.AGENT_ID, settings.agentId());
    return new ProducerRecord<>(settings.dlqTopic(), null, record.key(), record.value(), headers);
  }

  /** The message with its causes, bounded: what a person needs to see why the record failed. */
  static String describe(Throwable error) {
    StringBuilder text = new StringBuilder(String.valueOf(error.getMessage()));
    Throwable cause = error.getCause();
    int depth = 0;
    while (cause != null && cause != error && depth++ < 5) {
      text.append("; caused by ").append(cause.getClass().getName()).append(": ")
          .append(cause.getMessage());
      cause = cause.getCause();
    }
    return text.length() > MAX_HEADER_MESSAGE ? text.substring(0, MAX_HEADER_MESSAGE) : text
        .toString();
  }

  private static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * True for a failure that says nothing about the record: the registry or broker could not be
   * reached or timed out (plain {@link IOException}s of the registry client, socket and HTTP
   * timeouts, Kafka retriable errors). Such a batch is retried (bounded) instead of DLQ'd.
   * Truncated or corrupt bytes ({@link java.io.EOFException}, Avro errors) are not transient.
   */
  static boolean isTransient(Throwable e) {
    int depth = 0;
    for (Throwable t = e; t != null && depth++ < 10; t = t.getCause()) {
      if (t instanceof java.net.SocketException || t instanceof java.net.SocketTimeoutException
          || t instanceof java.net.UnknownHostException
          || t instanceof java.net.http.HttpTimeoutException
          || t instanceof org.apache.kafka.common.errors.RetriableException
          || t.getClass() == IOException.class) {
        return true;
      }
    }
    return false;
  }

  private void transientFailure(String what, Throwable e) {
    consecutiveFailures++;
    if (consecutiveFailures > settings.maxConsecutiveFailures()) {
      throw new FatalWorkerException(what + " failed " + consecutiveFailures + " times in a row",
          e);
    }
    long delay = Math.min(settings.maxBackoff().toMillis(),
        settings.initialBackoff().toMillis() << Math.min(consecutiveFailures - 1, 20));
    log.warn("{}: {} failed ({} of {}), retrying in {} ms: {}", settings.agentId(), what,
        consecutiveFailures, settings.maxConsecutiveFailures(), delay, e.toString());
    try {
      // A retry delay, not synchronisation: wait before trying the broker/registry again.
      Thread.sleep(delay);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      running.set(false);
    }
  }

  private void transition(AgentState state, String taskId) {
    if (status != null) {
      status.transition(state, taskId);
    }
  }

  private void fail(Throwable e) {
    failure = e;
    log.error("{}: worker failed and stops", settings.agentId(), e);
  }

  private void shutdown() {
    transition(AgentState.STOPPING, null);
    if (producer != null) {
      try {
        producer.close(CLOSE_TIMEOUT);
      } catch (RuntimeException e) {
        log.warn("{}: closing producer: {}", settings.agentId(), e.toString());
      }
    }
    try {
      consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(CLOSE_TIMEOUT));
    } catch (RuntimeException e) {
      log.warn("{}: closing consumer: {}", settings.agentId(), e.toString());
    }
    transition(failure == null ? AgentState.STOPPED : AgentState.FAILED, null);
    if (status != null) {
      status.close();
    }
    log.info("{}: stopped after committing {} records ({} to the DLQ)", settings.agentId(),
        committedRecords, dlqRecords);
    stopped.countDown();
  }

  /** What one input record turned into: its outputs, or its DLQ record. */
  private record Processed(List<ProducerRecord<String, byte[]>> records, boolean poison) {
    static Processed poison(ProducerRecord<String, byte[]> dlq) {
      return new Processed(List.of(dlq), true);
    }
  }

  /** Stops the loop; the cause says why. */
  private static final class FatalWorkerException extends RuntimeException {
    FatalWorkerException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final class TransientRecordException extends RuntimeException {
    TransientRecordException(Throwable cause) {
      super(cause);
    }
  }

  private final class LoggingRebalanceListener implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Every batch is committed or aborted before the next poll, so nothing is in flight here.
      if (!partitions.isEmpty()) {
        log.info("{}: partitions revoked {}", settings.agentId(), partitions);
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty()) {
        log.info("{}: partitions assigned {}", settings.agentId(), partitions);
      }
    }
  }
}
