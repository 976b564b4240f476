package io.fractalrmo.streams.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The exact tests against values worked out by hand. */
class StatsTest {

  @ParameterizedTest(name = "A {0}/{1} failed, B {2}/{3}: p = {4}")
  @CsvSource({
      "5, 5, 0, 5, 0.003968254",   // 1 / C(10,5)
      "5, 5, 1, 5, 0.023809524",   // 6 / 252
      "5, 5, 2, 5, 0.083333333",   // 21 / 252
      "3, 3, 0, 3, 0.05",          // 1 / C(6,3)
      "0, 5, 0, 5, 1.0",           // nothing failed: no evidence
      "2, 10, 5, 10, 0.9714",      // B worse than A
      "4, 4, 0, 0, 1.0"})          // an empty arm
  void fisherLowerTail(int fa, int na, int fb, int nb, double p) {
    assertThat(Stats.fisherLess(fa, na, fb, nb)).isCloseTo(p, within(5e-5));
  }

  @ParameterizedTest(name = "{0} of {1} favourable: p = {2}")
  @CsvSource({"5, 5, 0.03125", "4, 5, 0.1875", "3, 3, 0.125", "0, 0, 1.0", "6, 6, 0.015625"})
  void signTestUpperTail(int k, int n, double p) {
    assertThat(Stats.signTest(k, n)).isCloseTo(p, within(1e-9));
  }

  @ParameterizedTest(name = "{0}/{1}: [{2}, {3}]")
  @CsvSource({"0, 5, 0.0, 0.4345", "5, 5, 0.5655, 1.0", "1, 10, 0.0179, 0.4042"})
  void wilsonInterval(int k, int n, double lo, double hi) {
    double[] ci = Stats.wilson(k, n);
    assertThat(ci[0]).isCloseTo(lo, within(5e-4));
    assertThat(ci[1]).isCloseTo(hi, within(5e-4));
  }
}
