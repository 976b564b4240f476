package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.AgentState;
import io.fractalrmo.contracts.AgentStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What an agent's status topic shows of its state changes. */
class AgentStatusReporterTest {

  private static final Duration SPACING = Duration.ofMillis(300);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final MockProducer<String, byte[]> producer =
      new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
  /** The serializer hands out ids; the records carry them, the map the statuses. */
  private final ConcurrentHashMap<Integer, AgentStatus> byId = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final AgentStatusReporter reporter = new AgentStatusReporter(producer, (topic, s) -> {
    int id = ids.incrementAndGet();
    byId.put(id, s);
    return Integer.toString(id).getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }, "status", "agent-1", "executor", "host", Duration.ZERO, Clock.systemUTC(), SPACING);

  @AfterEach
  void close() {
    reporter.close();
  }

  private List<AgentStatus> published() {
    List<AgentStatus> out = new ArrayList<>();
    for (var r : producer.history()) {
      out.add(byId.get(Integer.parseInt(new String(r.value(),
          java.nio.charset.StandardCharsets.UTF_8))));
    }
    return out;
  }

  private List<AgentState> states() {
    return published().stream().map(AgentStatus::getNewState).toList();
  }

  private void await(java.util.function.BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what + "; published " + states());
      }
      Thread.sleep(5);
    }
  }

  @Test
  void flipsOfARecordAfterRecordArePublishedAtMostOncePerSpacingAndEndInTheCurrentState()
      throws Exception {
    reporter.start();
    reporter.transition(AgentState.IDLE, null);
    for (int i = 0; i < 50; i++) {
      reporter.transition(AgentState.BUSY, "t" + i);
      reporter.transition(AgentState.IDLE, null);
    }

    assertThat(states()).as("the first flip after a quiet spell goes at once")
        .containsExactly(AgentState.STARTING, AgentState.IDLE, AgentState.BUSY);
    assertThat(String.valueOf(published().get(2).getTaskId())).isEqualTo("t0");
    await(() -> states().size() == 4, "the pending flip at the end of the spacing");
    Thread.sleep(2 * SPACING.toMillis());
    List<AgentStatus> all = published();
    assertThat(all).as("100 flips, two published").hasSize(4);
    assertThat(all.get(3).getNewState()).as("the state now").isEqualTo(AgentState.IDLE);
    assertThat(all.get(3).getOldState()).as("from what the topic showed")
        .isEqualTo(AgentState.BUSY);
  }

  @Test
  void aSpellThatFlipsBackWithinTheSpacingPublishesNothingMore() throws Exception {
    reporter.start();
    reporter.transition(AgentState.IDLE, null);
    reporter.transition(AgentState.BUSY, "t1");
    reporter.transition(AgentState.IDLE, null);
    reporter.transition(AgentState.BUSY, "t2");
    Thread.sleep(3 * SPACING.toMillis());

    assertThat(states()).as("BUSY was published and BUSY it is again")
        .containsExactly(AgentState.STARTING, AgentState.IDLE, AgentState.BUSY);
  }

  @Test
  void anotherChangePublishesThePendingFlipFirstSoTheTopicKeepsTheOrder() throws Exception {
    reporter.start();
    reporter.transition(AgentState.IDLE, null);
    reporter.transition(AgentState.BUSY, "t1");
    reporter.transition(AgentState.IDLE, null); // pending
    reporter.transition(AgentState.STOPPING, null);
    reporter.transition(AgentState.STOPPED, null);

    List<AgentStatus> all = published();
    assertThat(all.stream().map(AgentStatus::getNewState).toList()).containsExactly(
        AgentState.STARTING, AgentState.IDLE, AgentState.BUSY, AgentState.IDLE,
        AgentState.STOPPING, AgentState.STOPPED);
    assertThat(all.get(4).getOldState()).isEqualTo(AgentState.IDLE);
    Thread.sleep(2 * SPACING.toMillis());
    assertThat(published()).as("nothing published twice").hasSize(6);
  }

  @Test
  void aFlipAfterAQuietSpellIsPublishedAtOnce() throws Exception {
    reporter.start();
    reporter.transition(AgentState.IDLE, null);
    reporter.transition(AgentState.BUSY, "t1");
    reporter.transition(AgentState.IDLE, null);
    await(() -> states().size() == 4, "the pending IDLE");
    Thread.sleep(SPACING.toMillis() + 50);
    reporter.transition(AgentState.BUSY, "t2");

    assertThat(states()).containsExactly(AgentState.STARTING, AgentState.IDLE, AgentState.BUSY,
        AgentState.IDLE, AgentState.BUSY);
  }
}
