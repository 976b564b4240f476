package io.fractalrmo.streams.patterns;

import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ConfidenceTest {

  @Test
  void shouldReachTheDefaultBarWithThreeAlikeFailures() {
    assertThat(Confidence.of(3, 1.0)).isEqualTo(0.8);
    assertThat(Confidence.of(4, 1.0)).isEqualTo(0.8333);
    assertThat(Confidence.of(8, 1.0)).isEqualTo(0.9);
    assertThat(Confidence.of(3, 2.0 / 3)).isLessThan(0.8);
  }

  @Property
  void shouldGrowWithFrequency(@ForAll @LongRange(min = 1, max = 10_000) long n,
      @ForAll @DoubleRange(min = 0, max = 1) double consistency) {
    assertThat(Confidence.of(n + 1, consistency)).isGreaterThanOrEqualTo(Confidence.of(n, consistency));
    assertThat(Confidence.of(n, consistency)).isBetween(0.0, 1.0);
  }

  @Property
  void shouldGrowWithConsistency(@ForAll @LongRange(min = 1, max = 10_000) long n,
      @ForAll @DoubleRange(min = 0, max = 0.9) double consistency) {
    assertThat(Confidence.of(n, consistency + 0.1)).isGreaterThanOrEqualTo(Confidence.of(n, consistency));
  }

  @Test
  void shouldTreatMessagesThatDifferOnlyInNamesAndNumbersAsAlike() {
    PatternAccumulator acc = PatternAccumulator.empty()
        .add(anErrorEvent().setMessage("name 'List' is not defined").build())
        .add(anErrorEvent().setActionId("a2").setMessage("name 'Dict' is not defined").build())
        .add(anErrorEvent().setActionId("a3").setMessage("timed out after 1000 ms").build())
        .add(anErrorEvent().setActionId("a4").setMessage("timed out after 2000 ms").build());
    assertThat(acc.count()).isEqualTo(4);
    assertThat(acc.consistency()).isEqualTo(0.5);
    assertThat(acc.examples()).hasSize(3);
  }
}
