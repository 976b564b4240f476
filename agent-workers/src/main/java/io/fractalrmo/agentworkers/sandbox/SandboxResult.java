package io.fractalrmo.agentworkers.sandbox;

import io.fractalrmo.contracts.Isolation;
import java.util.List;
import java.util.Optional;

/**
 * What one sandboxed run did. {@code stdout}/{@code stderr} are truncated to the output bound,
 * {@code stdoutSize}/{@code stderrSize} are the full sizes in bytes. {@code uid} is the
 * unprivileged uid the code ran under (null when the worker is not root and keeps its own).
 * {@code evidence} is how far the harness proved the program got; success needs it.
 * {@code layers} are the confinement layers in force for this run, as the launcher applied them
 * to this run's process before the program ran (see {@link Confinement}).
 */
public record SandboxResult(Integer exitCode, boolean timedOut, String stdout, long stdoutSize,
    String stderr, long stderrSize, PythonError error, long durationMs, Long peakMemoryKb,
    Isolation isolation, boolean warm, Integer uid, Evidence evidence, List<String> layers) {

  /** Error type of a run the sandbox refused: no confining layer works and none was opted out of. */
  public static final String REFUSED = "SandboxUnavailable";
  /** Error type of a run whose process ended before the harness saw every part finish. */
  public static final String INCOMPLETE = "IncompleteRun";
  /** Error type of a run whose report channel carried a message the harness did not write. */
  public static final String FORGED = "ReportForged";
  /** Error type of a run stopped because its thread was interrupted or the sandbox closed. */
  public static final String INTERRUPTED = "Interrupted";

  public SandboxResult {
    layers = layers == null ? List.of() : List.copyOf(layers);
  }

  /** As before layers were recorded: the isolation mode's name stands for them. */
  public SandboxResult(Integer exitCode, boolean timedOut, String stdout, long stdoutSize,
      String stderr, long stderrSize, PythonError error, long durationMs, Long peakMemoryKb,
      Isolation isolation, boolean warm, Integer uid, Evidence evidence) {
    this(exitCode, timedOut, stdout, stdoutSize, stderr, stderrSize, error, durationMs,
        peakMemoryKb, isolation, warm, uid, evidence,
        isolation == null ? List.of() : List.of(isolation.name().toLowerCase()));
  }

  /** Positive evidence that every part of the program ran to its end, and nothing failed. */
  public boolean success() {
    return !timedOut && error == null && exitCode != null && exitCode == 0
        && evidence != null && evidence.complete();
  }

  /**
   * The sandbox refused to run the code at all (nothing ran): no layer that blocks the network
   * and the host's files works here. The error message says which sandbox is missing and how to
   * get it.
   */
  public boolean refused() {
    return error != null && REFUSED.equals(error.type());
  }

  public Optional<PythonError> errorIfAny() {
    return Optional.ofNullable(error);
  }
}
