package io.fractalrmo.streams.rules;

/**
 * The exact tests the protocol updater decides with, for small samples (no normal
 * approximation): a one-sided Fisher exact test on two failure counts, an exact one-sided sign
 * test on paired differences, and Wilson score intervals for reporting a rate.
 */
public final class Stats {

  /** z for a two-sided 95 % interval. */
  private static final double Z95 = 1.959963984540054;
  private static final double[] LOG_FACTORIALS = logFactorials(2048);
  /**
   * Up to this many outcomes the tests are computed from exact integer counts, so that a
   * p-value such as 1/20 is the double nearest to it and compares with alpha as it should.
   */
  private static final int EXACT = 60;

  private Stats() {
  }

  /**
   * One-sided Fisher exact test that group B fails less often than group A: the probability,
   * with both margins fixed, of B having {@code failuresB} or fewer failures (hypergeometric
   * lower tail). 1 when either group is empty.
   */
  public static double fisherLess(int failuresA, int sizeA, int failuresB, int sizeB) {
    check(failuresA, sizeA);
    check(failuresB, sizeB);
    if (sizeA == 0 || sizeB == 0) {
      return 1.0;
    }
    int n = sizeA + sizeB;
    int failures = failuresA + failuresB;
    // B draws sizeB of the n outcomes, of which `failures` are failures
    int lo = Math.max(0, sizeB - (n - failures));
    if (n <= EXACT) {
      long tail = 0;
      for (int x = lo; x <= failuresB; x++) {
        tail += choose(failures, x) * choose(n - failures, sizeB - x);
      }
      return (double) tail / choose(n, sizeB);
    }
    double p = 0;
    for (int x = lo; x <= failuresB; x++) {
      p += Math.exp(logChoose(failures, x) + logChoose(n - failures, sizeB - x)
          - logChoose(n, sizeB));
    }
    return Math.min(1.0, p);
  }

  /**
   * Exact one-sided sign test: with {@code pairs} untied pairs of which {@code favourable} went
   * the hoped-for way, the probability of at least that many under a fair coin. 1 without pairs.
   */
  public static double signTest(int favourable, int pairs) {
    check(favourable, pairs);
    if (pairs == 0) {
      return 1.0;
    }
    if (pairs <= EXACT) {
      long tail = 0;
      for (int k = favourable; k <= pairs; k++) {
        tail += choose(pairs, k);
      }
      return (double) tail / (1L << pairs);
    }
    double p = 0;
    for (int k = favourable; k <= pairs; k++) {
      p += Math.exp(logChoose(pairs, k) - pairs * Math.log(2));
    }
    return Math.min(1.0, p);
  }

  /** Wilson score 95 % interval of {@code k} in {@code n}: {lower, upper}; {0, 1} for n = 0. */
  public static double[] wilson(int k, int n) {
    check(k, n);
    if (n == 0) {
      return new double[] {0, 1};
    }
    double p = (double) k / n;
    double z2 = Z95 * Z95;
    double denominator = 1 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denominator;
    double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
    return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
  }

  /** Exact binomial coefficient, for n up to {@value #EXACT} (fits a long). */
  static long choose(int n, int k) {
    if (k < 0 || k > n) {
      return 0;
    }
    k = Math.min(k, n - k);
    long c = 1;
    for (int i = 1; i <= k; i++) {
      c = c * (n - k + i) / i;
    }
    return c;
  }

  static double logChoose(int n, int k) {
    if (k < 0 || k > n) {
      return Double.NEGATIVE_INFINITY;
    }
    return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
  }

  private static double logFactorial(int n) {
    if (n < LOG_FACTORIALS.length) {
      return LOG_FACTORIALS[n];
    }
    double s = LOG_FACTORIALS[LOG_FACTORIALS.length - 1];
    for (int i = LOG_FACTORIALS.length; i <= n; i++) {
      s += Math.log(i);
    }
    return s;
  }

  private static double[] logFactorials(int size) {
    double[] t = new double[size];
    for (int i = 2; i < size; i++) {
      t[i] = t[i - 1] + Math.log(i);
    }
    return t;
  }

  private static void check(int k, int n) {
    if (n < 0 || k < 0 || k > n) {
      throw new IllegalArgumentException("count " + k + " out of " + n);
    }
  }
}
