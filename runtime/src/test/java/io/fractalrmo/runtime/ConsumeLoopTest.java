package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.AgentHealth;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The loop's one failure policy, driven through a MockConsumer. */
class ConsumeLoopTest {

  private static final TopicPartition P0 = new TopicPartition("in", 0);
  private static final TopicPartition P1 = new TopicPartition("in", 1);
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final RetryPolicy FAST = new RetryPolicy(Duration.ofMillis(1),
      Duration.ofMillis(5), Duration.ofSeconds(10));

  private final MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private final List<AgentHealth> healths = new CopyOnWriteArrayList<>();
  private ConsumeLoop<String, String> loop;
  private Thread thread;

  @AfterEach
  void stop() throws InterruptedException {
    if (loop != null) {
      loop.stop();
      thread.join(WAIT.toMillis());
    }
  }

  private void start(ConsumeLoop.Builder<String, String> builder) {
    loop = builder.subscribe(List.of("in")).retry(FAST).pollTimeout(Duration.ofMillis(5)).build();
    loop.healthState().onChange(s -> healths.add(s.health()));
    thread = loop.start();
  }

  private void assign(TopicPartition... tps) {
    consumer.schedulePollTask(() -> {
      consumer.rebalance(List.of(tps));
      Map<TopicPartition, Long> begin = new java.util.HashMap<>();
      for (TopicPartition tp : tps) {
        begin.put(tp, 0L);
      }
      consumer.updateBeginningOffsets(begin);
    });
  }

  private void add(TopicPartition tp, long offset, String value) {
    consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>(tp.topic(),
        tp.partition(), offset, "k", value)));
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + WAIT + ": " + what);
      }
      Thread.sleep(5);
    }
  }

  /** Records what it sees; fails as told. */
  private class Recording implements RecordProcessor<String, String> {
    final AtomicInteger failuresLeft = new AtomicInteger();
    volatile RuntimeException failure = new TimeoutException("broker unreachable");
    final AtomicInteger recovered = new AtomicInteger();
    final List<String> recoveredAfter = new CopyOnWriteArrayList<>();
    volatile boolean stopped;
    volatile boolean failing;

    @Override
    public void assigned(Collection<TopicPartition> partitions, LoopContext<String, String> l) {
      l.consumer().seekToBeginning(partitions);
    }

    @Override
    public void process(ConsumerRecords<String, String> records, LoopContext<String, String> l) {
      for (ConsumerRecord<String, String> r : records) {
        seen.add(r.value());
      }
      if ((!records.isEmpty() || failing) && failuresLeft.getAndDecrement() > 0) {
        failing = true; // until the failures are used up, as if the records were read again
        throw failure;
      }
      failing = false;
    }

    @Override
    public void recover(Throwable cause, LoopContext<String, String> l) {
      recovered.incrementAndGet();
      recoveredAfter.add(cause.getMessage());
    }

    @Override
    public void stop(Duration grace, LoopContext<String, String> l) {
      stopped = true;
    }
  }

  @Test
  void shouldRetryATransientFailureWithBackoffRecoverAndGoOn() throws Exception {
    Recording p = new Recording();
    p.failuresLeft.set(2);
    start(ConsumeLoop.builder("test", consumer, p));
    assign(P0);
    add(P0, 0, "a");
    add(P0, 1, "b");
    add(P0, 2, "c");

    await(() -> seen.contains("c") && loop.health().health() == AgentHealth.RUNNING,
        "processed after the failures, running");

    assertThat(p.recovered.get()).isEqualTo(2);
    assertThat(p.recoveredAfter).containsOnly("broker unreachable");
    assertThat(healths).containsSubsequence(AgentHealth.DEGRADED, AgentHealth.RUNNING);
    assertThat(loop.failure()).isNull();
  }

  @Test
  void shouldStopFailedOnAFatalFailureAndCloseTheConsumer() throws Exception {
    Recording p = new Recording();
    p.failuresLeft.set(1);
    p.failure = new AuthorizationException("not allowed");
    start(ConsumeLoop.builder("test", consumer, p));
    assign(P0);
    add(P0, 0, "a");

    thread.join(WAIT.toMillis());

    assertThat(loop.failure()).isInstanceOf(AuthorizationException.class);
    assertThat(loop.health().health()).isEqualTo(AgentHealth.FAILED);
    assertThat(loop.health().reason()).contains("not allowed");
    assertThat(p.stopped).as("the processor was stopped").isTrue();
    assertThat(consumer.closed()).isTrue();
    assertThat(p.recovered.get()).isZero();
  }

  @Test
  void shouldGiveUpWhenTransientFailuresOutlastTheRetryTimeout() throws Exception {
    Recording p = new Recording();
    p.failuresLeft.set(Integer.MAX_VALUE);
    loop = ConsumeLoop.builder("test", consumer, p).subscribe(List.of("in"))
        .retry(FAST.withTimeout(Duration.ofMillis(200))).pollTimeout(Duration.ofMillis(5))
        .build();
    thread = loop.start();
    assign(P0);
    consumer.schedulePollTask(() -> {
      for (int i = 0; i < 1_000; i++) {
        consumer.addRecord(new ConsumerRecord<>("in", 0, i, "k", "v" + i));
      }
    });

    thread.join(WAIT.toMillis());

    assertThat(loop.failure()).isInstanceOf(FatalException.class)
        .hasMessageContaining("kept failing").hasCauseInstanceOf(TimeoutException.class);
    assertThat(loop.health().health()).isEqualTo(AgentHealth.FAILED);
  }

  @Test
  void shouldFailWithTheCauseOfASupervisedHelper() throws Exception {
    HealthState helper = new HealthState();
    helper.set(AgentHealth.RUNNING, null);
    IllegalStateException cause = new IllegalStateException("follower thread crashed");
    Supervised follower = new Supervised() {
      public String name() {
        return "follower";
      }

      public HealthState.Snapshot health() {
        return helper.get();
      }

      public Throwable failure() {
        return cause;
      }
    };
    Recording p = new Recording();
    start(ConsumeLoop.builder("test", consumer, p).supervise(follower));
    assign(P0);
    add(P0, 0, "a");
    await(() -> seen.contains("a"), "running");

    helper.set(AgentHealth.DEGRADED, "lagging 3 records");
    await(() -> loop.health().health() == AgentHealth.DEGRADED, "degraded with the helper");
    assertThat(loop.health().reason()).contains("follower degraded: lagging 3 records");

    helper.set(AgentHealth.FAILED, "crashed");
    thread.join(WAIT.toMillis());
    assertThat(loop.failure()).isInstanceOf(FatalException.class).hasCause(cause);
    assertThat(loop.health().reason()).contains("follower failed: crashed");
  }

  @Test
  void shouldKeepProcessingOtherPartitionsWhileOneCannotBeInitialised() throws Exception {
    AtomicInteger p1Failures = new AtomicInteger();
    Recording p = new Recording() {
      @Override
      public void assigned(Collection<TopicPartition> partitions,
          LoopContext<String, String> l) {
        if (partitions.contains(P1) && p1Failures.incrementAndGet() < 1_000_000) {
          throw new TimeoutException("offsets of " + P1 + " wait for a transaction");
        }
        super.assigned(partitions, l);
      }
    };
    start(ConsumeLoop.builder("test", consumer, p));
    assign(P0);
    add(P0, 0, "a");
    await(() -> seen.contains("a"), "P0 running");
    consumer.schedulePollTask(() -> {
      consumer.rebalance(List.of(P0, P1));
      consumer.updateBeginningOffsets(Map.of(P1, 0L));
    });
    await(() -> p1Failures.get() > 2, "P1 failing to initialise");
    add(P0, 1, "b");

    await(() -> seen.contains("b"), "P0 goes on while P1 waits");
    assertThat(consumer.paused()).contains(P1);
    assertThat(loop.health().health()).isEqualTo(AgentHealth.DEGRADED);
    assertThat(loop.health().reason()).contains("initialising").contains("in-1");
  }

  @Test
  void shouldStopPromptlyDuringABackoff() throws Exception {
    Recording p = new Recording();
    p.failuresLeft.set(Integer.MAX_VALUE);
    loop = ConsumeLoop.builder("test", consumer, p).subscribe(List.of("in"))
        .retry(new RetryPolicy(Duration.ofMinutes(1), Duration.ofMinutes(1),
            Duration.ofHours(1)))
        .pollTimeout(Duration.ofMillis(5)).build();
    thread = loop.start();
    assign(P0);
    add(P0, 0, "a");
    await(() -> loop.health().health() == AgentHealth.DEGRADED, "backing off for a minute");

    loop.stop();
    thread.join(WAIT.toMillis());

    assertThat(thread.isAlive()).isFalse();
    assertThat(loop.health().health()).isEqualTo(AgentHealth.STOPPED);
    assertThat(loop.failure()).isNull();
  }

  @Test
  void shouldReadAllPartitionsOfATopicAsAReaderRetryingUntilItExists() throws Exception {
    List<String> applied = Collections.synchronizedList(new ArrayList<>());
    TopicReader<String, String> reader = new TopicReader<>(r -> applied.add(r.value()));
    loop = TopicReader.loop("reader", consumer, List.of("rules"), reader).retry(FAST)
        .pollTimeout(Duration.ofMillis(5)).build();
    thread = loop.start();
    await(() -> loop.health().health() == AgentHealth.DEGRADED, "waiting for the topic");
    TopicPartition r0 = new TopicPartition("rules", 0);
    // offsets first: the loop may assign the partition the moment it appears, and a reader whose
    // endOffsets() found no end for it would have nothing to catch up to (CI failed this once)
    consumer.updateBeginningOffsets(Map.of(r0, 0L));
    consumer.updateEndOffsets(Map.of(r0, 2L));
    consumer.updatePartitions("rules", List.of(new org.apache.kafka.common.PartitionInfo("rules",
        0, null, null, null)));
    await(() -> consumer.assignment().contains(r0), "assigned");
    consumer.schedulePollTask(() -> {
      consumer.addRecord(new ConsumerRecord<>("rules", 0, 0, "a", "1"));
      consumer.addRecord(new ConsumerRecord<>("rules", 0, 1, "b", "2"));
    });

    assertThat(reader.awaitCaughtUp(WAIT)).isTrue();
    assertThat(applied).containsExactly("1", "2");
    await(() -> loop.health().health() == AgentHealth.RUNNING, "running once caught up");
  }
}
