package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * N instances of one worker role, each on its own thread with its own consumer, transactional
 * producer, agent id and status reporter, all in the role's consumer group (Kafka spreads the
 * partitions). {@link #close()} stops them all: each commits or aborts its batch, leaves the
 * group and closes its clients. Closing twice is harmless.
 */
public final class WorkerGroup implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerGroup.class);

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

  private final String role;
  private final CloseOnce closeOnce;
  private final List<TransactionalWorker<?>> workers;
  private final List<Thread> threads;
  private final List<AutoCloseable> resources;

  private WorkerGroup(String role) {
    this.role = role;
    this.closeOnce = new CloseOnce(role);
    // Filled while starting (same thread), read-only afterwards.
    this.workers = new ArrayList<>();
    this.threads = new ArrayList<>();
    this.resources = new ArrayList<>();
  }

  /**
   * Starts {@code instances} workers of {@code spec} against {@code endpoints} and returns once
   * each has subscribed (or failed trying).
   */
  public static <V extends SpecificRecord> WorkerGroup start(Endpoints endpoints,
      WorkerSpec<V> spec, int instances, Map<String, ?> serdeConfig) {
    if (instances < 1) {
      throw new IllegalArgumentException("instances must be >= 1, was " + instances);
    }
    WorkerGroup group = new WorkerGroup(spec.role());
    List<TransactionalWorker<?>> workers = group.workers;
    List<Thread> threads = group.threads;
    List<AutoCloseable> resources = group.resources;
    RegistryOutputSerializer serializer = new RegistryOutputSerializer(serdeConfig);
    resources.add(serializer);
    String host = AgentIds.host();
    try {
      for (int i = 0; i < instances; i++) {
        String agentId = AgentIds.newAgentId(spec.role());
        WorkerSettings settings = WorkerSettings.defaults(spec.role(), agentId,
            List.of(spec.inputTopic()), endpoints.topics().dlq().name());
        RecordHandler<V> handler = spec.handlerFactory().apply(agentId);
        if (handler instanceof AutoCloseable closeable) {
          resources.add(0, closeable);
        }
        Deserializer<V> deserializer =
            FractalSerdes.value(spec.valueType(), serdeConfig).deserializer();
        resources.add(deserializer);
        Consumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClientConfigs.workerConsumer(
            endpoints.bootstrapServers(), spec.groupId(), agentId, spec.consumerOverrides()));
        Map<String, Object> producerConfig = KafkaClientConfigs.transactionalProducer(
            endpoints.bootstrapServers(), settings.transactionalId(), spec.producerOverrides());
        AgentStatusReporter status = new AgentStatusReporter(
            new KafkaProducer<>(KafkaClientConfigs.plainProducer(endpoints.bootstrapServers(),
                agentId + "-status")),
            serializer, endpoints.topics().agentStatus().name(), agentId, spec.agentType(), host,
            spec.heartbeatInterval(), Clock.systemUTC());
        TransactionalWorker<V> worker = new TransactionalWorker<>(settings, consumer,
            () -> new KafkaProducer<>(producerConfig), deserializer, handler, serializer, status);
        Thread thread = new Thread(worker, agentId);
        thread.setUncaughtExceptionHandler((t, e) ->
            LOG.error("worker thread {} died", t.getName(), e));
        workers.add(worker);
        threads.add(thread);
        thread.start();
      }
      for (TransactionalWorker<?> worker : workers) {
        if (!worker.awaitSubscribed(Duration.ofSeconds(60))) {
          throw new IllegalStateException(worker.agentId() + " did not start within 60 s");
        }
        if (worker.failure() != null) {
          throw new IllegalStateException(worker.agentId() + " failed to start",
              worker.failure());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      group.close();
      throw new IllegalStateException("interrupted while starting " + spec.role(), e);
    } catch (RuntimeException e) {
      group.close();
      throw e;
    }
    LOG.info("{}: {} instance(s) running in group {} on {}", spec.role(), instances,
        spec.groupId(), spec.inputTopic());
    return group;
  }

  public String role() {
    return role;
  }

  public List<TransactionalWorker<?>> workers() {
    return List.copyOf(workers);
  }

  /** True while every instance is still running. */
  public boolean healthy() {
    return !workers.isEmpty() && workers.stream().allMatch(TransactionalWorker::isRunning);
  }

  /** Registers a JVM shutdown hook (SIGTERM) that closes this group; returns this. */
  public WorkerGroup closeOnShutdown() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::close, role + "-shutdown"));
    return this;
  }

  @Override
  public void close() {
    closeOnce.close(this::doClose);
  }

  private void doClose() {
    workers.forEach(TransactionalWorker::wakeup);
    for (int i = 0; i < workers.size(); i++) {
      TransactionalWorker<?> worker = workers.get(i);
      try {
        if (!worker.awaitStopped(STOP_TIMEOUT)) {
          LOG.warn("{} did not stop within {}; interrupting it", worker.agentId(), STOP_TIMEOUT);
          threads.get(i).interrupt();
          worker.awaitStopped(Duration.ofSeconds(10));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (AutoCloseable resource : resources) {
      try {
        resource.close();
      } catch (Exception e) {
        LOG.warn("{}: closing {}: {}", role, resource, e.toString());
      }
    }
    LOG.info("{}: stopped", role);
  }
}
