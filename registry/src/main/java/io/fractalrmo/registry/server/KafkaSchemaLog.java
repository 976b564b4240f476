package io.fractalrmo.registry.server;

import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.runtime.ConsumeLoop;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.RetryPolicy;
import io.fractalrmo.runtime.TopicReader;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's records in a compacted, single-partition Kafka topic ({@code _schemas} by
 * default), read from the start at startup and tailed afterwards.
 *
 * <p><b>How several instances agree on ids.</b> Every instance writes through a transactional
 * producer with the <em>same</em> {@code transactional.id} (derived from the topic name). Kafka
 * allows one live producer per transactional id: initialising one fences the previous holder, and
 * a fenced producer's next send or commit fails. A write goes: (1) hold a producer that has
 * called {@code initTransactions()} (its initialisation waits until any transaction of an
 * earlier holder is completed), (2) read the topic up to its last stable offset
 * ({@code read_committed}), (3) decide on that complete state — reuse the id of an identical
 * schema or take max id + 1, next version — (4) write and commit in one transaction, (5) read up to
 * the write. If another instance took the producer between (1) and (4), the commit fails and the
 * write is decided again from the state that now includes the other's records. So a commit
 * succeeds only if no other instance committed since this writer last read the log: ids can
 * never collide, and the same canonical schema always gets one id. Registrations are rare, so
 * moving the "lease" between instances on contention costs nothing that matters.
 */
final class KafkaSchemaLog implements SchemaLog {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaSchemaLog.class);
  /** How long the reader retries a broker outage before it fails (the registry then says so). */
  static final Duration READER_RETRY_TIMEOUT = Duration.ofMinutes(5);

  private final String bootstrapServers;
  private final String topic;
  private final TopicPartition partition;
  private final Map<String, Object> clientProps;
  private final Duration timeout;
  private final Object appliedLock = new Object();
  private final Object writeLock = new Object();

  private Admin admin;
  private KafkaConsumer<String, String> consumer;
  private KafkaProducer<String, String> producer;
  private ConsumeLoop<String, String> reader;
  private long appliedUpTo = -1;

  KafkaSchemaLog(String bootstrapServers, String topic, Map<String, Object> clientProps, Duration timeout) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.partition = new TopicPartition(topic, 0);
    this.clientProps = Map.copyOf(clientProps);
    this.timeout = timeout;
  }

  @Override
  public void start(BiConsumer<String, String> applier) {
    Map<String, Object> adminProps = new HashMap<>(clientProps);
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    adminProps.put(AdminClientConfig.CLIENT_ID_CONFIG, "schema-registry-admin");
    admin = Admin.create(adminProps);
    ensureTopic();

    Map<String, Object> c = new HashMap<>(clientProps);
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "schema-registry-reader");
    // fetch.max.wait.ms stays Kafka's 500 ms: a parked read_committed fetch is answered when a
    // commit marker moves the last stable offset (4.3 broker, measured: commit -> visible p50
    // 19 ms, max 250 ms, under load 36). At 20 ms this idle reader sent 50 fetches a second, the
    // largest share of an idle stack's broker requests.
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    consumer = new KafkaConsumer<>(c);
    // The one consume-loop skeleton: a record the applier cannot read is skipped and logged (it
    // may be another tool's, or a future format: it must not stop the registry); a broker outage
    // is retried with backoff for up to READER_RETRY_TIMEOUT, then the reader fails and writes
    // and catch-up waits say why.
    TopicReader<String, String> tail = new TopicReader<>(r -> {
      if (r.key() != null) {
        applier.accept(r.key(), r.value());
      }
    }, null, positions -> {
      Long position = positions.get(partition);
      if (position != null) {
        synchronized (appliedLock) {
          appliedUpTo = position;
          appliedLock.notifyAll();
        }
      }
    });
    reader = ConsumeLoop.builder("schema-registry-reader-" + topic, consumer, tail)
        .assign(ignored -> List.of(partition))
        .pollTimeout(Duration.ofMillis(200))
        .retry(RetryPolicy.defaults().withTimeout(READER_RETRY_TIMEOUT))
        .build();
    reader.healthState().onChange(h -> {
      synchronized (appliedLock) {
        appliedLock.notifyAll(); // a reader that failed ends the waits at once
      }
    });
    reader.start();
    awaitCaughtUp();
  }

  private void ensureTopic() {
    try {
      Map<String, TopicDescription> existing;
      try {
        existing = admin.describeTopics(List.of(topic)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
          throw e;
        }
        existing = Map.of();
      }
      if (existing.containsKey(topic)) {
        int partitions = existing.get(topic).partitions().size();
        if (partitions != 1) {
          throw new IllegalStateException("schema topic " + topic + " has " + partitions
              + " partitions; the registry needs exactly 1 (its records must be totally ordered)");
        }
        return;
      }
      Collection<?> nodes = admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      short rf = (short) Math.min(3, Math.max(1, nodes.size()));
      NewTopic nt = new NewTopic(topic, 1, rf).configs(Map.of(
          "cleanup.policy", "compact",
          "min.insync.replicas", String.valueOf(Math.max(1, rf - 1))));
      try {
        admin.createTopics(List.of(nt)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("created schema topic {} (1 partition, replication factor {}, compacted)", topic, rf);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RegistryException.storeError("interrupted while creating " + topic, e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw RegistryException.storeError("cannot create or describe schema topic " + topic + ": "
          + (e.getCause() != null ? e.getCause() : e), e);
    }
  }

  @Override
  public void awaitCaughtUp() {
    long deadline = System.nanoTime() + timeout.toNanos();
    long target;
    while (true) {
      try {
        target = admin.listOffsets(Map.of(partition, OffsetSpec.latest()),
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
            .partitionResult(partition)
            .get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())), TimeUnit.MILLISECONDS)
            .offset();
        break;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw RegistryException.storeError("interrupted", e);
      } catch (ExecutionException e) {
        // A topic just created may not be in every broker's metadata yet: retriable, retry.
        if (e.getCause() instanceof org.apache.kafka.common.errors.RetriableException
            && System.nanoTime() < deadline) {
          try {
            Thread.sleep(50); // back-off between metadata retries
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw RegistryException.storeError("interrupted", ie);
          }
          continue;
        }
        throw RegistryException.storeError("cannot read the end offset of " + topic + ": " + e.getCause(), e);
      } catch (java.util.concurrent.TimeoutException e) {
        throw RegistryException.storeError("timed out reading the end offset of " + topic, e);
      }
    }
    synchronized (appliedLock) {
      while (appliedUpTo < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !reader.isRunning()) {
          throw RegistryException.storeError("timed out reading " + topic + " up to offset " + target
              + " (at " + appliedUpTo + ")" + readerState(), reader.failure());
        }
        try {
          appliedLock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw RegistryException.storeError("interrupted", e);
        }
      }
    }
  }

  /** What the reader is doing when it is not simply running, for error messages. */
  private String readerState() {
    HealthState.Snapshot h = reader.health();
    return h.health() == AgentHealth.RUNNING ? "" : "; reader " + h;
  }

  /** Waits until the reader has applied the record at {@code offset}. */
  private void awaitApplied(long offset) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (appliedLock) {
      while (appliedUpTo <= offset) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !reader.isRunning()) {
          throw RegistryException.storeError("timed out reading back offset " + offset + " of " + topic
              + readerState(), reader.failure());
        }
        try {
          appliedLock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw RegistryException.storeError("interrupted", e);
        }
      }
    }
  }

  @Override
  public <R> R writeExclusive(Supplier<Decision<R>> decide) {
    synchronized (writeLock) {
      RuntimeException last = null;
      long deadline = System.nanoTime() + timeout.toNanos();
      for (int attempt = 1; attempt == 1 || System.nanoTime() < deadline; attempt++) {
        boolean inTransaction = false;
        try {
          if (producer == null) {
            producer = newProducer();
          }
          awaitCaughtUp();
          Decision<R> d = decide.get();
          if (d.entries().isEmpty()) {
            return d.result();
          }
          producer.beginTransaction();
          inTransaction = true;
          java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> lastSent = null;
          for (Entry e : d.entries()) {
            lastSent = producer.send(new ProducerRecord<>(topic, 0, e.key(), e.value()));
          }
          producer.commitTransaction();
          inTransaction = false;
          // commitTransaction() returns before the commit marker is written, so the last stable
          // offset may not cover our records yet: wait for the reader to pass them instead.
          awaitApplied(lastSent.get().offset());
          return d.result();
        } catch (RegistryException e) {
          if (e.status < 500) {
            abortQuietly(inTransaction);
            throw e;
          }
          last = e;
          dropProducer(inTransaction);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw RegistryException.storeError("interrupted while writing to " + topic, e);
        } catch (ExecutionException e) {
          last = new KafkaException(e.getCause());
          dropProducer(inTransaction);
        } catch (KafkaException e) {
          // Fenced by another instance, or the broker failed: decide again on fresh state.
          LOG.info("schema write attempt {} did not commit ({}), deciding again", attempt, e.toString());
          last = e;
          dropProducer(inTransaction);
        }
        try {
          // Jittered, growing back-off before taking the writer role again, so that the instance
          // holding it has time to finish its write instead of being fenced in turn.
          Thread.sleep(ThreadLocalRandom.current().nextLong(10, 50) * Math.min(attempt, 8));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      throw RegistryException.storeError("could not write to " + topic + " within " + timeout + ": " + last, last);
    }
  }

  private KafkaProducer<String, String> newProducer() {
    Map<String, Object> p = new HashMap<>(clientProps);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "fractal-schema-registry-writer-" + topic);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "schema-registry-writer");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout.toMillis());
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Math.max(10_000, timeout.toMillis()));
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    KafkaProducer<String, String> created = new KafkaProducer<>(p);
    try {
      created.initTransactions();
    } catch (RuntimeException e) {
      created.close(Duration.ZERO);
      throw e;
    }
    return created;
  }

  private void abortQuietly(boolean inTransaction) {
    if (inTransaction && producer != null) {
      try {
        producer.abortTransaction();
      } catch (RuntimeException e) {
        dropProducer(false);
      }
    }
  }

  private void dropProducer(boolean inTransaction) {
    if (producer != null) {
      try {
        producer.close(Duration.ZERO);
      } catch (RuntimeException ignored) {
        // already broken; a new one is made on the next attempt
      }
      producer = null;
    }
  }

  @Override
  public void close() {
    if (reader != null) {
      reader.stop(); // the loop closes the consumer
      try {
        reader.awaitStopped(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (writeLock) {
      if (producer != null) {
        producer.close(Duration.ofSeconds(2));
        producer = null;
      }
    }
    if (admin != null) {
      admin.close(Duration.ofSeconds(2));
    }
  }
}
