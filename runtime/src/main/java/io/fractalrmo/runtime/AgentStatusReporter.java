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
 *
 * <p>The IDLE↔BUSY flip of a worker handling record after record is published at most once per
 * {@link #FLIP_SPACING}: the first flip after a quiet spell at once, later ones together at the
 * end of the spacing (the state then, if it differs from the last one published; a BUSY spell
 * that began and ended in between is not published on its own). Every other change — STARTING,
 * STOPPING, FAILED, health — is published at once, after any flip still pending, so the topic
 * shows the changes in order and is never more than the spacing behind. Publishing two records
 * per record handled (and logging one line) put a status send beside each hop's commit: an idle
 * task's p50 went 95 → 81 and 112 → 101 ms with this spacing (bench latency, pairs back to back).
 */
public final class AgentStatusReporter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AgentStatusReporter.class);
  /** The least time between two published IDLE↔BUSY flips. */
  public static final Duration FLIP_SPACING = Duration.ofSeconds(1);

  private final Producer<String, byte[]> producer;
  private final BiFunction<String, AgentStatus, byte[]> serializer;
  private final String topic;
  private final String agentId;
  private final String agentType;
  private final String host;
  private final Duration heartbeatInterval;
  private final Clock clock;
  private final long flipSpacingNanos;
  private final AtomicLong processed = new AtomicLong();
  private final Object lock = new Object();
  private ScheduledExecutorService timer;
  private AgentState state = AgentState.STARTING;
  /** The state the topic got last (null before the first publish). */
  private AgentState publishedState;
  private long lastFlipNanos;
  private boolean flipPending;
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
    this(producer, serializer, topic, agentId, agentType, host, heartbeatInterval, clock,
        FLIP_SPACING);
  }

  /** With another spacing of published IDLE↔BUSY flips (tests). */
  AgentStatusReporter(Producer<String, byte[]> producer,
      BiFunction<String, AgentStatus, byte[]> serializer,
      String topic, String agentId, String agentType, String host, Duration heartbeatInterval,
      Clock clock, Duration flipSpacing) {
    this.flipSpacingNanos = flipSpacing.toNanos();
    this.lastFlipNanos = System.nanoTime() - flipSpacingNanos;
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

  /**
   * Publishes STARTING and starts the timer of heartbeats (a zero interval means none) and of
   * deferred IDLE↔BUSY flips.
   */
  public void start() {
    synchronized (lock) {
      publish(null, state);
      if (timer == null) {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "agent-status-" + agentId);
          t.setDaemon(true);
          return t;
        });
        if (!heartbeatInterval.isZero() && !heartbeatInterval.isNegative()) {
          long ms = heartbeatInterval.toMillis();
          timer.scheduleAtFixedRate(this::heartbeat, ms, ms, TimeUnit.MILLISECONDS);
        }
      }
    }
  }

  /** Moves to {@code next} (publishing the change, see the class comment) unless already there. */
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
      if (published && isFlip(old, next) && timer != null) {
        long now = System.nanoTime();
        if (!flipPending && now - lastFlipNanos >= flipSpacingNanos) {
          lastFlipNanos = now;
          publish(old, next);
        } else if (!flipPending) {
          flipPending = true;
          timer.schedule(this::publishPendingFlip, lastFlipNanos + flipSpacingNanos - now,
              TimeUnit.NANOSECONDS);
        }
        return;
      }
      if (published && publishedState != old) {
        publish(publishedState, old); // the flip still pending goes first
      }
      flipPending = false;
      publish(old, next);
      if (next != AgentState.BUSY) {
        LOG.info("agent {} is {}", agentId, next);
      }
    }
  }

  private static boolean isFlip(AgentState a, AgentState b) {
    return a != b && (a == AgentState.IDLE || a == AgentState.BUSY)
        && (b == AgentState.IDLE || b == AgentState.BUSY);
  }

  private void publishPendingFlip() {
    synchronized (lock) {
      if (!flipPending || closed) {
        return;
      }
      flipPending = false;
      if (publishedState != state) {
        lastFlipNanos = System.nanoTime();
        publish(publishedState, state);
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
      publish(null, state);
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
        publish(null, state);
      }
    }
  }

  private void publish(AgentState old, AgentState now) {
    published = true;
    publishedState = now;
    try {
      AgentStatus status = AgentStatus.newBuilder()
          .setAgentId(agentId)
          .setAgentType(agentType)
          .setOldState(old)
          .setNewState(now)
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
      if (timer != null) {
        timer.shutdownNow();
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
