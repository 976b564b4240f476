package io.fractalrmo.runtime;

import io.fractalrmo.contracts.AgentHealth;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one consume-loop skeleton of Fractal-RMO. It owns a consumer and runs cycles until
 * {@link #stop()} or a fatal failure; what the records mean is its {@link RecordProcessor}'s.
 * Written once here, for every long-running consumer (the agent workers, the rule cache, the
 * registry's schema log, the sink, the demo watcher, {@code fractal submit --wait}):
 *
 * <ul>
 *   <li><b>Transient failures</b> ({@link Failures#classify}) of any step are retried with the
 *       {@link RetryPolicy}'s deadline-based, jittered backoff; meanwhile the health is DEGRADED
 *       with the failure as reason. A run of failures longer than the deadline is fatal.</li>
 *   <li><b>Fatal failures</b> (and anything unclassified escaping the processor) stop the loop:
 *       the processor's {@link RecordProcessor#stop}, the consumer closed (leaving the group, so
 *       its partitions move at once), health FAILED with the cause, {@link #failure()} set. The
 *       role owning it exits non-zero so a supervisor restarts it.</li>
 *   <li><b>Supervision</b>: every cycle checks the {@link Supervised} helpers given to the builder;
 *       a FAILED one fails the loop with its cause, a DEGRADED one makes it DEGRADED.</li>
 *   <li><b>Assignment</b> happens outside the rebalance callback: a newly assigned partition is
 *       paused until {@link RecordProcessor#assigned} succeeded for it (so a database or broker
 *       outage while a partition is initialised is retried, never a dead thread); meanwhile the
 *       other partitions go on (a partition whose committed offsets wait for a dead instance's
 *       transaction does not stall the rest).</li>
 *   <li><b>Stop</b> ({@link #stop()}, from any thread) wakes the consumer; the processor gets its
 *       grace to finish, then the consumer is closed and the health is STOPPED.</li>
 * </ul>
 *
 * <p>Backoff waits on the loop's thread (bounded by the policy's {@code maxBackoff}, far below
 * {@code max.poll.interval.ms}; a stop ends the wait at once) rather than pausing and polling:
 * simpler, and group heartbeats go on in the client's background thread.
 */
public final class ConsumeLoop<K, V> implements Runnable, Supervised {

  private static final Logger LOG = LoggerFactory.getLogger(ConsumeLoop.class);

  private enum Step { SUPERVISE, OPEN, SOURCE, RECOVER, ASSIGN, POLL, PROCESS }

  private final String name;
  private final Consumer<K, V> consumer;
  private final RecordProcessor<K, V> processor;
  private final Collection<String> topics;
  private final Function<Consumer<K, V>, Collection<TopicPartition>> partitions;
  private final Duration pollTimeout;
  private final Duration stopGrace;
  private final Duration closeTimeout;
  private final RetryPolicy policy;
  private final List<Supervised> supervised;
  private final HealthState health;
  private final LongSupplier nanoTime;
  private final RandomGenerator random;
  private final boolean daemon;

  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch stopSignal = new CountDownLatch(1);
  private final CountDownLatch sourced = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicBoolean started = new AtomicBoolean();
  private final Object wakeLock = new Object();
  private final Set<TopicPartition> pending = ConcurrentHashMap.newKeySet();
  private final Map<String, String> conditions = new ConcurrentHashMap<>();
  private final Context context = new Context();
  private boolean inPoll;
  private boolean wakeRequested;
  private volatile boolean ready;
  private volatile String retrying;
  private volatile String assigning;
  private volatile Throwable failure;

  private ConsumeLoop(Builder<K, V> b) {
    this.name = b.name;
    this.consumer = b.consumer;
    this.processor = b.processor;
    this.topics = b.topics;
    this.partitions = b.partitions;
    this.pollTimeout = b.pollTimeout;
    this.stopGrace = b.stopGrace;
    this.closeTimeout = b.closeTimeout;
    this.policy = b.policy;
    this.supervised = List.copyOf(b.supervised);
    this.health = b.health;
    this.nanoTime = b.nanoTime;
    this.random = b.random;
    this.daemon = b.daemon;
  }

  public static <K, V> Builder<K, V> builder(String name, Consumer<K, V> consumer,
      RecordProcessor<K, V> processor) {
    return new Builder<>(name, consumer, processor);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public HealthState.Snapshot health() {
    return health.get();
  }

  /** The loop's health state (to listen to its changes). */
  public HealthState healthState() {
    return health;
  }

  @Override
  public Throwable failure() {
    return failure;
  }

  /** True until the loop stopped or was asked to. */
  public boolean isRunning() {
    return running.get() && stopped.getCount() > 0;
  }

  /** Starts the loop on a thread of its own (named after the loop) and returns it. */
  public Thread start() {
    Thread t = new Thread(this, name);
    t.setDaemon(daemon);
    t.setUncaughtExceptionHandler((th, e) -> LOG.error("{}: loop thread died", name, e));
    t.start();
    return t;
  }

  /** Asks the loop to stop; safe from any thread, also from the loop's own. */
  public void stop() {
    if (running.compareAndSet(true, false)) {
      LOG.debug("{}: stop requested", name);
    }
    stopSignal.countDown();
    if (stopped.getCount() > 0) {
      try {
        consumer.wakeup();
      } catch (RuntimeException e) {
        LOG.debug("{}: wakeup after close: {}", name, e.toString());
      }
    }
  }

  /** Waits until the consumer subscribed / was assigned (true) or the loop ended or timed out. */
  public boolean awaitSourced(Duration timeout) throws InterruptedException {
    return sourced.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && stopped.getCount() > 0;
  }

  /** Waits until {@link #run()} returned (consumer closed, health final). */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void run() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException(name + " runs already");
    }
    RetryPolicy.Retry retry = policy.start(nanoTime, random);
    RetryPolicy.Retry assignRetry = policy.start(nanoTime, random);
    long nextAssignAt = 0;
    boolean opened = false;
    boolean isSourced = false;
    boolean needsRecovery = false;
    Throwable lastCause = null;
    Throwable fatal = null;
    try {
      while (running.get()) {
        Step step = Step.SUPERVISE;
        try {
          supervise();
          if (!opened) {
            step = Step.OPEN;
            processor.open(context);
            opened = true;
          }
          if (!isSourced) {
            step = Step.SOURCE;
            source();
            isSourced = true;
            sourced.countDown();
          }
          if (needsRecovery) {
            step = Step.RECOVER;
            processor.recover(lastCause, context);
            needsRecovery = false;
          }
          if (!pending.isEmpty() && nanoTime.getAsLong() - nextAssignAt >= 0) {
            // A partition that cannot be initialised yet stays paused and is tried again after
            // a backoff, while the others go on being polled and processed.
            step = Step.ASSIGN;
            try {
              initialisePending();
              assignRetry.reset();
              assigning = null;
            } catch (WakeupException e) {
              if (!running.get()) {
                throw e;
              }
            } catch (Exception e) {
              if (Failures.classify(e) != FailureKind.TRANSIENT) {
                throw e;
              }
              Optional<Duration> delay = assignRetry.nextDelay();
              if (delay.isEmpty()) {
                throw new FatalException(name + ": partitions " + pending
                    + " could not be initialised for " + assignRetry.elapsed().toSeconds()
                    + " s (" + assignRetry.attempts() + " attempts)", e);
              }
              nextAssignAt = nanoTime.getAsLong() + delay.get().toNanos();
              assigning = "initialising " + pending + " failed (attempt " + assignRetry.attempts()
                  + "), retrying in " + delay.get().toMillis() + " ms: "
                  + Failures.describe(e, 300);
              LOG.warn("{}: {}", name, assigning);
            }
          }
          step = Step.POLL;
          ConsumerRecords<K, V> records = poll(processor.pollTimeout(pollTimeout));
          step = Step.PROCESS;
          processor.process(records, context);
          if (retry.retrying()) {
            LOG.info("{}: recovered after {} failed attempt(s) in {} ms", name, retry.attempts(),
                retry.elapsed().toMillis());
            retry.reset();
          }
          lastCause = null;
          retrying = null;
          if (!ready && processor.ready()) {
            ready = true;
          }
          updateHealth();
        } catch (WakeupException e) {
          if (!running.get()) {
            break;
          }
          // a wake-up that landed outside poll(): the interrupted step runs again next cycle
          if (step == Step.PROCESS || step == Step.RECOVER) {
            needsRecovery = true;
            lastCause = e;
          }
        } catch (Throwable e) {
          if (isInterruption(e)) {
            LOG.info("{}: interrupted; stopping", name);
            running.set(false);
            Thread.currentThread().interrupt();
            break;
          }
          FailureKind kind = Failures.classify(e);
          if (kind != FailureKind.TRANSIENT) {
            fatal = e;
            break;
          }
          Optional<Duration> delay = retry.nextDelay();
          if (delay.isEmpty()) {
            fatal = new FatalException(name + ": " + step.name().toLowerCase() + " kept failing for "
                + retry.elapsed().toSeconds() + " s (" + retry.attempts()
                + " attempts, retry timeout " + policy.timeout() + ")", e);
            break;
          }
          if (step == Step.PROCESS || step == Step.RECOVER) {
            needsRecovery = true;
          }
          lastCause = e;
          retrying = step.name().toLowerCase() + " failed (attempt " + retry.attempts() + ", for "
              + retry.elapsed().toMillis() + " ms), retrying in " + delay.get().toMillis()
              + " ms: " + Failures.describe(e, 300);
          LOG.warn("{}: {}", name, retrying);
          updateHealth();
          await(delay.get());
        }
      }
    } catch (Throwable e) {
      fatal = e; // a bug of the loop itself: still close the consumer and say why
    } finally {
      running.set(false);
      if (fatal != null) {
        failure = fatal;
        LOG.error("{}: stops FAILED: {}", name, Failures.describe(fatal, 1_000), fatal);
      }
      shutdown(opened);
    }
  }

  private void supervise() {
    for (Supervised s : supervised) {
      HealthState.Snapshot h = s.health();
      if (h.health() == AgentHealth.FAILED) {
        Throwable cause = s.failure();
        throw new FatalException(s.name() + " failed" + (h.reason() == null ? ""
            : ": " + h.reason()), cause);
      }
    }
  }

  private void source() {
    if (topics != null) {
      consumer.subscribe(topics, new Rebalance());
      return;
    }
    Collection<TopicPartition> chosen = partitions.apply(consumer);
    if (chosen == null || chosen.isEmpty()) {
      throw new TransientException("no partitions to read yet (does the topic exist?)");
    }
    consumer.assign(chosen);
    consumer.pause(chosen);
    pending.addAll(chosen);
  }

  private void initialisePending() throws Exception {
    Set<TopicPartition> init = new LinkedHashSet<>(pending);
    init.retainAll(consumer.assignment());
    pending.retainAll(init);
    if (init.isEmpty()) {
      return;
    }
    processor.assigned(init, context);
    pending.removeAll(init);
    Set<TopicPartition> resume = new HashSet<>(init);
    resume.retainAll(consumer.assignment());
    consumer.resume(resume);
  }

  private ConsumerRecords<K, V> poll(Duration timeout) {
    if (!pending.isEmpty() && assigning != null) {
      // wake up in time for the next attempt to initialise the pending partitions
      timeout = Duration.ofNanos(Math.max(0, Math.min(timeout.toNanos(), policy.maxBackoff()
          .toNanos())));
    }
    synchronized (wakeLock) {
      if (wakeRequested) {
        wakeRequested = false;
        timeout = Duration.ZERO;
      }
      inPoll = true;
    }
    try {
      return consumer.poll(timeout);
    } catch (WakeupException e) {
      if (!running.get()) {
        throw e;
      }
      return ConsumerRecords.empty();
    } finally {
      synchronized (wakeLock) {
        inPoll = false;
      }
    }
  }

  private void wakeFromOtherThread() {
    synchronized (wakeLock) {
      if (inPoll) {
        consumer.wakeup();
      } else {
        wakeRequested = true;
      }
    }
  }

  private void updateHealth() {
    String retry = retrying;
    if (retry != null) {
      health.set(AgentHealth.DEGRADED, retry);
      return;
    }
    List<String> reasons = new ArrayList<>();
    String assign = assigning;
    if (assign != null && !pending.isEmpty()) {
      reasons.add(assign);
    }
    for (Supervised s : supervised) {
      HealthState.Snapshot h = s.health();
      if (h.health() == AgentHealth.DEGRADED || h.health() == AgentHealth.STARTING) {
        reasons.add(s.name() + " " + h.health().name().toLowerCase()
            + (h.reason() == null ? "" : ": " + h.reason()));
      }
    }
    new TreeMap<>(conditions).forEach((k, v) -> reasons.add(v));
    if (!reasons.isEmpty()) {
      health.set(AgentHealth.DEGRADED, String.join("; ", reasons));
    } else if (!ready) {
      health.set(AgentHealth.STARTING, null);
    } else {
      health.set(AgentHealth.RUNNING, null);
    }
  }

  private void await(Duration delay) {
    try {
      // A retry delay, not synchronisation: a stop ends it at once.
      stopSignal.await(delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running.set(false);
    }
  }

  private static boolean isInterruption(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof InterruptedException || t instanceof InterruptException) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return Thread.currentThread().isInterrupted();
  }

  private void shutdown(boolean opened) {
    try {
      if (opened) {
        processor.stop(stopGrace, context);
      }
    } catch (Throwable e) {
      LOG.warn("{}: stopping the processor: {}", name, e.toString(), e);
    }
    try {
      // Leave the group even as a static member: its partitions go to the others at once.
      consumer.close(CloseOptions.timeout(closeTimeout)
          .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    } catch (Throwable e) {
      LOG.warn("{}: closing the consumer: {}", name, e.toString());
    }
    try {
      processor.close();
    } catch (Throwable e) {
      LOG.warn("{}: closing the processor: {}", name, e.toString());
    }
    Throwable f = failure;
    health.set(f == null ? AgentHealth.STOPPED : AgentHealth.FAILED,
        f == null ? null : Failures.describe(f, HealthState.MAX_REASON));
    sourced.countDown();
    stopped.countDown();
  }

  private final class Context implements LoopContext<K, V> {
    @Override
    public String name() {
      return name;
    }

    @Override
    public Consumer<K, V> consumer() {
      return consumer;
    }

    @Override
    public boolean stopping() {
      return !running.get();
    }

    @Override
    public void wake() {
      wakeFromOtherThread();
    }

    @Override
    public void reinitialize(Collection<TopicPartition> partitions) {
      Set<TopicPartition> owned = new HashSet<>(partitions);
      owned.retainAll(consumer.assignment());
      consumer.pause(owned);
      pending.addAll(owned);
    }

    @Override
    public void condition(String conditionName, String reason) {
      if (reason == null) {
        conditions.remove(conditionName);
      } else {
        conditions.put(conditionName, reason);
      }
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      if (assigned.isEmpty()) {
        return;
      }
      LOG.info("{}: partitions assigned {}", name, assigned);
      consumer.pause(assigned);
      pending.addAll(assigned);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
      if (revoked.isEmpty()) {
        return;
      }
      LOG.info("{}: partitions revoked {}", name, revoked);
      pending.removeAll(revoked);
      processor.revoked(revoked, false, context);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      if (lost.isEmpty()) {
        return;
      }
      LOG.warn("{}: partitions lost {} (membership expired)", name, lost);
      pending.removeAll(lost);
      processor.revoked(lost, true, context);
    }
  }

  /** How to build a loop; only the name, consumer, processor and a source are required. */
  public static final class Builder<K, V> {
    private final String name;
    private final Consumer<K, V> consumer;
    private final RecordProcessor<K, V> processor;
    private Collection<String> topics;
    private Function<Consumer<K, V>, Collection<TopicPartition>> partitions;
    private Duration pollTimeout = Duration.ofMillis(500);
    private Duration stopGrace = Duration.ofSeconds(1);
    private Duration closeTimeout = Duration.ofSeconds(5);
    private RetryPolicy policy = RetryPolicy.defaults();
    private final List<Supervised> supervised = new ArrayList<>();
    private HealthState health = new HealthState();
    private LongSupplier nanoTime = System::nanoTime;
    private RandomGenerator random = ThreadLocalRandom.current();
    private boolean daemon = true;

    private Builder(String name, Consumer<K, V> consumer, RecordProcessor<K, V> processor) {
      this.name = Objects.requireNonNull(name, "name");
      this.consumer = Objects.requireNonNull(consumer, "consumer");
      this.processor = Objects.requireNonNull(processor, "processor");
    }

    /** Group mode: subscribe to {@code topics} (partitions come and go with rebalances). */
    public Builder<K, V> subscribe(Collection<String> subscribed) {
      this.topics = List.copyOf(subscribed);
      this.partitions = null;
      return this;
    }

    /**
     * Reader mode: assign the partitions {@code chooser} returns (retried while it returns none,
     * e.g. before the topic exists); {@link RecordProcessor#assigned} positions them.
     */
    public Builder<K, V> assign(Function<Consumer<K, V>, Collection<TopicPartition>> chooser) {
      this.partitions = Objects.requireNonNull(chooser, "chooser");
      this.topics = null;
      return this;
    }

    /** Reader mode over every partition of {@code topicNames}. */
    public Builder<K, V> assignAll(Collection<String> topicNames) {
      List<String> names = List.copyOf(topicNames);
      return assign(c -> {
        List<TopicPartition> all = new ArrayList<>();
        for (String t : names) {
          var infos = c.partitionsFor(t, Duration.ofSeconds(10));
          if (infos == null || infos.isEmpty()) {
            return List.of();
          }
          infos.forEach(i -> all.add(new TopicPartition(t, i.partition())));
        }
        return all;
      });
    }

    public Builder<K, V> pollTimeout(Duration d) {
      this.pollTimeout = Objects.requireNonNull(d);
      return this;
    }

    /** How long {@link RecordProcessor#stop} may take to finish work in hand (default 1 s). */
    public Builder<K, V> stopGrace(Duration d) {
      this.stopGrace = Objects.requireNonNull(d);
      return this;
    }

    public Builder<K, V> closeTimeout(Duration d) {
      this.closeTimeout = Objects.requireNonNull(d);
      return this;
    }

    public Builder<K, V> retry(RetryPolicy p) {
      this.policy = Objects.requireNonNull(p);
      return this;
    }

    /** Helpers this loop checks each cycle (fails with a FAILED one's cause). */
    public Builder<K, V> supervise(Supervised... helpers) {
      supervised.addAll(List.of(helpers));
      return this;
    }

    public Builder<K, V> supervise(Collection<? extends Supervised> helpers) {
      supervised.addAll(helpers);
      return this;
    }

    /** A health state to report into (e.g. one a status reporter already listens to). */
    public Builder<K, V> health(HealthState h) {
      this.health = Objects.requireNonNull(h);
      return this;
    }

    /** Injected clock and randomness for the retry policy (tests). */
    public Builder<K, V> clock(LongSupplier nanos, RandomGenerator rnd) {
      this.nanoTime = Objects.requireNonNull(nanos);
      this.random = Objects.requireNonNull(rnd);
      return this;
    }

    /** Whether {@link ConsumeLoop#start()} makes a daemon thread (default true). */
    public Builder<K, V> daemon(boolean d) {
      this.daemon = d;
      return this;
    }

    public ConsumeLoop<K, V> build() {
      if (topics == null && partitions == null) {
        throw new IllegalStateException(name + ": subscribe(...) or assign(...) is required");
      }
      return new ConsumeLoop<>(this);
    }
  }
}
