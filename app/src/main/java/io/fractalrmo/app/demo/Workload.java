package io.fractalrmo.app.demo;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the demo feeds the pipeline. Each workload is a mix of faults for the learning wave and
 * for the comparison, how slow a SLOW solution is, and how a MISSING_IMPORT wave spreads over
 * modules.
 */
public enum Workload {
  /**
   * The default: every fixable fault repeats often enough for a full trial (at least
   * {@link DemoPlan#FAILURES_PER_PATTERN} failures of each pattern), SLOW solutions take 1.3–1.6 ×
   * their limit (a doubled timeout fixes them), syntax slips are frequent enough for
   * PRE_VALIDATE_SYNTAX to show its saving.
   */
  DEFAULT(mix(0.20, 0.30, 0.20, 0.10, 0.10, 0.10), mix(0.20, 0.25, 0.20, 0.075, 0.20, 0.075),
      1.3, 1.6, true),
  /**
   * Where rules should fail their trials: SLOW solutions take 2.2–2.8 × their limit (beyond the
   * doubled timeout INCREASE_TIMEOUT allows), missing imports spread over many modules (few
   * failures of each: small samples), many syntax slips.
   */
  HARD(mix(0.20, 0.20, 0.20, 0.25, 0.10, 0.05), mix(0.20, 0.20, 0.20, 0.20, 0.15, 0.05),
      2.2, 2.8, false);

  private final Map<Fault, Double> learnMix;
  private final Map<Fault, Double> compareMix;
  private final double slowMin;
  private final double slowMax;
  private final boolean concentrateImports;

  Workload(Map<Fault, Double> learnMix, Map<Fault, Double> compareMix, double slowMin,
      double slowMax, boolean concentrateImports) {
    this.learnMix = learnMix;
    this.compareMix = compareMix;
    this.slowMin = slowMin;
    this.slowMax = slowMax;
    this.concentrateImports = concentrateImports;
  }

  public Map<Fault, Double> learnMix() {
    return learnMix;
  }

  public Map<Fault, Double> compareMix() {
    return compareMix;
  }

  /** The injector of this workload for a run's seed and time limit. */
  public FaultInjector injector(long seed, long timeLimitMs) {
    return new FaultInjector(seed, timeLimitMs, slowMin, slowMax);
  }

  /** Whether a learning wave's missing imports keep to a few modules, each repeated enough. */
  public boolean concentrateImports() {
    return concentrateImports;
  }

  public static Workload parse(String name) {
    return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
  }

  private static Map<Fault, Double> mix(double none, double missingImport, double slow,
      double syntax, double wrong, double forbidden) {
    Map<Fault, Double> m = new LinkedHashMap<>();
    m.put(Fault.NONE, none);
    m.put(Fault.MISSING_IMPORT, missingImport);
    m.put(Fault.SLOW, slow);
    m.put(Fault.SYNTAX_SLIP, syntax);
    m.put(Fault.WRONG_RESULT, wrong);
    m.put(Fault.FORBIDDEN_CALL, forbidden);
    return Collections.unmodifiableMap(m);
  }
}
