package io.fractalrmo.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
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
  void shouldLeaveTheOutputsWithinASpacingToTheSameCommit() {
    CommitPacer pacer = new CommitPacer(Duration.ofHours(1));
    MockProcessorContext<String, String> context = new MockProcessorContext<>();
    pacer.outputReady(context);
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
}
