package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.AgentStatusReporter;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.RecordSizes;
import io.fractalrmo.runtime.SlotLease;
import io.fractalrmo.runtime.Supervised;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * N instances of one worker role, each on its own thread with its own consumer, transactional
 * producer, agent id, handler slots and status reporter, all in the role's consumer group (Kafka
 * spreads the partitions). Each instance holds a {@link SlotLease} of this host for its group:
 * its agent id {@code <role>-<host>-<slot>} is its static {@code group.instance.id} and, prefixed
 * with the group, its {@code transactional.id} — so an instance restarted after a crash rejoins
 * without a rebalance and fences its predecessor's transaction at once. {@link #close()} stops
 * them all: each finishes (within its stop grace) or cuts off its work in hand, commits what is
 * finished, leaves the group and closes its clients. Closing twice is harmless.
 */
public final class WorkerGroup implements AutoCloseable, Supervised {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerGroup.class);

  /** A stopping worker finishes within its grace + one commit + closing its clients. */
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);

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
    List<AutoCloseable> resources = group.resources;
    RegistryOutputSerializer serializer = new RegistryOutputSerializer(serdeConfig);
    resources.add(serializer);
    String host = AgentIds.host();
    try {
      Map<String, Object> adminConfig = new HashMap<>();
      adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
      adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, spec.role() + "-limits");
      Admin admin = Admin.create(adminConfig);
      resources.add(() -> admin.close(Duration.ofSeconds(2)));
      Object maxRequest = spec.producerOverrides().get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
      TopicLimits limits = TopicLimits.fromBrokers(admin, maxRequest == null
          ? RecordSizes.DEFAULT_MAX_REQUEST_SIZE : Integer.parseInt(maxRequest.toString()));
      for (int i = 0; i < instances; i++) {
        String agentId;
        if (spec.instanceId().isPresent()) {
          agentId = instances == 1 ? spec.instanceId().get() : spec.instanceId().get() + "-" + i;
        } else {
          SlotLease lease = SlotLease.acquire(SlotLease.defaultDirectory(), spec.groupId());
          resources.add(lease);
          agentId = AgentIds.slotAgentId(spec.role(), lease.slot());
        }
        WorkerSettings settings = spec.tuning().apply(WorkerSettings.defaults(spec.role(),
                agentId, List.of(spec.inputTopic()), endpoints.topics().dlq().name()))
            .withTransactionalId(spec.groupId() + "-" + agentId);
        Map<String, Object> consumerOverrides = new HashMap<>();
        consumerOverrides.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, agentId);
        consumerOverrides.putAll(spec.consumerOverrides());
        Consumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClientConfigs.workerConsumer(
            endpoints.bootstrapServers(), spec.groupId(), agentId, consumerOverrides));
        Map<String, Object> producerConfig = KafkaClientConfigs.transactionalProducer(
            endpoints.bootstrapServers(), settings.transactionalId(), spec.producerOverrides());
        AgentStatusReporter status = new AgentStatusReporter(
            new KafkaProducer<>(KafkaClientConfigs.plainProducer(endpoints.bootstrapServers(),
                agentId + "-status")),
            serializer::serialize, endpoints.topics().agentStatus().name(), agentId,
            spec.agentType(), host,
            spec.heartbeatInterval(), Clock.systemUTC());
        String id = agentId;
        TransactionalWorker<V> worker = TransactionalWorker.<V>builder(settings, consumer,
                () -> new KafkaProducer<>(producerConfig), serializer)
            .handlers(() -> {
              RecordHandler<V> handler = spec.handlerFactory().apply(id);
              if (handler instanceof AutoCloseable closeable) {
                resources.add(0, closeable);
              }
              return handler;
            })
            .deserializers(() -> {
              Deserializer<V> d = FractalSerdes.value(spec.valueType(), serdeConfig)
                  .deserializer();
              resources.add(d);
              return d;
            })
            .status(status)
            .limits(limits)
            .orphanFencer(OrphanFencer.of(admin, spec.groupId(), agentId,
                instance -> spec.groupId() + "-" + instance,
                txId -> KafkaClientConfigs.transactionalProducer(endpoints.bootstrapServers(),
                    txId, spec.producerOverrides())))
            .supervise(spec.supervised())
            .build();
        Thread thread = new Thread(worker, agentId);
        thread.setUncaughtExceptionHandler((t, e) ->
            LOG.error("worker thread {} died", t.getName(), e));
        group.workers.add(worker);
        group.threads.add(thread);
        thread.start();
      }
      for (TransactionalWorker<?> worker : group.workers) {
        if (!worker.awaitSubscribed(Duration.ofSeconds(60))) {
          if (worker.failure() != null) {
            throw new IllegalStateException(worker.agentId() + " failed to start: "
                + worker.failure(), worker.failure());
          }
          throw new IllegalStateException(worker.agentId() + " did not start within 60 s");
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
    LOG.info("{}: {} instance(s) x {} slot(s) running in group {} on {}", spec.role(), instances,
        group.workers.get(0).settings().concurrency(), spec.groupId(), spec.inputTopic());
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

  @Override
  public String name() {
    return "worker group " + role;
  }

  /** The worst of the instances' health (FAILED as soon as one failed). */
  @Override
  public HealthState.Snapshot health() {
    HealthState.Snapshot worst = null;
    for (TransactionalWorker<?> w : workers) {
      HealthState.Snapshot h = w.health();
      if (worst == null || rank(h.health()) > rank(worst.health())) {
        worst = h;
      }
    }
    return worst == null ? new HealthState().get() : worst;
  }

  @Override
  public Throwable failure() {
    for (TransactionalWorker<?> w : workers) {
      if (w.failure() != null) {
        return w.failure();
      }
    }
    return null;
  }

  static int rank(AgentHealth h) {
    return switch (h) {
      case FAILED -> 5;
      case DEGRADED -> 4;
      case STARTING -> 3;
      case STOPPED -> 2;
      case RUNNING -> 1;
      default -> 0;
    };
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
          worker.awaitStopped(Duration.ofSeconds(5));
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
