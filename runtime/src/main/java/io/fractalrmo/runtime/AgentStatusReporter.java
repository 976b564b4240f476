package io.fractalrmo.runtime;

import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes one agent instance's {@link AgentStatus} to {@code fractal.agent-status}, keyed by
 * agent id: every change of state (IDLE, BUSY, ...) or health (RUNNING, DEGRADED with why, ...)
 * at once, and a heartbeat with the current state every interval (also while a slow handler
 * runs). Any long-running consumer reports through it (a worker, the sink): wire its
 * {@link ConsumeLoop#healthState()} to {@link #health}. Uses its own non-transactional producer: a status is a fact about the
 * agent, not part of any consume-produce transaction. Publishing never throws into the worker.
 */
public final class AgentStatusReporter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AgentStatusReporter.class);

  private final Producer<String, byte[]> producer;
  private final BiFunction<String, AgentStatus, byte[]> serializer;
  private final String topic;
  private final String agentId;
  private final String agentType;
  private final String host;
  private final Duration heartbeatInterval;
  private final Clock clock;
  private final AtomicLong processed = new AtomicLong();
  private final Object lock = new Object();
  private ScheduledExecutorService heartbeats;
  private AgentState state = AgentState.STARTING;
  private AgentHealth health = AgentHealth.STARTING;
  private String healthReason;
  private String taskId;
  private boolean published;
  private boolean closed;

  /**
   * @param serializer turns a status into the bytes of the topic (the registry's Avro serde)
   */
  public AgentStatusReporter(Producer<String, byte[]> producer,
      BiFunction<String, AgentStatus, byte[]> serializer,
      String topic, String agentId, String agentType, String host, Duration heartbeatInterval,
      Clock clock) {
    this.producer = Objects.requireNonNull(producer, "producer");
    this.serializer = Objects.requireNonNull(serializer, "serializer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.agentId = Objects.requireNonNull(agentId, "agentId");
    this.agentType = Objects.requireNonNull(agentType, "agentType");
    this.host = host;
    this.heartbeatInterval = Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public String agentId() {
    return agentId;
  }

  /** Publishes STARTING and starts the heartbeat timer (a zero interval means no heartbeats). */
  public void start() {
    synchronized (lock) {
      publish(null);
      if (!heartbeatInterval.isZero() && !heartbeatInterval.isNegative() && heartbeats == null) {
        heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "agent-status-" + agentId);
          t.setDaemon(true);
          return t;
        });
        long ms = heartbeatInterval.toMillis();
        heartbeats.scheduleAtFixedRate(this::heartbeat, ms, ms, TimeUnit.MILLISECONDS);
      }
    }
  }

  /** Moves to {@code next} (publishing the change) unless already there. */
  public void transition(AgentState next, String currentTaskId) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      taskId = currentTaskId;
      if (next == state && published) {
        return;
      }
      AgentState old = state;
      state = next;
      publish(old);
      if (next != AgentState.BUSY) {
        LOG.info("agent {} is {}", agentId, next);
      }
    }
  }

  /** The instance's health changed: publish it (with the current state) unless closed. */
  public void health(HealthState.Snapshot snapshot) {
    synchronized (lock) {
      if (closed || (snapshot.health() == health
          && java.util.Objects.equals(snapshot.reason(), healthReason))) {
        return;
      }
      health = snapshot.health();
      healthReason = snapshot.reason();
      publish(null);
      if (health != AgentHealth.RUNNING) {
        LOG.info("agent {} health {}", agentId, snapshot);
      }
    }
  }

  public AgentHealth healthState() {
    synchronized (lock) {
      return health;
    }
  }

  public void recordProcessed(long count) {
    processed.addAndGet(count);
  }

  public long processed() {
    return processed.get();
  }

  public AgentState state() {
    synchronized (lock) {
      return state;
    }
  }

  void heartbeat() {
    synchronized (lock) {
      if (!closed) {
        publish(null);
      }
    }
  }

  private void publish(AgentState old) {
    published = true;
    try {
      AgentStatus status = AgentStatus.newBuilder()
          .setAgentId(agentId)
          .setAgentType(agentType)
          .setOldState(old)
          .setNewState(state)
          .setTaskId(taskId)
          .setProgress(null)
          .setProcessed(processed.get())
          .setHost(host)
          .setHealth(health)
          .setHealthReason(healthReason)
          .setUpdatedAt(clock.instant())
          .build();
      producer.send(new ProducerRecord<>(topic, agentId, serializer.apply(topic, status)),
          (metadata, e) -> {
            if (e != null) {
              LOG.warn("agent {}: status not published: {}", agentId, e.toString());
            }
          });
    } catch (RuntimeException e) {
      LOG.warn("agent {}: status not published: {}", agentId, e.toString());
    }
  }

  /** Stops heartbeats, flushes what was published and closes the producer. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (heartbeats != null) {
        heartbeats.shutdownNow();
      }
    }
    try {
      producer.flush();
    } catch (RuntimeException e) {
      LOG.warn("agent {}: status flush failed: {}", agentId, e.toString());
    }
    producer.close(Duration.ofSeconds(5));
  }
}
