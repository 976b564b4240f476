package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.junit.jupiter.api.Test;

class CommitPacerTest {

  @Test
  void shouldRequestACommitForALoneOutputAtOnce() {
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    assertThat(new CommitPacer(Duration.ofHours(1)).outputReady(context)).isTrue();
    assertThat(context.committed()).isTrue();
  }

  @Test
  void shouldCommitTheSecondOutputOfAQuietThreadAtOnceToo() {
    // an idle task: its plan, then its final status within the spacing — neither waits
    CommitPacer pacer = new CommitPacer(Duration.ofHours(1));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    assertThat(pacer.outputReady(context)).isTrue();
    context.resetCommit();
    assertThat(pacer.outputReady(context)).isTrue();
    assertThat(context.committed()).isTrue();
    assertThat(context.scheduledPunctuators()).isEmpty();
  }

  @Test
  void shouldLeaveTheOutputsBeyondTheBurstWithinASpacingToTheSameCommit() {
    CommitPacer pacer = new CommitPacer(Duration.ofHours(1));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    for (int i = 0; i < CommitPacer.BURST; i++) {
      pacer.outputReady(context);
    }
    context.resetCommit();
    assertThat(pacer.outputReady(context)).isFalse();
    assertThat(pacer.outputReady(new MockProcessorContext<String, String>())).isFalse();
    assertThat(context.committed()).isFalse();
  }

  @Test
  void shouldPaceEachStreamThreadOnItsOwn() throws InterruptedException {
    CommitPacer pacer = new CommitPacer(Duration.ofHours(1));
    pacer.outputReady(new MockProcessorContext<String, String>());
    MockProcessorContext<String, String> other = new MockProcessorContext<>();
    Thread t = new Thread(() -> pacer.outputReady(other));
    t.start();
    t.join();
    assertThat(other.committed()).isTrue();
  }

  @Test
  void shouldRequestEveryTimeWithoutASpacing() {
    CommitPacer pacer = new CommitPacer(Duration.ZERO);
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    pacer.outputReady(context);
    context.resetCommit();
    assertThat(pacer.outputReady(context)).isTrue();
    assertThat(context.committed()).isTrue();
  }

  @Test
  void shouldCommitAnOutputHeldBackBySpacingOnceTheSpacingHasPassed() throws InterruptedException {
    CommitPacer pacer = new CommitPacer(Duration.ofMillis(200));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    for (int i = 0; i < CommitPacer.BURST; i++) {
      pacer.outputReady(context);
    }
    context.resetCommit();
    assertThat(context.scheduledPunctuators()).as("nothing waits: no punctuator").isEmpty();

    assertThat(pacer.outputReady(context)).as("within the spacing").isFalse();
    assertThat(pacer.outputReady(context)).isFalse();
    assertThat(context.scheduledPunctuators()).as("one punctuator while outputs wait").hasSize(1);
    var punctuator = context.scheduledPunctuators().get(0);
    assertThat(punctuator.getType()).isEqualTo(PunctuationType.WALL_CLOCK_TIME);
    assertThat(punctuator.getInterval()).isLessThanOrEqualTo(Duration.ofMillis(200));
    punctuator.getPunctuator().punctuate(System.currentTimeMillis());
    assertThat(context.committed()).as("the spacing has not passed").isFalse();

    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!context.committed()) {
      assertThat(System.nanoTime()).as("committed within 10 s").isLessThan(deadline);
      Thread.sleep(10);
      punctuator.getPunctuator().punctuate(System.currentTimeMillis());
    }
    assertThat(punctuator.cancelled()).as("a one-shot: it ends once it requested").isTrue();
    context.resetCommit();
    assertThat(pacer.outputReady(context)).as("the bucket was empty: that request spent the token "
        + "one spacing refilled").isFalse();
    assertThat(context.scheduledPunctuators()).as("and a new punctuator for the new wait").hasSize(2);
  }

  @Test
  void shouldEndThePunctuatorWithoutACommitWhenARequestTookTheWaitingOutputAlong()
      throws InterruptedException {
    CommitPacer pacer = new CommitPacer(Duration.ofMillis(50));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    for (int i = 0; i < CommitPacer.BURST; i++) {
      pacer.outputReady(context);
    }
    pacer.outputReady(context); // waits
    var punctuator = context.scheduledPunctuators().get(0);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!pacer.outputReady(context)) { // a later output's own request (after the spacing)
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(10);
    }
    context.resetCommit();
    punctuator.getPunctuator().punctuate(System.currentTimeMillis());
    assertThat(context.committed()).as("nothing waits any more").isFalse();
    assertThat(punctuator.cancelled()).isTrue();
  }

  @Test
  void shouldPaceASustainedBurstAtOneRequestPerSpacing() throws InterruptedException {
    CommitPacer pacer = new CommitPacer(Duration.ofMillis(100));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    int requested = 0;
    long start = System.nanoTime();
    long end = start + Duration.ofMillis(550).toNanos();
    while (System.nanoTime() < end) {
      if (pacer.outputReady(context)) {
        requested++;
      }
      Thread.sleep(1);
    }
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;
    // the burst, then one per full spacing that passed (a loaded machine may pass fewer)
    assertThat(requested).isGreaterThanOrEqualTo(CommitPacer.BURST)
        .isLessThanOrEqualTo((int) (CommitPacer.BURST + elapsedMs / 100));
  }
}
