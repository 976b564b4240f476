package io.fractalrmo.agentworkers.sandbox;

/**
 * How far a run provably got, as the harness reported it over a channel the program cannot forge
 * (see the launcher). Absence of an error is never evidence: an early exit, a killed process or a
 * closed report channel leaves these false.
 *
 * @param testsRequested the program had tests
 * @param solutionCompleted the solution module's body ran to its end
 * @param testsCompleted the tests (and {@code check(entry point)} when called) ran to their end
 *     without raising
 * @param failedIn where the run stopped, when it did not complete (null when complete or unknown)
 */
public record Evidence(boolean testsRequested, boolean solutionCompleted, boolean testsCompleted,
    Phase failedIn) {

  /** The parts of a {@link Program}, in the order the harness runs them. */
  public enum Phase { SOLUTION, TESTS }

  public static Evidence none(boolean testsRequested) {
    return new Evidence(testsRequested, false, false, null);
  }

  /** Every requested part ran to its end. */
  public boolean complete() {
    return solutionCompleted && (!testsRequested || testsCompleted);
  }
}
