package io.fractalrmo.agentworkers.sandbox;

import io.fractalrmo.contracts.ExecutionConstraints;

/**
 * Limits of one sandboxed run. CPU seconds follow the wall-clock limit (ceil + 1 s) so a CPU spin
 * is stopped by the wall clock first and by RLIMIT_CPU as a backstop.
 */
public record SandboxLimits(long timeoutMs, int memoryMb, int maxProcesses, int maxOutputBytes,
    long fileSizeBytes) {

  public static final long DEFAULT_FILE_SIZE_BYTES = 16L * 1024 * 1024;

  public SandboxLimits {
    if (timeoutMs <= 0) {
      throw new IllegalArgumentException("timeoutMs must be positive: " + timeoutMs);
    }
    memoryMb = Math.max(32, memoryMb);
    maxProcesses = Math.max(1, maxProcesses);
    maxOutputBytes = Math.max(0, maxOutputBytes);
    fileSizeBytes = Math.max(0, fileSizeBytes);
  }

  public static SandboxLimits defaults() {
    return new SandboxLimits(10_000, 512, 64, 65_536, DEFAULT_FILE_SIZE_BYTES);
  }

  public static SandboxLimits from(ExecutionConstraints c) {
    return new SandboxLimits(c.getTimeoutMs(), c.getMemoryMb(), c.getMaxProcesses(),
        c.getMaxOutputBytes(), DEFAULT_FILE_SIZE_BYTES);
  }

  public SandboxLimits withTimeoutMs(long newTimeoutMs) {
    return new SandboxLimits(newTimeoutMs, memoryMb, maxProcesses, maxOutputBytes, fileSizeBytes);
  }

  public long cpuSeconds() {
    return (timeoutMs + 999) / 1000 + 1;
  }
}
