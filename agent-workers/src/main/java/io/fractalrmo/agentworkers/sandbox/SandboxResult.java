package io.fractalrmo.agentworkers.sandbox;

import io.fractalrmo.contracts.Isolation;
import java.util.Optional;

/**
 * What one sandboxed run did. {@code stdout}/{@code stderr} are truncated to the output bound,
 * {@code stdoutSize}/{@code stderrSize} are the full sizes in bytes. {@code uid} is the
 * unprivileged uid the code ran under (null when the worker is not root and keeps its own).
 * {@code evidence} is how far the harness proved the program got; success needs it.
 */
public record SandboxResult(Integer exitCode, boolean timedOut, String stdout, long stdoutSize,
    String stderr, long stderrSize, PythonError error, long durationMs, Long peakMemoryKb,
    Isolation isolation, boolean warm, Integer uid, Evidence evidence) {

  /** Positive evidence that every part of the program ran to its end, and nothing failed. */
  public boolean success() {
    return !timedOut && error == null && exitCode != null && exitCode == 0
        && evidence != null && evidence.complete();
  }

  public Optional<PythonError> errorIfAny() {
    return Optional.ofNullable(error);
  }
}
