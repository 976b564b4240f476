package io.fractalrmo.streams.patterns;

/**
 * Confidence of a pattern, growing with frequency and with the consistency of its events:
 * {@code (n + 1) / (n + 2) × (0.5 + 0.5 × consistency)}, rounded to 4 decimals.
 *
 * <p>Frequency alone gives 3 → 0.80, 4 → 0.83, 8 → 0.90, 18 → 0.95; a window whose events
 * carry two different messages half and half loses a quarter. So three identical failures in a
 * window reach the default bar of 0.8: enough to <i>try</i> a rule, not to trust it — the trial
 * decides that.
 */
public final class Confidence {

  private Confidence() {
  }

  public static double of(long count, double consistency) {
    if (count <= 0) {
      return 0;
    }
    double frequency = (count + 1.0) / (count + 2.0);
    double c = frequency * (0.5 + 0.5 * Math.max(0, Math.min(1, consistency)));
    return Math.round(c * 10_000) / 10_000.0;
  }
}
