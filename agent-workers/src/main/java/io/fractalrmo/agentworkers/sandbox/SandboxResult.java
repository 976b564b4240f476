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

  /** Error type of a run the sandbox refused: no confining layer works and none was opted out of. */
  public static final String REFUSED = "SandboxUnavailable";

  /**
   * The sandbox refused to run the code at all (nothing ran): no layer that blocks the network
   * and the host's files works here. The error message says which sandbox is missing and how to
   * get it.
   */
  public boolean refused() {
    return error != null && REFUSED.equals(error.type());
  }

  /**
   * The confinement layers in force for this run, by name (e.g. {@code bubblewrap},
   * {@code landlock}, {@code seccomp}, {@code no-new-privs}, {@code uid}, {@code rlimits}).
   * INTERIM: only the isolation mode until the layered launcher lands.
   */
  public java.util.List<String> layers() {
    return isolation == null ? java.util.List.of() : java.util.List.of(isolation.name().toLowerCase());
  }

  public Optional<PythonError> errorIfAny() {
    return Optional.ofNullable(error);
  }
}
